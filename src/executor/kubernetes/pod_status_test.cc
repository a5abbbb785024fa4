#include "executor/kubernetes/pod_status.h"

#include <gtest/gtest.h>

namespace kumo::executor::kube {
namespace {
using nlohmann::json;

json Pod(const std::string& phase, json container_state = json::object(), std::string reason = "") {
  json status = {{"phase", phase},
                 {"containerStatuses", {{{"name", "task"}, {"state", container_state}}}}};
  if (!reason.empty()) status["reason"] = reason;
  return {{"metadata", {{"name", "kumo-job-1-a1-t0"}}}, {"status", status}};
}

TEST(PodStatus, PendingAndRunningAreRunning) {
  EXPECT_EQ(StatusOfPod(Pod("Pending"), false, false).state, TaskState::kRunning);
  EXPECT_EQ(StatusOfPod(Pod("Running", {{"running", json::object()}}), false, false).state,
            TaskState::kRunning);
}

TEST(PodStatus, SucceededAndFailedCarryTheExitCode) {
  TaskStatus ok = StatusOfPod(Pod("Succeeded"), false, false);
  EXPECT_EQ(ok.state, TaskState::kExited);
  EXPECT_EQ(ok.exit_code, 0);
  TaskStatus failed =
      StatusOfPod(Pod("Failed", {{"terminated", {{"exitCode", 3}, {"reason", "Error"}}}}), false, false);
  EXPECT_EQ(failed.state, TaskState::kExited);
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_EQ(failed.term_signal, 0);
  EXPECT_EQ(failed.reason, "");
  // 128 + 15: killed by SIGTERM, as the local executor reports a signal.
  TaskStatus term = StatusOfPod(Pod("Failed", {{"terminated", {{"exitCode", 143}}}}), false, false);
  EXPECT_EQ(term.exit_code, 143);
  EXPECT_EQ(term.term_signal, 15);
}

TEST(PodStatus, OomKilledIsSigkill) {
  TaskStatus s = StatusOfPod(
      Pod("Failed", {{"terminated", {{"exitCode", 137}, {"reason", "OOMKilled"}}}}), false, false);
  EXPECT_EQ(s.state, TaskState::kExited);
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_EQ(s.term_signal, 9);
  EXPECT_EQ(s.reason, "OOMKilled");
}

TEST(PodStatus, EvictionAndNodeLossAreLostNotFailed) {
  TaskStatus evicted = StatusOfPod(Pod("Failed", json::object(), "Evicted"), false, false);
  EXPECT_EQ(evicted.state, TaskState::kLost);
  EXPECT_EQ(evicted.reason, "Evicted");
  TaskStatus node = StatusOfPod(Pod("Running"), false, /*node_lost=*/true);
  EXPECT_EQ(node.state, TaskState::kLost);
  EXPECT_EQ(node.reason, "NodeNotReady");
}

TEST(PodStatus, ImagePullErrorsCannotStart) {
  for (const char* why : {"ErrImagePull", "ImagePullBackOff", "InvalidImageName"}) {
    TaskStatus s = StatusOfPod(Pod("Pending", {{"waiting", {{"reason", why}}}}), false, false);
    EXPECT_EQ(s.state, TaskState::kExited) << why;
    EXPECT_EQ(s.exit_code, 127) << why;
    EXPECT_EQ(s.reason, why);
  }
  // Still being pulled: running as far as kumo knows.
  EXPECT_EQ(
      StatusOfPod(Pod("Pending", {{"waiting", {{"reason", "ContainerCreating"}}}}), false, false).state,
      TaskState::kRunning);
}

TEST(PodStatus, DeletedPods) {
  // Deleted while running: lost. Deleted after it ended: how it ended.
  EXPECT_EQ(StatusOfPod(Pod("Running"), /*deleted=*/true, false).state, TaskState::kLost);
  TaskStatus done = StatusOfPod(Pod("Succeeded"), true, false);
  EXPECT_EQ(done.state, TaskState::kExited);
  EXPECT_EQ(done.exit_code, 0);
}

}  // namespace
}  // namespace kumo::executor::kube
