#include "executor/kubernetes/pod_scheduling.h"

#include <gtest/gtest.h>

namespace kumo::executor::kube {
namespace {
using nlohmann::json;

TEST(PodScheduling, Rfc3339IsUtcWholeSeconds) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Rfc3339(1'796'555'108.75), "2026-12-06T11:05:08Z");  // day 20,793 + 39,908 s
}

TEST(PodScheduling, ConditionPatchSaysUnschedulableWithTheSentence) {
  json patch = WaitingConditionPatch(json::object(), "needs 16 GPUs; 8 free", 0);
  ASSERT_EQ(patch["status"]["conditions"].size(), 1u);
  const json& c = patch["status"]["conditions"][0];
  EXPECT_EQ(c["type"], "PodScheduled");  // the merge key of status.conditions
  EXPECT_EQ(c["status"], "False");
  EXPECT_EQ(c["reason"], "Unschedulable");
  EXPECT_EQ(c["message"], "needs 16 GPUs; 8 free");
  EXPECT_EQ(c["lastTransitionTime"], "1970-01-01T00:00:00Z");
}

TEST(PodScheduling, StillUnschedulableKeepsTheFirstTransitionTime) {
  json pod = {{"status",
               {{"conditions",
                 json::array({{{"type", "PodReadyToStartContainers"}, {"status", "False"}},
                              {{"type", "PodScheduled"},
                               {"status", "False"},
                               {"message", "old"},
                               {"lastTransitionTime", "2026-12-06T10:00:00Z"}}})}}}};
  const json patch = WaitingConditionPatch(pod, "new", 1'796'555'108);
  const json& c = patch["status"]["conditions"];
  ASSERT_EQ(c.size(), 1u);  // strategic merge by type: the pod's other conditions stay as they are
  EXPECT_EQ(c[0]["message"], "new");
  EXPECT_EQ(c[0]["lastTransitionTime"], "2026-12-06T10:00:00Z");
}

TEST(PodScheduling, EventIsAboutThePodAndFromKumo) {
  json pod = {{"metadata", {{"name", "kumo-job-3-a1-t0"}, {"namespace", "ml"}, {"uid", "u-1"}}}};
  json e = FailedSchedulingEvent(pod, "needs 16 GPUs; 8 free", "kumo", 60);
  EXPECT_EQ(e["metadata"]["generateName"], "kumo-job-3-a1-t0.");
  EXPECT_EQ(e["metadata"]["namespace"], "ml");  // the apiserver requires the pod's namespace
  EXPECT_EQ(e["involvedObject"],
            json::parse(R"({"apiVersion": "v1", "kind": "Pod", "name": "kumo-job-3-a1-t0",
                            "namespace": "ml", "uid": "u-1"})"));
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "FailedScheduling");
  EXPECT_EQ(e["message"], "needs 16 GPUs; 8 free");
  EXPECT_EQ(e["reportingComponent"], "kumo");
  EXPECT_EQ(e["source"]["component"], "kumo");
  EXPECT_EQ(e["firstTimestamp"], "1970-01-01T00:01:00Z");
  EXPECT_EQ(e["count"], 1);
  EXPECT_FALSE(e.contains("series"));
}

TEST(PodScheduling, NoticeIsDueFirstThenOnChangeAtMostOncePerInterval) {
  Notice last;
  EXPECT_TRUE(NoticeDue(last, "", 0, 60));  // never told: even an empty sentence is due
  last = {"one", 0};
  EXPECT_FALSE(NoticeDue(last, "one", 1, 60));    // unchanged
  EXPECT_FALSE(NoticeDue(last, "two", 59, 60));   // changed, within the interval
  EXPECT_TRUE(NoticeDue(last, "two", 60, 60));    // changed, the interval later
  EXPECT_FALSE(NoticeDue(last, "one", 500, 60));  // unchanged, however late
  EXPECT_TRUE(NoticeDue(last, "two", 0, 0));      // no interval: every change at once
}

}  // namespace
}  // namespace kumo::executor::kube
