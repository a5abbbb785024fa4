// The usage history through the real control plane on a FakeClock: a running job's minute of
// (fake) time becomes a sample in /v1/history, visible per the API's rules, and old samples
// go after the retention.
#include "server/history.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/control_plane_test_fixture.h"

namespace kumo::server {
namespace {
using nlohmann::json;

constexpr double kFirstSlot = 1'700'000'040.0;  // a multiple of 60
constexpr double kStart = kFirstSlot + 10;      // 10 s into that minute

class HistoryTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override {
    clock_.Set(kStart);
    config.shim_binary = KUMO_SHIM_BINARY;
    config.history_retention_s = 600;
  }
  void TearDown() override {
    if (job_ > 0) {  // end the task process: cancel, then wait (bounded) for the job to end
      Call("POST", "/v1/jobs/" + std::to_string(job_) + "/cancel");
      WaitFor(
          [&] { return Call("GET", "/v1/jobs/" + std::to_string(job_))["phase"] == "Cancelled"; });
    }
    ControlPlaneFixture::TearDown();
  }
  // The cluster series' sample at `time`, or null.
  json ClusterAt(const json& history, double time) {
    for (const json& s : history["cluster"])
      if (s["time"].get<double>() == time) return s;
    return nullptr;
  }

  int64_t job_ = 0;  // a job whose task TearDown ends
};

TEST_F(HistoryTest, AMinuteOfARunningJobIsASample) {
  // The loop's first tick records the first slot; wait for it, or a slow first tick (ASan, a
  // busy machine) runs its pass on the job submitted below and samples it running.
  ASSERT_TRUE(
      WaitFor([&] { return !ClusterAt(Call("GET", "/v1/history"), kFirstSlot).is_null(); }));
  json job = Call("POST", "/v1/jobs", R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups:
    - name: main
      command: ["sleep", "300"]
      workingDir: /
      resources: {cpu: 100m, memory: 16Mi, gpu: 1}
)");
  ASSERT_EQ(job["status"], 201) << job.dump();
  job_ = job["id"];
  // The loop runs a pass only once the (fake) clock moved past the pass interval.
  clock_.Advance(1);
  ASSERT_TRUE(WaitFor([&] {
    job = Call("GET", "/v1/jobs/" + std::to_string(job_));
    return job["phase"] == "Running";
  })) << job.dump();
  clock_.Advance(60);  // the next minute: the loop's next tick records its slot
  json history;
  ASSERT_TRUE(WaitFor([&] {
    history = Call("GET", "/v1/history");
    return !ClusterAt(history, kFirstSlot + 60).is_null();
  })) << history.dump();
  json sample = ClusterAt(history, kFirstSlot + 60);
  EXPECT_EQ(sample["gpusAllocated"], 1);
  EXPECT_EQ(sample["gpusCapacity"], 2);
  EXPECT_EQ(sample["runningJobs"], 1);
  EXPECT_EQ(sample["pendingJobs"], 0);
  EXPECT_EQ(history["interval"], 60);
  // The first slot was sampled at start-up, before the job existed.
  ASSERT_FALSE(ClusterAt(history, kFirstSlot).is_null()) << history.dump();
  EXPECT_EQ(ClusterAt(history, kFirstSlot)["runningJobs"], 0);
  json project = history["projects"]["default"];
  ASSERT_FALSE(project.empty()) << history.dump();
  EXPECT_EQ(project.back()["gpusAllocated"], 1);
  EXPECT_EQ(project.back()["time"], kFirstSlot + 60);
}

TEST_F(HistoryTest, ProjectSeriesOnlyForMembers) {
  json other = Call("POST", "/v1/projects", R"({"name": "other"})");
  ASSERT_EQ(other["status"], 201) << other.dump();
  json bob = Call("POST", "/v1/users", R"({"name": "bob", "projects": ["other"]})");
  ASSERT_EQ(bob["status"], 201) << bob.dump();
  std::string token = bob["token"];
  json history;
  ASSERT_TRUE(WaitFor([&] {
    history = CallAs(token, "GET", "/v1/history");
    return !history["cluster"].empty();
  })) << history.dump();
  EXPECT_TRUE(history["projects"].contains("other"));
  EXPECT_FALSE(history["projects"].contains("default")) << history.dump();
  EXPECT_EQ(CallAs(token, "GET", "/v1/history?project=default")["status"], 403);
  EXPECT_EQ(CallAs(token, "GET", "/v1/history?project=nope")["status"], 404);
  EXPECT_TRUE(Call("GET", "/v1/history")["projects"].contains("default"));
}

TEST_F(HistoryTest, BadRangesAreRefusedByName) {
  json r = Call("GET", "/v1/history?since=yesterday");
  EXPECT_EQ(r["status"], 400);
  EXPECT_NE(r["error"].get<std::string>().find("since"), std::string::npos) << r.dump();
  EXPECT_EQ(Call("GET", "/v1/history?since=10&until=5")["status"], 400);
  r = Call("GET", "/v1/history?since=0&until=1000000000&step=60");
  EXPECT_EQ(r["status"], 400);
  EXPECT_NE(r["error"].get<std::string>().find("step"), std::string::npos) << r.dump();
  EXPECT_EQ(Call("POST", "/v1/history")["status"], 405);
}

TEST_F(HistoryTest, SamplesOlderThanTheRetentionGo) {
  ASSERT_TRUE(
      WaitFor([&] { return !ClusterAt(Call("GET", "/v1/history"), kFirstSlot).is_null(); }));
  clock_.Advance(700);  // beyond the 600 s retention
  double slot = kFirstSlot + 660;
  json history;
  ASSERT_TRUE(WaitFor([&] {
    history = Call("GET", "/v1/history");
    return !ClusterAt(history, slot).is_null();
  })) << history.dump();
  EXPECT_TRUE(ClusterAt(history, kFirstSlot).is_null()) << history.dump();
}

TEST_F(HistoryTest, StepAveragesSamples) {
  // Two samples a minute apart; a 120 s step folds them into one point.
  ASSERT_TRUE(
      WaitFor([&] { return !ClusterAt(Call("GET", "/v1/history"), kFirstSlot).is_null(); }));
  clock_.Advance(60);
  ASSERT_TRUE(
      WaitFor([&] { return !ClusterAt(Call("GET", "/v1/history"), kFirstSlot + 60).is_null(); }));
  json folded = Call("GET", "/v1/history?since=" + std::to_string(kFirstSlot) +
                                "&until=" + std::to_string(kFirstSlot + 119) + "&step=120");
  ASSERT_EQ(folded["cluster"].size(), 1u) << folded.dump();
  EXPECT_EQ(folded["cluster"][0]["time"], kFirstSlot);
  EXPECT_EQ(folded["step"], 120);
}

}  // namespace
}  // namespace kumo::server
