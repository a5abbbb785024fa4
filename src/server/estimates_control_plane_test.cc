// Runtime estimates through the real control plane on a FakeClock (2 GPUs): a job without
// maxRuntime that succeeded teaches the server how long that user's jobs of that name run; two
// more such jobs then fill the GPUs, and a 2-GPU job behind them gets an EASY reservation from the
// estimate (without one it would get none); their runs are checked against the estimate in
// /metrics.
#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/control_plane_test_fixture.h"

namespace kumo::server {
namespace {
using nlohmann::json;

std::string Spec(const std::string& name, const std::string& seconds, int gpus) {
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         "}\nspec:\n  project: default\n  taskGroups:\n    - name: main\n"
         "      command: [\"sleep\", \"" + seconds + "\"]\n      workingDir: /\n"
         "      resources: {cpu: 100m, memory: 16Mi, gpu: " + std::to_string(gpus) + "}\n";
}

class EstimatesTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override {
    config.shim_binary = KUMO_SHIM_BINARY;
    config.policy.estimates.min_samples = 1;  // one earlier run is history enough here
  }
  int64_t Submit(const std::string& spec) {
    json job = Call("POST", "/v1/jobs", spec);
    EXPECT_EQ(job["status"], 201) << job.dump();
    return job.value("id", int64_t{0});
  }
  json Job(int64_t id) { return Call("GET", "/v1/jobs/" + std::to_string(id)); }
  bool WaitPhase(int64_t id, const std::string& phase) {
    return WaitFor([&] { return Job(id)["phase"] == phase; });
  }
  std::string Metrics() {
    auto r = client_->Call("GET", "/metrics", "", {{"Authorization", "Bearer " + admin_}});
    return r ? r->body : "";
  }
};

TEST_F(EstimatesTest, HistoryGivesAReservationAndItsErrorIsExported) {
  // One run of the admin's "train" job: 100 s of fake time.
  const int64_t first = Submit(Spec("train", "2", 1));
  clock_.Advance(1);  // a pass
  ASSERT_TRUE(WaitPhase(first, "Running")) << Job(first).dump();
  clock_.Advance(100);
  ASSERT_TRUE(WaitPhase(first, "Succeeded")) << Job(first).dump();
  EXPECT_NE(Metrics().find("kumo_server_runtime_estimate_relative_error_count 0\n"),
            std::string::npos);  // it had no history: nothing to check

  // Two more "train" jobs (no maxRuntime) take both GPUs; a 2-GPU job waits behind them.
  const int64_t b = Submit(Spec("train", "3", 1));
  const int64_t c = Submit(Spec("train", "3", 1));
  clock_.Advance(1);
  ASSERT_TRUE(WaitPhase(b, "Running") && WaitPhase(c, "Running"));
  const int64_t big = Submit(Spec("big", "0", 2));
  clock_.Advance(1);
  json waiting;
  ASSERT_TRUE(WaitFor([&] {
    waiting = Job(big);
    return waiting["reason"] == "Reserved";
  })) << waiting.dump();
  // Estimated 100 s from the later start of b and c, counted from the pass that reserved: that
  // pass ran after both started and by the clock's current time (under load b and c start a pass
  // later than asked, and big's pass may come before or after the last Advance).
  const double started = std::max(Job(b)["startTime"].get<double>(), Job(c)["startTime"].get<double>());
  const int latest_pass = static_cast<int>(started + 100 - clock_.NowSeconds());
  std::smatch m;
  const std::string message = waiting["message"].get<std::string>();
  ASSERT_TRUE(std::regex_search(message, m,
                                std::regex("reserved to start in (\\d+)m (\\d+)s when running jobs "
                                           "reach their maxRuntime or estimate")))
      << waiting.dump();
  const int in_s = std::stoi(m[1]) * 60 + std::stoi(m[2]);
  EXPECT_GE(in_s, latest_pass) << waiting.dump();
  EXPECT_LE(in_s, 100) << waiting.dump();

  // They run 51 s of fake time: |100 - 51| / 51 each, two checks in the histogram.
  clock_.Advance(50);
  ASSERT_TRUE(WaitPhase(b, "Succeeded") && WaitPhase(c, "Succeeded"));
  EXPECT_NE(Metrics().find("kumo_server_runtime_estimate_relative_error_count 2\n"),
            std::string::npos)
      << Metrics();
  clock_.Advance(1);
  EXPECT_TRUE(WaitPhase(big, "Succeeded")) << Job(big).dump();
}

}  // namespace
}  // namespace kumo::server
