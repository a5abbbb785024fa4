#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/control_plane_test_fixture.h"

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

// The tests below keep kTooBig pending, so the server must accept it.
class ControlPlaneTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override { config.wait_for_nodes = WaitForNodes(); }
  virtual bool WaitForNodes() const { return true; }
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
    return client_->Call("POST", "/v1/jobs", spec, {{"Authorization", "Bearer " + admin_}});
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
