// End-to-end tests of `kumo server`: the real binary on loopback, real task processes, real
// PyTorch (Debian's python3-torch under /usr/bin/python3) for the demo stories.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kExamples = KUMO_EXAMPLES_DIR;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    server_ = std::make_unique<ServerProcess>(data_, kExamples + "/inventory-2x4.yaml");
    ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
    api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  std::string ExampleSpec(const std::string& name) { return ReadFile(kExamples + "/" + name); }
  std::vector<std::string> EventTypes(int64_t id) {
    std::vector<std::string> out;
    auto r = api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/events");
    EXPECT_EQ(r.status, 200) << r.text;
    for (const auto& e : r.body["items"])
      out.push_back(e["type"].get<std::string>() + "/" + e["reason"].get<std::string>());
    return out;
  }
  static bool Has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

bool TorchAvailable() {
  return fs::exists("/usr/bin/python3") &&
         system("/usr/bin/python3 -c 'import torch' 2>/dev/null") == 0;
}

TEST_F(ServerTest, DdpGangTrainsTogetherOnTwoNodes) {
  if (!TorchAvailable()) GTEST_SKIP() << "python3-torch is not installed (scripts/install-deps)";
  auto r = api_->Submit(ExampleSpec("ddp.yaml"), kExamples);
  ASSERT_EQ(r.status, 201) << r.text;
  int64_t id = r.body["id"];
  json job = api_->WaitPhase(id, "Succeeded", 180);
  std::string dir = data_ + "/jobs/" + std::to_string(id) + "/attempt-1/task-";
  ASSERT_EQ(job["phase"], "Succeeded")
      << job.dump(2) << ReadFile(data_ + ".log") << ReadFile(dir + "0/stderr")
      << ReadFile(dir + "1/stderr") << ReadFile(dir + "0/stdout") << ReadFile(dir + "1/stdout");
  json out = json::parse(ReadFile(job["outputDir"].get<std::string>() + "/ddp.json"));
  EXPECT_EQ(out["world_size"], 2);
  EXPECT_TRUE(out["in_sync"].get<bool>());
  EXPECT_LT(out["final_loss"].get<double>(), 0.01);  // it learned the weights together
  json results = api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body["items"];
  ASSERT_EQ(results.size(), 1u);
  const json& rec = results[0];
  EXPECT_EQ(rec["outcome"], "Succeeded");
  EXPECT_EQ(rec["seed"], 42);
  EXPECT_EQ(rec["specSha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(rec["tasks"].size(), 2u);
  EXPECT_NE(rec["tasks"][0]["node"], rec["tasks"][1]["node"]);  // a gang over both nodes
  EXPECT_EQ(rec["tasks"][0]["gpus"].size(), 4u);
  EXPECT_TRUE(rec["outputs"][0]["exists"].get<bool>());
}

TEST_F(ServerTest, PreemptedJobResumesFromItsCheckpoint) {
  if (!TorchAvailable()) GTEST_SKIP() << "python3-torch is not installed (scripts/install-deps)";
  auto low = api_->Submit(ExampleSpec("low-priority.yaml"), kExamples);
  ASSERT_EQ(low.status, 201) << low.text;
  int64_t low_id = low.body["id"];
  json job = api_->WaitPhase(low_id, "Running", 60);
  ASSERT_EQ(job["phase"], "Running");
  std::string steps_log = job["checkpointDir"].get<std::string>() + "/steps.log";
  // Let it train a few steps (its SIGTERM handler is installed before the first step).
  for (int i = 0; i < 1200; ++i) {
    std::istringstream in(ReadFile(steps_log));
    int lines = 0;
    for (std::string l; std::getline(in, l);) ++lines;
    if (lines >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto high = api_->Submit(ExampleSpec("high-priority.yaml"), kExamples);
  ASSERT_EQ(high.status, 201) << high.text;
  int64_t high_id = high.body["id"];
  EXPECT_EQ(api_->WaitPhase(high_id, "Succeeded", 120)["phase"], "Succeeded");
  job = api_->WaitPhase(low_id, "Succeeded", 180);
  ASSERT_EQ(job["phase"], "Succeeded") << job.dump(2);
  EXPECT_EQ(job["attempt"], 2);
  EXPECT_EQ(job["failures"], 0);  // preemption is not a failure
  auto types = EventTypes(low_id);
  EXPECT_TRUE(Has(types, "Terminating/Preempted")) << ::testing::PrintToString(types);
  EXPECT_TRUE(Has(types, "Requeued/Preempted"));
  // Steps: attempt 1 ran 1..k, attempt 2 ran k+1..40: nothing repeated, nothing skipped.
  std::istringstream in(ReadFile(steps_log));
  int expected = 1, attempt1_last = 0, a, s;
  while (in >> a >> s) {
    EXPECT_EQ(s, expected) << "attempt " << a;
    if (a == 1) attempt1_last = s;
    ++expected;
  }
  EXPECT_EQ(expected, 41);
  EXPECT_GE(attempt1_last, 4);
  std::string attempt2 =
      ReadFile(data_ + "/jobs/" + std::to_string(low_id) + "/attempt-2/task-0/stdout");
  EXPECT_NE(attempt2.find("resumed from checkpoint at step " + std::to_string(attempt1_last)),
            std::string::npos)
      << attempt2;
}

TEST_F(ServerTest, FailedAttemptIsRetriedWithBackoff) {
  auto r = api_->Submit(ExampleSpec("flaky.yaml"), kExamples);
  ASSERT_EQ(r.status, 201) << r.text;
  int64_t id = r.body["id"];
  json job = api_->WaitPhase(id, "Succeeded", 60);
  ASSERT_EQ(job["phase"], "Succeeded") << job.dump(2);
  EXPECT_EQ(job["attempt"], 2);
  EXPECT_EQ(job["failures"], 1);
  EXPECT_TRUE(Has(EventTypes(id), "Retrying/Failed"));
  json results = api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body["items"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["outcome"], "Failed");
  EXPECT_EQ(results[0]["tasks"][0]["exitCode"], 3);
  EXPECT_EQ(results[1]["outcome"], "Succeeded");
}

TEST_F(ServerTest, RetriesExhaustedFailsTheJob) {
  std::string spec = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  retry: {backoffLimit: 1, backoff: 1s}
  taskGroups:
    - name: main
      command: ["sh", "-c", "exit 7"]
)";
  auto r = api_->Submit(spec, "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  json job = api_->WaitPhase(r.body["id"], "Failed", 60);
  ASSERT_EQ(job["phase"], "Failed");
  EXPECT_EQ(job["attempt"], 2);
  EXPECT_NE(job["message"].get<std::string>().find("exited with code 7"), std::string::npos);
}

TEST_F(ServerTest, BadYamlIsRejectedWithFieldAndLineAndNothingIsStored) {
  std::string spec = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups:
    - name: main
      command: ["true"]
      resoures: {cpu: 1}
)";
  auto r = api_->Submit(spec, "/tmp");
  EXPECT_EQ(r.status, 400);
  std::string err = r.body.value("error", "");
  EXPECT_NE(err.find("line 8"), std::string::npos) << err;
  EXPECT_NE(err.find("spec.taskGroups[0].resoures"), std::string::npos) << err;
  auto wrong_type = api_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups:
    - name: main
      replicas: many
      command: ["true"]
)",
                                 "/tmp");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(wrong_type.body.value("error", "").find("line 7"), std::string::npos)
      << wrong_type.text;
  EXPECT_EQ(api_->Submit("spec: [", "/tmp").status, 400);
  auto no_dataset = api_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  datasets: [{name: nosuch, mountPath: /data/nosuch}]
  taskGroups: [{name: main, command: ["true"]}]
)",
                                 "/tmp");
  EXPECT_EQ(no_dataset.status, 400);
  EXPECT_NE(no_dataset.body.value("error", "").find("spec.datasets[0].name: no dataset \"nosuch\""), std::string::npos)
      << no_dataset.text;
  EXPECT_EQ(api_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: nosuchproject
  taskGroups: [{name: main, command: ["true"]}]
)",
                         "/tmp")
                .status,
            400);
  EXPECT_EQ(api_->Call("GET", "/v1/jobs").body["items"].size(), 0u);
  EXPECT_EQ(api_->Call("GET", "/v1/events").body["items"].size(), 0u);
  // And after a restart the store has nothing either.
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  Api again(server_->port(), server_->admin_token());
  EXPECT_EQ(again.Call("GET", "/v1/jobs").body["items"].size(), 0u);
}

TEST_F(ServerTest, TokensAreCheckedAndProjectsAreIsolated) {
  ASSERT_EQ(api_->Call("POST", "/v1/projects", R"({"name": "vision", "weight": 2})").status, 201);
  ASSERT_EQ(api_->Call("POST", "/v1/projects", R"({"name": "nlp"})").status, 201);
  // Quotas are stored in milli-GPUs: a number past any cluster is refused, not wrapped.
  auto huge = api_->Call("POST", "/v1/projects", R"({"name": "huge", "guaranteedGpus": 1e300})");
  EXPECT_EQ(huge.status, 400) << huge.text;
  EXPECT_EQ(api_->Call("PATCH", "/v1/projects/nlp", R"({"maxGpus": 2e9})").status, 400);
  auto alice = api_->Call("POST", "/v1/users", R"({"name": "alice", "projects": ["vision"]})");
  auto bob = api_->Call("POST", "/v1/users", R"({"name": "bob", "projects": ["nlp"]})");
  ASSERT_EQ(alice.status, 201);
  ASSERT_EQ(bob.status, 201);
  Api as_alice(server_->port(), alice.body["token"]);
  Api as_bob(server_->port(), bob.body["token"]);
  std::string spec = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: vision
  taskGroups: [{name: main, command: ["sleep", "30"], resources: {cpu: 100m, memory: 64Mi}}]
)";
  auto mine = as_alice.Submit(spec, "/tmp");
  ASSERT_EQ(mine.status, 201) << mine.text;
  std::string id = std::to_string(mine.body["id"].get<int64_t>());
  EXPECT_EQ(as_bob.Call("GET", "/v1/jobs/" + id).status, 403);
  EXPECT_EQ(as_bob.Call("POST", "/v1/jobs/" + id + "/cancel").status, 403);
  EXPECT_EQ(as_bob.Call("GET", "/v1/jobs/" + id + "/logs").status, 403);
  EXPECT_EQ(as_bob.Call("GET", "/v1/jobs/" + id + "/results").status, 403);
  EXPECT_EQ(as_bob.Submit(spec, "/tmp").status, 403);  // not a member of vision
  // Membership is asked before anything else: a spec that could never fit, or names a dataset
  // that does not exist, tells a non-member only that he is not a member.
  for (const std::string& probe :
       {std::string("gpu: 4096}}]\n"),
        std::string("gpu: 0}}]\n  datasets: [{name: nosuch, mountPath: /data/x}]\n")}) {
    std::string probing = spec.substr(0, spec.find("memory: 64Mi}")) + "memory: 64Mi, " + probe;
    auto refused = as_bob.Submit(probing, "/tmp");
    EXPECT_EQ(refused.status, 403) << refused.text;
    EXPECT_NE(refused.text.find("not a member"), std::string::npos) << refused.text;
    auto as_member = as_alice.Submit(probing, "/tmp");  // a member is told what is wrong
    EXPECT_EQ(as_member.status, 400) << as_member.text;
  }
  EXPECT_EQ(as_bob.Call("GET", "/v1/jobs").body["items"].size(), 0u);
  EXPECT_EQ(as_bob.Call("GET", "/v1/jobs?project=vision").status, 403);
  EXPECT_EQ(as_bob.Call("POST", "/v1/projects", R"({"name": "mine"})").status, 403);
  EXPECT_EQ(as_bob.Call("POST", "/v1/nodes/node-0/cordon").status, 403);
  EXPECT_EQ(as_alice.Call("GET", "/v1/jobs").body["items"].size(), 1u);
  Api nobody(server_->port(), "");
  EXPECT_EQ(nobody.Call("GET", "/v1/jobs").status, 401);
  Api forged(server_->port(), "kumo_forgedforgedforgedforgedforgedforged12");
  EXPECT_EQ(forged.Call("GET", "/v1/jobs").status, 401);
  EXPECT_EQ(forged.Call("GET", "/v1/jobs/" + id).status, 401);
  // The job is untouched by all of that, and its owner may cancel it.
  EXPECT_EQ(as_alice.Call("POST", "/v1/jobs/" + id + "/cancel").status, 202);
  EXPECT_EQ(as_alice.WaitPhase(mine.body["id"], "Cancelled", 60)["phase"], "Cancelled");
}

TEST_F(ServerTest, KillDashNineDuringConcurrentSubmissionsLosesNoAcceptedJob) {
  constexpr int kClients = 8, kPerClient = 25;  // 200 submissions
  std::mutex mu;
  std::map<std::string, int64_t> accepted;  // job name -> id, for every 201
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Api api(server_->port(), server_->admin_token());
      for (int i = 0; i < kPerClient; ++i) {
        std::string name = "s-" + std::to_string(c) + "-" + std::to_string(i);
        std::string spec = "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
                           "}\nspec:\n  project: default\n  taskGroups: [{name: main, command: "
                           "[\"true\"], resources: {cpu: 10m, memory: 1Mi}}]\n";
        auto r = api.Submit(spec, "/tmp");
        if (r.status == 0) return;  // the server is gone
        ++answered;
        if (r.status == 201) {
          std::lock_guard<std::mutex> lock(mu);
          accepted[name] = r.body["id"];
        }
      }
    });
  }
  for (int i = 0; i < 2000 && answered < 80; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->Kill(SIGKILL);
  for (auto& t : clients) t.join();
  ASSERT_GT(accepted.size(), 0u);
  ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
  Api api(server_->port(), server_->admin_token());
  json items = api.Call("GET", "/v1/jobs?all=true").body["items"];
  std::map<std::string, int> count;
  std::map<std::string, int64_t> ids;
  for (const auto& j : items) {
    ++count[j["name"].get<std::string>()];
    ids[j["name"].get<std::string>()] = j["id"];
  }
  for (const auto& [name, id] : accepted) {
    EXPECT_EQ(count[name], 1) << name;  // there, exactly once
    EXPECT_EQ(ids[name], id) << name;
  }
  for (const auto& [name, n] : count) EXPECT_EQ(n, 1) << name;
}

TEST_F(ServerTest, RestartAdoptsRunningTasksAndRequeuesLostOnes) {
  std::string spec = R"(apiVersion: kumo/v1
kind: Job
metadata: {name: survivor}
spec:
  project: default
  taskGroups: [{name: main, command: ["sh", "-c", "sleep 2; echo done"], resources: {cpu: 100m, memory: 64Mi}}]
)";
  auto r = api_->Submit(spec, "/tmp");
  ASSERT_EQ(r.status, 201);
  int64_t id = r.body["id"];
  json job = api_->WaitPhase(id, "Running", 30);
  ASSERT_EQ(job["phase"], "Running");
  std::string run_dir = job["currentTasks"][0]["runDir"];
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  Api api(server_->port(), server_->admin_token());
  job = api.WaitPhase(id, "Succeeded", 60);
  ASSERT_EQ(job["phase"], "Succeeded") << job.dump(2);
  EXPECT_EQ(job["attempt"], 1);  // the same attempt, adopted
  EXPECT_EQ(ReadFile(run_dir + "/stdout"), "done\n");

  // A task killed while the server is down: its attempt is lost and the job requeued.
  auto r2 = api.Submit(R"(apiVersion: kumo/v1
kind: Job
metadata: {name: victim}
spec:
  project: default
  taskGroups: [{name: main, command: ["sh", "-c", "sleep 600"], resources: {cpu: 100m, memory: 64Mi}}]
)",
                       "/tmp");
  ASSERT_EQ(r2.status, 201);
  int64_t id2 = r2.body["id"];
  job = api.WaitPhase(id2, "Running", 30);
  ASSERT_EQ(job["phase"], "Running");
  int pid = job["currentTasks"][0]["pid"];
  server_->Kill(SIGKILL);
  kill(-pid, SIGKILL);
  ASSERT_TRUE(server_->Start());
  Api api2(server_->port(), server_->admin_token());
  for (int i = 0; i < 600; ++i) {
    job = api2.Job(id2);
    if (job["attempt"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job["attempt"], 2) << job.dump(2);
  EXPECT_EQ(job["failures"], 0);
  auto types = std::vector<std::string>();
  auto events = api2.Call("GET", "/v1/jobs/" + std::to_string(id2) + "/events");
  EXPECT_EQ(events.status, 200) << events.text;
  for (const auto& e : events.body["items"])
    types.push_back(e["type"].get<std::string>() + "/" + e["reason"].get<std::string>());
  EXPECT_TRUE(Has(types, "Requeued/Lost")) << ::testing::PrintToString(types);
  api2.Call("POST", "/v1/jobs/" + std::to_string(id2) + "/cancel");
  EXPECT_EQ(api2.WaitPhase(id2, "Cancelled", 60)["phase"], "Cancelled");
}

TEST_F(ServerTest, ATaskWhoseShimDiesIsLostAndItsCommandKilled) {
  auto r = api_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups: [{name: main, command: ["sleep", "600"], resources: {cpu: 100m, memory: 64Mi}}]
)",
                        "/tmp");
  ASSERT_EQ(r.status, 201);
  int64_t id = r.body["id"];
  json job = api_->WaitPhase(id, "Running", 30);
  ASSERT_EQ(job["phase"], "Running");
  int pid = job["currentTasks"][0]["pid"];
  kill(pid, SIGKILL);  // the shim alone (as the OOM killer might): `sleep` lives on in its group
  for (int i = 0; i < 600; ++i) {
    job = api_->Job(id);
    if (job["attempt"] == 2 && kill(-pid, 0) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job["attempt"], 2) << job.dump(2);
  EXPECT_NE(kill(-pid, 0), 0) << "the lost attempt's process group is still alive";
  EXPECT_TRUE(Has(EventTypes(id), "Requeued/Lost"));
  api_->Call("POST", "/v1/jobs/" + std::to_string(id) + "/cancel");
  EXPECT_EQ(api_->WaitPhase(id, "Cancelled", 60)["phase"], "Cancelled");
}

TEST_F(ServerTest, DrainEvictsAndRequeuesCordonKeepsRunning) {
  std::string spec = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups: [{name: main, command: ["sleep", "600"], resources: {cpu: 100m, memory: 64Mi, gpu: 4}}]
)";
  auto r = api_->Submit(spec, "/tmp");
  ASSERT_EQ(r.status, 201);
  int64_t id = r.body["id"];
  json job = api_->WaitPhase(id, "Running", 30);
  std::string node = job["currentTasks"][0]["node"];
  std::string other = node == "node-0" ? "node-1" : "node-0";
  ASSERT_EQ(api_->Call("POST", "/v1/nodes/" + other + "/cordon").status, 200);
  ASSERT_EQ(api_->Call("POST", "/v1/nodes/" + node + "/drain").status, 200);
  // Both nodes are now unschedulable: the evicted job waits.
  for (int i = 0; i < 600; ++i) {
    job = api_->Job(id);
    if (job["phase"] == "Pending") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job["phase"], "Pending");
  EXPECT_TRUE(Has(EventTypes(id), "Requeued/NodeDrained"));
  ASSERT_EQ(api_->Call("POST", "/v1/nodes/" + other + "/uncordon").status, 200);
  job = api_->WaitPhase(id, "Running", 30);
  EXPECT_EQ(job["currentTasks"][0]["node"], other);
  EXPECT_EQ(job["attempt"], 2);
  api_->Call("POST", "/v1/jobs/" + std::to_string(id) + "/cancel");
  EXPECT_EQ(api_->WaitPhase(id, "Cancelled", 60)["phase"], "Cancelled");
}

}  // namespace
}  // namespace kumo::testing
