#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/control_plane_test_fixture.h"

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

using ControlPlaneTest = ControlPlaneFixture;

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
