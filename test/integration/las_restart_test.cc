// LAS across a kill -9 of `kumo server`: what jobs attained and the thresholds the finished jobs
// gave are read back from the store (server/attained_service.h), not started afresh.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

using nlohmann::json;

std::string Spec(const std::string& name, int gpus, const std::string& seconds) {
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         "}\nspec:\n  project: default\n  taskGroups: [{name: main, command: [\"sleep\", \"" +
         seconds + "\"], resources: {cpu: 100m, memory: 64Mi, gpu: " + std::to_string(gpus) +
         "}}]\n";
}

// The kumo_server_las_* samples of /metrics, by their line's name and labels.
std::map<std::string, std::string> LasMetrics(Api& api) {
  std::map<std::string, std::string> out;
  std::istringstream in(api.Call("GET", "/metrics").text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("kumo_server_las_"))
      out[line.substr(0, line.rfind(' '))] = line.substr(line.rfind(' ') + 1);
  return out;
}

class LasRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    const std::string inventory = tmp_.Write(
        "inventory.yaml",
        "nodes:\n  - {name: node, cpu: 4, memory: 8Gi, gpus: {count: 4, model: fake}}\n");
    // Thresholds from the second finished job on (the default waits for 20).
    const std::string config = tmp_.Write("server.yaml", "policy:\n  history: {minJobs: 2}\n");
    server_ = std::make_unique<ServerProcess>(data_, inventory);
    server_->set_extra_args({"--config", config});
    ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
    api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  int64_t Submit(const std::string& spec) {
    auto r = api_->Submit(spec, "/tmp");
    EXPECT_EQ(r.status, 201) << r.text;
    return r.status == 201 ? r.body["id"].get<int64_t>() : 0;
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(LasRestartTest, AttainedServiceAndThresholdsSurviveKill9) {
  // Three short jobs of 1, 2 and 1 GPUs finish; a 1-GPU job keeps running.
  std::vector<int64_t> done = {Submit(Spec("a", 1, "0.3")), Submit(Spec("b", 2, "0.6")),
                               Submit(Spec("c", 1, "0.9"))};
  for (int64_t id : done)
    ASSERT_EQ(api_->WaitPhase(id, "Succeeded", 60)["phase"], "Succeeded") << ReadFile(data_ + ".log");
  const int64_t running = Submit(Spec("long", 1, "600"));
  ASSERT_EQ(api_->WaitPhase(running, "Running", 60)["phase"], "Running");
  // Events read through a barrier: what the loop recorded so far has committed.
  for (int64_t id : done)
    ASSERT_EQ(api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/events").status, 200);
  std::map<int64_t, double> attained;
  for (int64_t id : done) {
    attained[id] = api_->Job(id)["attainedGpuSeconds"].get<double>();
    EXPECT_GT(attained[id], 0) << api_->Job(id).dump();
  }
  const std::map<std::string, std::string> before = LasMetrics(*api_);
  ASSERT_TRUE(before.count("kumo_server_las_threshold_gpu_seconds{queue=\"1\"}"))
      << api_->Call("GET", "/metrics").text;
  const double running_before = api_->Job(running)["attainedGpuSeconds"].get<double>();

  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
  Api again(server_->port(), server_->admin_token());
  for (int64_t id : done) EXPECT_EQ(again.Job(id)["attainedGpuSeconds"], attained[id]);
  EXPECT_EQ(LasMetrics(again), before);  // both quantile boundaries and minRuntime
  // The adopted job's attempt counts from its start, not from the restart.
  json long_job;
  for (int i = 0; i < 100; ++i) {  // ~5 s: until the restarted loop's first look
    long_job = again.Job(running);
    if (long_job.value("attainedGpuSeconds", 0.0) >= running_before) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(long_job["phase"], "Running") << long_job.dump();
  EXPECT_GE(long_job["attainedGpuSeconds"].get<double>(), running_before) << long_job.dump();
  again.Call("POST", "/v1/jobs/" + std::to_string(running) + "/cancel");
}

}  // namespace
}  // namespace kumo::testing
