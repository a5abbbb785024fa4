// Checkpoint-aware preemption through the real control plane on a FakeClock (2 GPUs): two equal
// checkpointing jobs hold both GPUs and a higher class needs one. The server reads when each last
// saved from its checkpoint dir (server/checkpoint_watch.h), so the victim is the one that saved
// last -- the least work lost -- and not the one the tie-break (job id) would pick. And a fill:
// a 2-GPU job of the same class stops a 1-GPU job that saved moments ago beside the idle GPU.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "server/control_plane_test_fixture.h"
#include "test/support/file_times.h"

namespace kumo::server {
namespace {
using nlohmann::json;
namespace fs = std::filesystem;

std::string Spec(const std::string& name, const std::string& priority_class, int gpus = 1,
                 const std::string& extra = "") {
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         "}\nspec:\n  project: default\n  priorityClass: " + priority_class +
         "\n  checkpoint: {enabled: true, intervalSeconds: 60, gracePeriod: 0s}\n" + extra +
         "  taskGroups:\n    - name: main\n      command: [\"sleep\", \"600\"]\n"
         "      workingDir: /\n      resources: {cpu: 100m, memory: 16Mi, gpu: " +
         std::to_string(gpus) + "}\n";
}

using ::kumo::testing::SetModifiedTime;

class CheckpointVictimTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override { config.shim_binary = KUMO_SHIM_BINARY; }
  int64_t Submit(const std::string& spec) {
    json job = Call("POST", "/v1/jobs", spec);
    EXPECT_EQ(job["status"], 201) << job.dump();
    return job.value("id", int64_t{0});
  }
  json Job(int64_t id) { return Call("GET", "/v1/jobs/" + std::to_string(id)); }
  bool Preempted(int64_t id) { return !PreemptedMessage(id).empty(); }
  // The message of job `id`'s Preempted event; empty if it has none.
  std::string PreemptedMessage(int64_t id) {
    const json events = Call("GET", "/v1/jobs/" + std::to_string(id) + "/events");
    for (const json& e : events["items"])
      if (e["type"] == "Terminating" && e["reason"] == "Preempted")
        return e.value("message", std::string("?"));
    return "";
  }
  bool WaitPhase(int64_t id, const std::string& phase) {
    return WaitFor([&] { return Job(id)["phase"] == phase; });
  }
  // A checkpoint file of job `id` written at `seconds` (the fake clock's time).
  void Saved(int64_t id, double seconds) {
    const std::string dir = dir_.Path("data") + "/jobs/" + std::to_string(id) + "/checkpoint";
    std::ofstream(dir + "/model.pt") << "weights";
    SetModifiedTime(dir + "/model.pt", seconds);
  }
};

TEST_F(CheckpointVictimTest, TheVictimIsTheJobThatSavedLast) {
  const int64_t a = Submit(Spec("a", "normal"));
  const int64_t b = Submit(Spec("b", "normal"));
  clock_.Advance(1);
  ASSERT_TRUE(WaitPhase(a, "Running") && WaitPhase(b, "Running")) << Job(a).dump() << Job(b).dump();
  const double start = clock_.NowSeconds();
  Saved(a, start + 10);  // a would lose 90 s of work at start + 100, b 30 s
  Saved(b, start + 70);
  clock_.Advance(100);
  const int64_t urgent = Submit(Spec("urgent", "high"));
  clock_.Advance(1);
  ASSERT_TRUE(WaitFor([&] {
    clock_.Advance(1);  // passes run on the fake clock: b's exit is seen, urgent starts
    return Job(urgent)["phase"] == "Running";
  })) << Job(urgent).dump() << Job(a).dump() << Job(b).dump();
  EXPECT_TRUE(Preempted(b)) << Job(b).dump();
  EXPECT_FALSE(Preempted(a)) << Job(a).dump();
  EXPECT_EQ(Job(a)["phase"], "Running") << Job(a).dump();
  for (int64_t id : {a, b, urgent}) Call("POST", "/v1/jobs/" + std::to_string(id) + "/cancel");
  for (int64_t id : {a, b, urgent}) {
    EXPECT_TRUE(WaitFor([&] {
      clock_.Advance(1);
      return Job(id)["phase"] == "Cancelled";
    })) << Job(id).dump();
  }
}

// Both jobs have a limit, so neither is an order (LAS) victim: only the fill can start "big".
TEST_F(CheckpointVictimTest, AFillStopsAJobThatJustSavedBesideIdleGpus) {
  const int64_t small = Submit(Spec("small", "normal", 1, "  maxRuntime: 1h\n"));
  clock_.Advance(1);
  ASSERT_TRUE(WaitPhase(small, "Running")) << Job(small).dump();
  const double start = clock_.NowSeconds();
  Saved(small, start + 100);
  clock_.Advance(130);  // saved 30 s ago: 30 + 60 (restart) GPU-s <= 1 added GPU x 600 s
  const int64_t big = Submit(Spec("big", "normal", 2, "  maxRuntime: 1h\n"));
  ASSERT_TRUE(WaitFor([&] {
    clock_.Advance(1);
    return Job(big)["phase"] == "Running";
  })) << Job(big).dump() << Job(small).dump();
  const std::string message = PreemptedMessage(small);
  EXPECT_NE(message.find("after its last checkpoint so that job"), std::string::npos) << message;
  std::string all;  // the requeue says what the next attempt starts from
  const json events = Call("GET", "/v1/jobs/" + std::to_string(small) + "/events");
  for (const json& e : events["items"]) all += e.value("message", std::string()) + "\n";
  EXPECT_NE(all.find("resumes from its checkpoint written at"), std::string::npos) << all;
  EXPECT_EQ(Job(small)["phase"], "Pending") << Job(small).dump();
  for (int64_t id : {small, big}) Call("POST", "/v1/jobs/" + std::to_string(id) + "/cancel");
  for (int64_t id : {small, big}) {
    EXPECT_TRUE(WaitFor([&] {
      clock_.Advance(1);
      return Job(id)["phase"] == "Cancelled";
    })) << Job(id).dump();
  }
}

}  // namespace
}  // namespace kumo::server
