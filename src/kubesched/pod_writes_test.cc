#include "kubesched/pod_writes.h"

#include <gtest/gtest.h>

#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {
namespace {
using nlohmann::json;

TEST(PodWritesTest, BindingTargetsTheNode) {
  json b = BindingBody("p", "gpu-3");
  EXPECT_EQ(b["kind"], "Binding");
  EXPECT_EQ(b["metadata"]["name"], "p");
  EXPECT_EQ(b["target"]["kind"], "Node");
  EXPECT_EQ(b["target"]["name"], "gpu-3");
}

TEST(PodWritesTest, UnschedulableReplacesPodScheduledAndKeepsTheRest) {
  json pod = {{"status",
               {{"conditions",
                 json::array({{{"type", "PodReadyToStartContainers"}, {"status", "False"}},
                              {{"type", "PodScheduled"},
                               {"status", "False"},
                               {"message", "old"},
                               {"lastTransitionTime", "2026-12-06T10:00:00Z"}}})}}}};
  json patch = UnschedulablePatch(pod, "no node has 16 GPUs", 1796548800);
  const json& c = patch["status"]["conditions"];
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["type"], "PodReadyToStartContainers");
  EXPECT_EQ(c[1]["type"], "PodScheduled");
  EXPECT_EQ(c[1]["status"], "False");
  EXPECT_EQ(c[1]["reason"], "Unschedulable");
  EXPECT_EQ(c[1]["message"], "no node has 16 GPUs");
  // Still unscheduled: the transition happened when it first became so.
  EXPECT_EQ(c[1]["lastTransitionTime"], "2026-12-06T10:00:00Z");

  json fresh = UnschedulablePatch(json::object(), "m", 100);
  EXPECT_EQ(fresh["status"]["conditions"][0]["lastTransitionTime"], FormatTimestamp(100));
}

TEST(PodWritesTest, FailedSchedulingEventIsAboutThePod) {
  json pod = {{"metadata", {{"namespace", "a"}, {"name", "p"}, {"uid", "u-1"}}}};
  json e = FailedSchedulingEvent(pod, "why", "kumo", 100);
  EXPECT_EQ(e["metadata"]["namespace"], "a");
  EXPECT_EQ(e["metadata"]["name"], "p.100.kumo");
  EXPECT_EQ(e["involvedObject"]["kind"], "Pod");
  EXPECT_EQ(e["involvedObject"]["name"], "p");
  EXPECT_EQ(e["involvedObject"]["uid"], "u-1");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "FailedScheduling");
  EXPECT_EQ(e["message"], "why");
  EXPECT_EQ(e["source"]["component"], "kumo");
}

TEST(PodWritesTest, GracePeriodDefaultsToThirtySeconds) {
  EXPECT_EQ(GracePeriodSeconds(json::object()), 30);
  EXPECT_EQ(GracePeriodSeconds({{"spec", {{"terminationGracePeriodSeconds", 5}}}}), 5);
}

TEST(PodWritesTest, NoticesOnChangeAtMostOncePerInterval) {
  NoticeLimiter limiter(60);
  EXPECT_TRUE(limiter.ShouldTell("a/p", "one", 0));
  EXPECT_FALSE(limiter.ShouldTell("a/p", "one", 1));    // unchanged
  EXPECT_FALSE(limiter.ShouldTell("a/p", "two", 59));   // changed, but within the minute
  EXPECT_TRUE(limiter.ShouldTell("a/p", "two", 60));    // changed, a minute later
  EXPECT_FALSE(limiter.ShouldTell("a/p", "two", 500));  // unchanged, however late
  EXPECT_TRUE(limiter.ShouldTell("a/q", "one", 60));    // per pod
  limiter.ForgetUnless([](const std::string& pod) { return pod != "a/p"; });
  EXPECT_TRUE(limiter.ShouldTell("a/p", "two", 61));    // waits again: told again
}

}  // namespace
}  // namespace kumo::kubesched
