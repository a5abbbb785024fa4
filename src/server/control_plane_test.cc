#include "sim/test_temp_dir.h"
#include "server/control_plane.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace kumo::server {
namespace {
using nlohmann::json;

// A job no node can hold (more GPUs than the inventory has): with waitForNodes it stays
// pending, so no task process is ever started by these tests; without, it is refused.
constexpr char kTooBig[] = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups:
    - name: main
      command: ["true"]
      workingDir: /
      resources: {gpu: 64}
)";

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.data_dir = dir_.Path("data");
    config.inventory_file = dir_.Write(
        "inventory.yaml",
        "nodes:\n  - {name: node, count: 1, cpu: 4, memory: 8Gi, gpus: {count: 2, model: x}}\n");
    config.use_cgroups = false;
    config.wait_for_nodes = WaitForNodes();
    auto cp = ControlPlane::Start(config, clock_);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
    std::ifstream(cp_->admin_token_path()) >> token_;
    client_ = std::make_unique<http::Client>("127.0.0.1", cp_->port());
  }
  // The tests below keep kTooBig pending, so the server must accept it.
  virtual bool WaitForNodes() const { return true; }
  void TearDown() override {
    client_.reset();
    cp_.reset();
  }
  json Call(const std::string& method, const std::string& target, const std::string& body = "") {
    auto r = client_->Call(method, target, body, {{"Authorization", "Bearer " + token_}});
    EXPECT_TRUE(r.has_value());
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  FakeClock clock_{1'700'000'000.0};
  sim::TempDir dir_;  // removed after the members below it
  std::string token_;
  std::unique_ptr<ControlPlane> cp_;
  std::unique_ptr<http::Client> client_;
};

// Every timestamp comes from the injected clock: the submission's, and the end the scheduling
// loop records when it cancels the pending job.
TEST_F(ControlPlaneTest, TimesComeFromTheInjectedClock) {
  json job = Call("POST", "/v1/jobs", kTooBig);
  ASSERT_TRUE(job.contains("id")) << job.dump();
  EXPECT_EQ(job["submitTime"].get<double>(), 1'700'000'000.0);
  EXPECT_EQ(job["phase"], "Pending");

  clock_.Advance(60);
  std::string target = "/v1/jobs/" + std::to_string(job["id"].get<int64_t>());
  Call("POST", target + "/cancel");
  json got;
  for (int i = 0; i < 500; ++i) {  // the loop wakes on the cancel; ~5 s at most
    got = Call("GET", target);
    if (got["phase"] == "Cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(got["phase"], "Cancelled");
  EXPECT_EQ(got["endTime"].get<double>(), 1'700'000'060.0);
  json events = Call("GET", target + "/events");
  ASSERT_FALSE(events["items"].empty());
  EXPECT_EQ(events["items"][0]["type"], "Submitted");
  EXPECT_EQ(events["items"][0]["time"].get<double>(), 1'700'000'000.0);
}

// Without waitForNodes, what no node could ever hold is refused at submit with the core's
// sentence, naming the resource, and nothing is stored.
class RefusingControlPlaneTest : public ControlPlaneTest {
 protected:
  bool WaitForNodes() const override { return false; }
};

TEST_F(RefusingControlPlaneTest, JobThatCanNeverRunIsRefusedNamingTheResource) {
  auto submit = [&](const std::string& resources, int replicas) {
    std::string spec = kTooBig;
    spec.replace(spec.find("{gpu: 64}"), 9, resources);
    spec.replace(spec.find("- name: main"), 12,
                 "- name: main\n      replicas: " + std::to_string(replicas));
    return client_->Call("POST", "/v1/jobs", spec, {{"Authorization", "Bearer " + token_}});
  };
  auto gpus = submit("{gpu: 64}", 1);
  ASSERT_TRUE(gpus.has_value());
  EXPECT_EQ(gpus->status, 400);
  EXPECT_NE(gpus->body.find("no node has 64 GPUs"), std::string::npos) << gpus->body;
  auto memory = submit("{memory: 100Gi}", 1);
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->status, 400);
  EXPECT_NE(memory->body.find("100 GiB (largest node: 8 GiB)"), std::string::npos)
      << memory->body;
  auto gang = submit("{gpu: 2}", 2);  // one node of 2 GPUs: each task fits, the gang never
  ASSERT_TRUE(gang.has_value());
  EXPECT_EQ(gang->status, 400);
  EXPECT_NE(gang->body.find("needs 2 tasks of 2 GPUs at once"), std::string::npos) << gang->body;
  EXPECT_TRUE(Call("GET", "/v1/jobs")["items"].empty());
}

}  // namespace
}  // namespace kumo::server
