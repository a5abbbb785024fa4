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

// A job no node can hold (more GPUs than the inventory has): it stays pending, so no task
// process is ever started by these tests.
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
    auto cp = ControlPlane::Start(config, clock_);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
    std::ifstream(cp_->admin_token_path()) >> token_;
    client_ = std::make_unique<http::Client>("127.0.0.1", cp_->port());
  }
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

// The dashboard's page of the queue: the head only, and how many wait in all.
TEST_F(ControlPlaneTest, QueueLimitGivesTheHeadAndTheTotal) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call("POST", "/v1/jobs", kTooBig).contains("id"));
  clock_.Advance(1);  // a pass gives them their queue positions
  json page;
  for (int i = 0; i < 500; ++i) {  // ~5 s at most
    page = Call("GET", "/v1/queue?limit=2");
    if (page["items"].size() == 2 && page["items"][1].contains("queuePosition")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(page["items"].size(), 2u) << page.dump();
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["items"][0]["queuePosition"], 1);
  EXPECT_EQ(page["items"][1]["queuePosition"], 2);
  EXPECT_EQ(Call("GET", "/v1/queue")["items"].size(), 3u);
  EXPECT_EQ(Call("GET", "/v1/queue?limit=few")["code"], 400);
}

}  // namespace
}  // namespace kumo::server
