#include "kubesched/pod_writes.h"

#include <gtest/gtest.h>

#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {
namespace {
using nlohmann::json;

TEST(PodWritesTest, BindingTargetsTheNode) {
  json b = BindingBody("p", "0f1e-uid", "gpu-3");
  EXPECT_EQ(b["kind"], "Binding");
  EXPECT_EQ(b["metadata"]["name"], "p");
  EXPECT_EQ(b["metadata"]["uid"], "0f1e-uid");  // the API server binds only the pod of this UID
  EXPECT_EQ(b["target"]["kind"], "Node");
  EXPECT_EQ(b["target"]["name"], "gpu-3");
}

TEST(PodWritesTest, ADeleteNamesTheGraceAndThePodsUid) {
  json d = DeleteBody(8, "0f1e-uid");
  EXPECT_EQ(d["kind"], "DeleteOptions");
  EXPECT_EQ(d["gracePeriodSeconds"], 8);
  EXPECT_EQ(d["preconditions"]["uid"], "0f1e-uid");
}

TEST(PodWritesTest, AWaitingNoticeIsForThePodAsThePassSawIt) {
  json pod = {{"metadata", {{"name", "p"}, {"resourceVersion", "41"}}}};
  json patch = WaitingNoticePatch(pod, "needs 2 GPUs; 0 free", 0);
  EXPECT_EQ(patch["metadata"]["resourceVersion"], "41");  // changed since: 409, not applied
  EXPECT_EQ(patch["status"]["conditions"][0]["message"], "needs 2 GPUs; 0 free");
  EXPECT_FALSE(WaitingNoticePatch(json::object(), "m", 0).contains("metadata"));
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

TEST(PodWritesTest, WithoutAnIntervalEveryChangeIsToldAtOnce) {  // the pod's condition
  NoticeLimiter limiter(0);
  EXPECT_TRUE(limiter.ShouldTell("a/p", "waiting for its PodGroup", 10));
  EXPECT_TRUE(limiter.ShouldTell("a/p", "fewer pods than its minMember", 10));
  EXPECT_FALSE(limiter.ShouldTell("a/p", "fewer pods than its minMember", 11));
}

TEST(PodWritesTest, CheckTellsAFirstNoticeFromAChangeAndRecordsNothing) {
  NoticeLimiter limiter(10);
  EXPECT_EQ(limiter.Check("a/p", "one", 0), NoticeLimiter::Due::kFirst);
  EXPECT_EQ(limiter.Check("a/p", "one", 0), NoticeLimiter::Due::kFirst);  // nothing recorded
  limiter.Told("a/p", "one", 0);
  EXPECT_EQ(limiter.Check("a/p", "two", 5), NoticeLimiter::Due::kNo);
  EXPECT_EQ(limiter.Check("a/p", "two", 10), NoticeLimiter::Due::kChanged);
}

TEST(PodWritesTest, TheBudgetSavesUpToItsBurstAndRefillsAtItsRate) {
  NoticeBudget budget(20, 100);  // 20 writes a second, 100 saved at most
  EXPECT_TRUE(budget.Take(0, 60));
  EXPECT_TRUE(budget.Take(0, 40));
  EXPECT_FALSE(budget.Take(0, 1));   // spent
  EXPECT_FALSE(budget.Take(0.5, 11));  // 0.5 s * 20 = 10 back
  EXPECT_TRUE(budget.Take(0.5, 10));
  EXPECT_TRUE(budget.Take(100, 100));  // an idle minute saves no more than the burst
  EXPECT_FALSE(budget.Take(100, 1));
}

}  // namespace
}  // namespace kumo::kubesched
