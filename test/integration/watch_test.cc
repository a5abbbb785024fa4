// `kumo events -w` and `kumo get jobs -w` against the real server: both print a job's changes
// as they happen (long polls of /v1/events), and the long poll itself is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test/integration/server_fixture.h"
#include "test/support/test_process.h"

namespace kumo::testing {
namespace {

namespace tp = cache::test_process;
const std::string kExamples = KUMO_EXAMPLES_DIR;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    server_ = std::make_unique<ServerProcess>(data_, kExamples + "/inventory-2x4.yaml");
    ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
    api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  void TearDown() override {
    for (pid_t pid : watchers_) tp::StopProcess(pid);
  }
  // `kumo ARGS... --server ... --token ...`, its output in OUT; stopped at the end of the test.
  void StartWatcher(std::vector<std::string> args, const std::string& out) {
    args.insert(args.begin(), KUMO_BINARY);
    args.insert(args.end(), {"--server", "127.0.0.1:" + std::to_string(server_->port()), "--token",
                             server_->admin_token()});
    tp::SpawnOptions o;
    o.stdout_path = out;
    o.stderr_path = out + ".err";
    pid_t pid = tp::Spawn(args, o);
    ASSERT_GT(pid, 0);
    watchers_.push_back(pid);
  }
  // Waits (at most ~20 s) until the file contains every one of `needles`; returns its text.
  std::string WaitForText(const std::string& path, const std::vector<std::string>& needles) {
    std::string text;
    for (int i = 0; i < 400; ++i) {
      text = ReadFile(path);
      bool all = true;
      for (const auto& n : needles) all &= text.find(n) != std::string::npos;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return text;
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
  std::vector<pid_t> watchers_;
};

TEST_F(WatchTest, EventsAndJobsAreFollowedAsTheyHappen) {
  std::string events = tmp_.path() + "/events.out", jobs = tmp_.path() + "/jobs.out";
  StartWatcher({"events", "-w"}, events);
  StartWatcher({"get", "jobs", "-w"}, jobs);
  // Both watchers are waiting before the job exists: what they print came from the watch.
  ASSERT_NE(WaitForText(jobs + ".err", {"No jobs found."}).find("No jobs found."),
            std::string::npos);
  auto r = api_->Submit(R"(apiVersion: kumo/v1
kind: Job
metadata: {name: watched}
spec:
  project: default
  taskGroups: [{name: main, command: ["sh", "-c", "sleep 1"], resources: {cpu: 100m, memory: 64Mi}}]
)",
                        "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  ASSERT_EQ(api_->WaitPhase(r.body["id"], "Succeeded", 60)["phase"], "Succeeded");

  std::string e = WaitForText(events, {"Submitted", "Started", "Succeeded"});
  EXPECT_NE(e.find("job/1"), std::string::npos) << e;
  EXPECT_LT(e.find("Submitted"), e.find("Started")) << e;
  EXPECT_LT(e.find("Started"), e.find("Succeeded")) << e;

  std::string j = WaitForText(jobs, {"Pending", "Running", "Succeeded"});
  EXPECT_NE(j.find("watched"), std::string::npos) << j;
  EXPECT_LT(j.find("Running"), j.find("Succeeded")) << j;
  EXPECT_EQ(j.find("Starting"), std::string::npos) << "a start is shown once it committed\n" << j;
}

TEST_F(WatchTest, TheLongPollIsBounded) {
  auto latest = api_->Call("GET", "/v1/events?since=latest");
  ASSERT_EQ(latest.status, 200) << latest.text;
  int64_t next = latest.body["next"];
  auto start = std::chrono::steady_clock::now();
  auto r = api_->Call("GET", "/v1/events?since=" + std::to_string(next) + "&wait=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["items"].empty()) << r.text;
  EXPECT_EQ(r.body["next"], next);
  // Waited rather than answered at once (a lower bound only: no upper timing threshold).
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_EQ(api_->Call("GET", "/v1/events?wait=61").status, 400);
  EXPECT_EQ(api_->Call("GET", "/v1/events?wait=soon").status, 400);
}

// Watchers hold an HTTP worker while they wait: past the budget (32) a watch is told 429 at
// once, and the API keeps answering everything else.
TEST_F(WatchTest, WatchersCannotTakeEveryWorker) {
  auto latest = api_->Call("GET", "/v1/events?since=latest");
  ASSERT_EQ(latest.status, 200) << latest.text;
  const std::string query =
      "/v1/events?since=" + std::to_string(latest.body["next"].get<int64_t>()) + "&wait=20";
  std::atomic<int> answered{0}, refused{0}, other{0};
  std::vector<std::thread> watchers;
  for (int i = 0; i < 40; ++i)
    watchers.emplace_back([&] {
      Api api(server_->port(), server_->admin_token());
      int status = api.Call("GET", query).status;
      (status == 200 ? answered : status == 429 ? refused : other)++;
    });
  for (int i = 0; i < 400 && refused.load() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(refused.load(), 8);
  EXPECT_EQ(api_->Call("GET", "/v1/jobs").status, 200);  // a worker is free for the rest
  // An event ends the 32 waits.
  auto r = api_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups: [{name: main, command: ["true"], resources: {cpu: 100m, memory: 64Mi}}]
)",
                        "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  for (auto& t : watchers) t.join();
  EXPECT_EQ(answered.load(), 32);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace kumo::testing
