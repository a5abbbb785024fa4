// `kumo server --executor kubernetes` against the real test control plane (kube-apiserver,
// etcd, KWOK nodes and pod lifecycles; test/support/k8s_testenv.h): gangs bound together,
// waiting without partial bindings, preemption with the grace period and the same checkpoint
// volume, cordon, NotReady nodes, kill -9 during binding, watches resumed without a lost event.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "executor/kubernetes/informer.h"
#include "executor/kubernetes/kube_client.h"
#include "test/integration/server_fixture.h"
#include "test/support/k8s_testenv.h"

namespace kumo::testing {
namespace {
using nlohmann::json;

using test::Eventually;

// A job of `replicas` tasks with `gpus` GPUs each; `run` is KWOK's run duration ("" : until
// deleted); `kwok` more of KWOK's annotations (test/k8s/kwok-stages.yaml), as flow entries.
std::string JobYaml(const std::string& name, int replicas, int gpus, const std::string& run,
                    const std::string& priority = "normal", int grace_s = 30,
                    const std::string& kwok = "") {
  std::string entries = run.empty() ? "" : "kumo.test/run-duration: \"" + run + "\"";
  if (!kwok.empty()) entries += (entries.empty() ? "" : ", ") + kwok;
  std::string annotations = "{" + entries + "}";
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         ", annotations: " + annotations + "}\nspec:\n  project: default\n  priorityClass: " +
         priority + "\n  checkpoint: {gracePeriod: " + std::to_string(grace_s) +
         "s}\n  taskGroups:\n    - name: worker\n      replicas: " + std::to_string(replicas) +
         "\n      image: registry.example/train:1\n      command: [python3, train.py]\n"
         "      resources: {cpu: 1, memory: 1Gi, gpu: " + std::to_string(gpus) + "}\n";
}

class KubernetesExecutorTest : public ::testing::Test {
 protected:
  // The shared control plane, unless a test needs one of its own.
  virtual test::K8sTestEnv::Plane plane() const { return test::K8sTestEnv::Plane::kShared; }

  void SetUp() override {
    ASSERT_TRUE(env_.Start(plane()));
    ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 2, .cpu = "32", .memory = "256Gi",
                               .gpus = 4, .gpu_product = "A100"}));
    config_ = dir_.path() + "/server.yaml";
    std::ofstream(config_) << "executor: kubernetes\nkubernetes:\n  kubeconfig: "
                           << env_.kubeconfig()
                           << "\n  namespace: " << env_.namespace_name()
                           << "\n  nodeSelector: {" << test::K8sTestEnv::kPartitionLabel << ": "
                           << env_.partition() << "}\n  notReadyGraceSeconds: 2\n";
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data",
                                              std::vector<std::string>{"--config", config_});
    ASSERT_TRUE(server_->Start()) << ReadFile(dir_.path() + "/data.log");
    api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "server log:\n%s\n", ReadFile(dir_.path() + "/data.log").c_str());
  }

  int64_t Submit(const std::string& yaml) {
    auto r = api_->Submit(yaml, "/tmp");
    EXPECT_EQ(r.status, 201) << r.text;
    return r.body.value("id", int64_t{0});
  }

  // The pods of job `id` in the test's namespace (kubectl, as JSON items).
  json Pods(int64_t id) {
    std::string out;
    int rc = env_.Kubectl({"get", "pods", "-l",
                           "kumo.dev/job=" + std::to_string(id), "-o", "json"}, &out);
    json j = json::parse(out, nullptr, false);
    return rc == 0 && j.is_object() ? j["items"] : json::array();
  }
  std::set<std::string> BoundNodes(int64_t id) {
    std::set<std::string> nodes;
    for (const json& p : Pods(id)) {
      std::string n = p["spec"].value("nodeName", "");
      if (!n.empty()) nodes.insert(n);
    }
    return nodes;
  }

  test::K8sTestEnv env_;
  TempDir dir_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

// Tests that compact etcd, which would disturb the watches of every other test on a shared one.
class KubernetesExecutorOwnPlaneTest : public KubernetesExecutorTest {
 protected:
  test::K8sTestEnv::Plane plane() const override { return test::K8sTestEnv::Plane::kOwn; }
};

TEST_F(KubernetesExecutorTest, GangOfTwoFourGpuTasksIsBoundOntoTwoNodesTogether) {
  int64_t id = Submit(JobYaml("ddp", 2, 4, "3s"));
  json running = api_->WaitPhase(id, "Running");
  ASSERT_EQ(running.value("phase", ""), "Running") << running.dump();
  EXPECT_EQ(BoundNodes(id), (std::set<std::string>{env_.Node("gpu-0"), env_.Node("gpu-1")}));
  for (const json& p : Pods(id)) {
    EXPECT_EQ(p["spec"]["schedulerName"], "kumo");
    EXPECT_EQ(p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], "4");
  }
  json done = api_->WaitPhase(id, "Succeeded");
  ASSERT_EQ(done.value("phase", ""), "Succeeded") << done.dump();
  json results = api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body;
  ASSERT_EQ(results["items"].size(), 1u) << results.dump();
  std::set<std::string> nodes;
  for (const json& t : results["items"][0]["tasks"]) nodes.insert(t["node"].get<std::string>());
  EXPECT_EQ(nodes, (std::set<std::string>{env_.Node("gpu-0"), env_.Node("gpu-1")}));
}

// A gang that does not fit waits as Pending pods bound to no node, each saying kumo's reason
// where Kubernetes users look (`kubectl describe pod`: the PodScheduled condition and a
// FailedScheduling Event); when room appears, those same pods are bound, all of them.
TEST_F(KubernetesExecutorTest, GangLargerThanTheFreeGpusWaitsOnUnboundPodsThatSayWhy) {
  int64_t id = Submit(JobYaml("big", 4, 4, ""));  // 16 GPUs; the cluster has 8
  // kumo's reason replaces "Submitted" after the first pass, with the core's explanation.
  ASSERT_TRUE(Eventually([&] { return !api_->Job(id).value("message", "").empty(); }))
      << api_->Job(id).dump();
  json job = api_->Job(id);
  EXPECT_EQ(job.value("phase", ""), "Pending");
  EXPECT_NE(job.value("reason", ""), "Submitted") << job.dump();
  const std::string sentence = job.value("message", "");
  EXPECT_NE(sentence.find("GPU"), std::string::npos) << job.dump();

  auto says_why = [&](const json& pod) {
    for (const json& c : pod["status"].value("conditions", json::array()))
      if (c["type"] == "PodScheduled")
        return c["status"] == "False" && c["reason"] == "Unschedulable" &&
               c.value("message", "") == sentence;
    return false;
  };
  json pods;
  ASSERT_TRUE(Eventually([&] {
    pods = Pods(id);
    return pods.size() == 4 && std::all_of(pods.begin(), pods.end(), says_why);
  })) << pods.dump();
  std::set<std::string> uids;
  for (const json& p : pods) {
    EXPECT_EQ(p["spec"].value("nodeName", ""), "") << p.dump();
    EXPECT_EQ(p["spec"]["schedulerName"], "kumo");
    EXPECT_EQ(p["status"]["phase"], "Pending");
    uids.insert(p["metadata"]["uid"].get<std::string>());
    std::string name = p["metadata"]["name"], out;
    json events;
    ASSERT_TRUE(Eventually([&] {
      env_.Kubectl({"get", "events", "--field-selector",
                    "involvedObject.name=" + name + ",reason=FailedScheduling", "-o", "json"},
                   &out);
      events = json::parse(out, nullptr, false);
      return events.is_object() && !events["items"].empty();
    })) << out;
    ASSERT_EQ(events["items"].size(), 1u) << out;  // one sentence, one Event
    const json& e = events["items"][0];
    EXPECT_EQ(e["message"], sentence);
    EXPECT_EQ(e["type"], "Warning");
    EXPECT_EQ(e["reportingComponent"], "kumo");
    EXPECT_EQ(e["involvedObject"]["uid"], p["metadata"]["uid"]);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // several passes: still nothing bound
  EXPECT_EQ(BoundNodes(id).size(), 0u);

  // Room appears: the waiting pods themselves are bound, on four nodes at once.
  ASSERT_TRUE(env_.AddNodes({.prefix = "more-", .count = 2, .cpu = "32", .memory = "256Gi",
                             .gpus = 4, .gpu_product = "A100"}));
  ASSERT_EQ(api_->WaitPhase(id, "Running").value("phase", ""), "Running") << api_->Job(id).dump();
  EXPECT_EQ(BoundNodes(id), (std::set<std::string>{env_.Node("gpu-0"), env_.Node("gpu-1"),
                                                   env_.Node("more-0"), env_.Node("more-1")}));
  std::set<std::string> bound_uids;
  for (const json& p : Pods(id)) bound_uids.insert(p["metadata"]["uid"].get<std::string>());
  EXPECT_EQ(bound_uids, uids);
}

// --node-selector: kumo manages only the nodes with its labels. An 8-GPU node outside them (as
// another team's, or another test's, would be) is never used: an 8-GPU task waits.
TEST_F(KubernetesExecutorTest, NodesOutsideTheSelectorAreNotKumos) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "outside-", .count = 1, .cpu = "32", .memory = "256Gi",
                             .gpus = 8, .gpu_product = "A100", .in_partition = false}));
  int64_t id = Submit(JobYaml("wide", 1, 8, ""));
  ASSERT_TRUE(Eventually([&] { return !api_->Job(id).value("message", "").empty(); }));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // several passes
  json job = api_->Job(id);
  EXPECT_EQ(job.value("phase", ""), "Pending") << job.dump();
  EXPECT_EQ(BoundNodes(id).size(), 0u);
  json nodes = api_->Call("GET", "/v1/nodes").body;
  EXPECT_EQ(nodes.dump().find(env_.Node("outside-0")), std::string::npos) << nodes.dump();
  EXPECT_NE(nodes.dump().find(env_.Node("gpu-0")), std::string::npos) << nodes.dump();
}

TEST_F(KubernetesExecutorTest, PreemptionDeletesWithTheGraceAndResumesOnTheSameVolumePath) {
  int64_t low = Submit(JobYaml("low", 2, 4, "", "low", 2));
  ASSERT_EQ(api_->WaitPhase(low, "Running").value("phase", ""), "Running");
  json first = Pods(low);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]["spec"]["terminationGracePeriodSeconds"], 2);
  auto env_of = [](const json& pod, const std::string& name) {
    for (const json& e : pod["spec"]["containers"][0]["env"])
      if (e["name"] == name) return e["value"].get<std::string>();
    return std::string();
  };
  std::string checkpoint = env_of(first[0], "KUMO_CHECKPOINT_DIR");
  EXPECT_EQ(checkpoint, "/kumo/jobs/" + std::to_string(low) + "/checkpoint");

  int64_t high = Submit(JobYaml("high", 2, 4, "3s", "high"));
  // The victim's pods are deleted with the job's grace: the kubelet (KWOK here) has 2 s to
  // let the task checkpoint after SIGTERM.
  json deleting;
  ASSERT_TRUE(Eventually([&] {
    for (const json& p : Pods(low))
      if (p["metadata"].contains("deletionTimestamp")) deleting = p;
    return !deleting.is_null();
  }));
  EXPECT_EQ(deleting["metadata"].value("deletionGracePeriodSeconds", -1), 2) << deleting.dump();
  ASSERT_EQ(api_->WaitPhase(high, "Running").value("phase", ""), "Running");
  json events = api_->Call("GET", "/v1/jobs/" + std::to_string(low) + "/events").body;
  EXPECT_NE(events.dump().find("Preempted"), std::string::npos) << events.dump();
  // The high job ends after 3 s; the victim's next attempt runs with the same checkpoint path.
  ASSERT_TRUE(Eventually([&] { return api_->Job(low).value("attempt", 0) == 2 &&
                                      api_->Job(low).value("phase", "") == "Running"; },
                         90))
      << api_->Job(low).dump();
  json second = Pods(low);
  bool found = false;
  for (const json& p : second)
    if (p["metadata"]["labels"]["kumo.dev/attempt"] == "2") {
      found = true;
      EXPECT_EQ(env_of(p, "KUMO_CHECKPOINT_DIR"), checkpoint);
      EXPECT_EQ(env_of(p, "KUMO_ATTEMPT"), "2");
    }
  EXPECT_TRUE(found) << second.dump();
}

TEST_F(KubernetesExecutorTest, CordonedNodeGetsNoNewPods) {
  std::string out;
  ASSERT_EQ(env_.Kubectl({"cordon", env_.Node("gpu-0")}, &out), 0) << out;
  // Two 4-GPU jobs: one fits on gpu-1, the other waits rather than use gpu-0.
  std::this_thread::sleep_for(std::chrono::seconds(1));  // kumo's node watch sees the cordon
  int64_t a = Submit(JobYaml("a", 1, 4, ""));
  int64_t b = Submit(JobYaml("b", 1, 4, ""));
  ASSERT_TRUE(Eventually([&] { return api_->Job(a).value("phase", "") == "Running" ||
                                      api_->Job(b).value("phase", "") == "Running"; }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::set<std::string> used = BoundNodes(a);
  for (const std::string& n : BoundNodes(b)) used.insert(n);
  EXPECT_EQ(used, (std::set<std::string>{env_.Node("gpu-1")}));
}

TEST_F(KubernetesExecutorTest, NotReadyNodeLosesItsTasksAndTheJobRunsElsewhere) {
  int64_t id = Submit(JobYaml("fragile", 1, 4, ""));
  ASSERT_EQ(api_->WaitPhase(id, "Running").value("phase", ""), "Running");
  std::set<std::string> before = BoundNodes(id);
  ASSERT_EQ(before.size(), 1u);
  std::string node = *before.begin(), out;
  ASSERT_EQ(env_.Kubectl({"annotate", "node", node, "kumo.test/not-ready=true"}, &out), 0) << out;
  // Lost after the 2 s grace, requeued, started again on the other node.
  ASSERT_TRUE(Eventually([&] { return api_->Job(id).value("attempt", 0) >= 2 &&
                                      api_->Job(id).value("phase", "") == "Running"; },
                         90))
      << api_->Job(id).dump();
  bool elsewhere = false;
  for (const json& p : Pods(id))
    if (p["metadata"]["labels"]["kumo.dev/attempt"] != "1")
      elsewhere = p["spec"].value("nodeName", "") != node;
  EXPECT_TRUE(elsewhere);
  json events = api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/events").body;
  EXPECT_NE(events.dump().find("NodeNotReady"), std::string::npos) << events.dump();
}

TEST_F(KubernetesExecutorTest, KillDuringGangBindingLeavesNoPartialGangAndEveryJobOnce) {
  // A gang caught half-bound: a pod of an attempt that never committed (as a crash between
  // binding and the commit leaves it), bound to a node; and a burst of acknowledged gangs
  // with the server killed while it binds them.
  std::vector<int64_t> acked;
  for (int i = 0; i < 4; ++i) acked.push_back(Submit(JobYaml("burst-" + std::to_string(i), 2, 2, "")));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  server_->Kill(SIGKILL);
  std::string stray = R"(apiVersion: v1
kind: Pod
metadata:
  name: kumo-job-999-a1-t0
  namespace: )" + env_.namespace_name() + R"(
  labels: {kumo.dev/job: "999", kumo.dev/attempt: "1", kumo.dev/rank: "0", kumo.dev/gang: kumo-job-999-a1}
  annotations: {kumo.dev/run-dir: ")" + dir_.path() + R"(/data/jobs/999/attempt-1/task-0"}
spec:
  schedulerName: kumo
  nodeName: )" + env_.Node("gpu-0") + R"(
  containers: [{name: task, image: registry.example/train:1}]
)";
  std::string out;
  ASSERT_EQ(env_.ApplyYaml(stray, &out), 0) << out;
  ASSERT_TRUE(server_->Start());
  api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  // The stray pod goes; every acknowledged job is there once, each either waiting with no pod
  // bound or running with its whole gang bound.
  EXPECT_TRUE(Eventually([&] {
    return env_.Kubectl({"get", "pod", "kumo-job-999-a1-t0"}, &out) != 0;
  }));
  json list = api_->Call("GET", "/v1/jobs").body;
  std::map<int64_t, int> seen;
  for (const json& j : list["items"]) ++seen[j.value("id", int64_t{0})];
  for (int64_t id : acked) EXPECT_EQ(seen[id], 1) << list.dump();
  EXPECT_EQ(seen.size(), acked.size());
  // 4 gangs of 2 x 2 GPUs on 8 GPUs: two run, two wait.
  ASSERT_TRUE(Eventually([&] {
    int running = 0;
    for (int64_t id : acked) running += api_->Job(id).value("phase", "") == "Running";
    return running == 2;
  }));
  for (int64_t id : acked) {
    json job = api_->Job(id);
    size_t bound = 0, pods = 0;
    for (const json& p : Pods(id)) {
      if (p["metadata"].contains("deletionTimestamp")) continue;
      ++pods;
      bound += !p["spec"].value("nodeName", "").empty();
    }
    if (job.value("phase", "") == "Running")
      EXPECT_EQ(bound, 2u) << job.dump();
    else
      EXPECT_EQ(bound, 0u) << job.dump();  // waiting: its pods, if any yet, bound nowhere
  }
}

// What a kubelet reports about a pod that failed (KWOK plays it here) reaches the job through
// the executor as on one machine: an OOM kill is an exit by SIGKILL, an eviction a lost task
// (requeued, no failure counted), an image that cannot be pulled an exit 127, each with its
// reason in the job's events.
TEST_F(KubernetesExecutorTest, OomKillEvictionAndImagePullErrorReachTheJob) {
  int64_t oom = Submit(JobYaml("oom", 1, 1, "1s", "normal", 30,
                               "kumo.test/exit-code: '137', kumo.test/reason: OOMKilled"));
  int64_t evicted = Submit(JobYaml("evicted", 1, 1, "1s", "normal", 30,
                                   "kumo.test/exit-code: '143', kumo.test/pod-reason: Evicted"));
  int64_t pull = Submit(JobYaml("pull", 1, 1, "", "normal", 30, "kumo.test/image-pull-error: 'true'"));
  auto events = [&](int64_t id) {
    return api_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/events").body.dump();
  };
  auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_TRUE(Eventually([&] { return has(events(oom), "killed by signal 9 (OOMKilled)"); }, 90))
      << events(oom);
  EXPECT_TRUE(Eventually([&] { return has(events(evicted), "without an exit status (Evicted)"); },
                         90))
      << events(evicted);
  EXPECT_TRUE(has(events(evicted), "TaskLost")) << events(evicted);
  EXPECT_TRUE(
      Eventually([&] { return has(events(pull), "exited with code 127 (ImagePullBackOff)"); }, 90))
      << events(pull);
}

// The informer against the real apiserver, its watches cut every second (timeoutSeconds=1) and
// resumed from the last resourceVersion: every phase of a pod arrives, in order, from one list.
TEST_F(KubernetesExecutorTest, InformerResumesWatchesWithoutLosingATransition) {
  auto kc = executor::kube::LoadKubeconfig(env_.kubeconfig());
  ASSERT_TRUE(kc) << kc.error().message();
  executor::kube::KubeClient client(*kc);
  std::mutex mu;
  std::vector<std::string> phases;  // of job 1's pod, each change once
  std::unique_ptr<executor::kube::Informer> pods;
  pods = std::make_unique<executor::kube::Informer>(
      client, "/api/v1/namespaces/" + env_.namespace_name() + "/pods",
      "labelSelector=kumo.dev%2Fjob%3D1",
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& [key, p] : pods->Items()) {
          std::string phase = p["status"].value("phase", "");
          if (!phase.empty() && (phases.empty() || phases.back() != phase)) phases.push_back(phase);
        }
      },
      /*watch_timeout_s=*/1);
  pods->Start();
  ASSERT_TRUE(pods->WaitSynced(30));
  int64_t id = Submit(JobYaml("watched", 1, 1, "4s"));
  ASSERT_EQ(id, 1);
  EXPECT_EQ(api_->WaitPhase(id, "Succeeded").value("phase", ""), "Succeeded");
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !phases.empty() && phases.back() == "Succeeded";
  }));
  pods->Stop();
  EXPECT_EQ(pods->lists(), 1u);  // never relisted: every watch resumed where the last ended
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(phases, (std::vector<std::string>{"Pending", "Running", "Succeeded"}));
}

// A watch that expires: the informer's resourceVersion is compacted away in etcd between two of
// its watches (events are not in the apiserver's watch cache, so the watch reaches etcd), the
// apiserver answers with an ERROR event of code 410, and the informer lists again: nothing
// written before or after is missing.
TEST_F(KubernetesExecutorOwnPlaneTest, WatchExpiry410IsRecoveredByARelist) {
  // etcd's address, from the apiserver's command line.
  int apiserver = std::stoi(ReadFile(env_.dir() + "/kube-apiserver.pid"));
  std::string cmdline = ReadFile("/proc/" + std::to_string(apiserver) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  size_t at = cmdline.find("--etcd-servers http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << cmdline;
  http::Client etcd("127.0.0.1", static_cast<uint16_t>(std::stoi(cmdline.substr(at + 32))));
  auto compact_all = [&] {
    auto rev = etcd.Call("POST", "/v3/kv/range", R"({"key":"AA=="})", {});
    ASSERT_TRUE(rev && rev->status == 200);
    std::string revision = json::parse(rev->body)["header"]["revision"];
    auto c = etcd.Call("POST", "/v3/kv/compaction", R"({"revision":")" + revision + R"("})", {});
    ASSERT_TRUE(c && c->status == 200) << (c ? c->body : c.error().message());
  };
  auto event = [&](const std::string& name) {
    std::string out;
    ASSERT_EQ(env_.ApplyYaml("apiVersion: v1\nkind: Event\nmetadata: {name: " + name +
                                 ", namespace: default}\ninvolvedObject: {kind: Pod, name: x, "
                                 "namespace: default}\nreason: Test\nmessage: m\ntype: Normal\n",
                             &out),
              0)
        << out;
  };
  auto kc = executor::kube::LoadKubeconfig(env_.kubeconfig());
  ASSERT_TRUE(kc) << kc.error().message();
  executor::kube::KubeClient client(*kc);
  executor::kube::Informer events(client, "/api/v1/namespaces/default/events", "", nullptr,
                                  /*watch_timeout_s=*/1);
  events.Start();
  ASSERT_TRUE(events.WaitSynced(30));
  event("before");
  ASSERT_TRUE(Eventually([&] { return events.Get("default/before").has_value(); }));
  // Writes elsewhere move etcd's revision past the informer's; compaction forgets them.
  std::string out;
  ASSERT_EQ(env_.Kubectl({"create", "configmap", "bump-1"}, &out), 0) << out;
  ASSERT_EQ(env_.Kubectl({"create", "configmap", "bump-2"}, &out), 0) << out;
  compact_all();
  // The watch open now survives the compaction; the next one (within a second) starts from the
  // compacted resourceVersion, gets the 410, and the informer lists again.
  ASSERT_TRUE(Eventually([&] { return events.lists() >= 2; }, 30));
  EXPECT_TRUE(events.Get("default/before").has_value());
  event("after");  // and the watch from the new list's resourceVersion carries on
  EXPECT_TRUE(Eventually([&] { return events.Get("default/after").has_value(); }));
  events.Stop();
}

}  // namespace
}  // namespace kumo::testing
