// `kumo kube-scheduler` against the world changing under it (docs/kubernetes.md, "Restarts and
// races"), on the real test control plane:
//   - a pod deleted and recreated under its name between kumo's pass and its binding: the
//     binding names the old pod's uid, the API server refuses it (409), and the new pod is placed
//     from the watch on its own merits;
//   - a PodGroup left bound in part, as a kill -9 between two of its bindings leaves it: kumo
//     binds the rest when it fits, and otherwise evicts the bound pods with their grace period.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "executor/kubernetes/kube_client.h"
#include "executor/kubernetes/kube_config.h"
#include "kubesched/pod_binder.h"
#include "kubesched/pod_writes.h"
#include "test/k8s/holding_proxy.h"
#include "test/k8s/kube_scheduler_fixture.h"

namespace kumo::testing {
namespace {

class KubeSchedulerRacesTest : public KubeSchedulerTest {
 protected:
  // The apiserver's port, from https://127.0.0.1:PORT.
  uint16_t ApiserverPort() const {
    std::string server = env_.server();
    return static_cast<uint16_t>(std::stoi(server.substr(server.rfind(':') + 1)));
  }
  // A copy of the cluster's kubeconfig that reaches the apiserver through `port`.
  std::string KubeconfigVia(uint16_t port) {
    std::ifstream in(env_.kubeconfig());
    std::stringstream text;
    text << in.rdbuf();
    std::string via = std::regex_replace(text.str(), std::regex("https://127\\.0\\.0\\.1:[0-9]+"),
                                         "https://127.0.0.1:" + std::to_string(port));
    std::string path = env_.dir() + "/kubeconfig-via-proxy";
    std::ofstream(path) << via;
    return path;
  }
  std::string Uid(const std::string& pod) {
    json p = Get({"pod", pod, "-n", "default"});
    return p.is_object() ? p["metadata"].value("uid", "") : "";
  }
  // POST pods/NAME/binding as the test's admin: what a kumo killed mid-batch leaves behind.
  void BindByHand(const std::string& pod, const std::string& node) {
    auto kc = executor::kube::LoadKubeconfig(env_.kubeconfig());
    ASSERT_TRUE(kc) << kc.error().message();
    executor::kube::KubeClient client(*kc);
    executor::kube::KubeClient::Session session;
    kubesched::BindResult r = kubesched::BindPod(client, session, "default/" + pod, Uid(pod), node);
    ASSERT_EQ(r.outcome, kubesched::BindOutcome::kBound) << r.error;
  }
};

// The apiserver's own semantics first (on the shared control plane: no kumo runs): a Binding
// naming another uid than the pod's is refused with 409 Conflict and binds nothing, and BindPod
// says the pod was replaced; with the pod's uid it binds, and sent again it is still this binding.
// A DELETE with a stale uid precondition is refused too.
TEST(PodBinderTest, ABindingOrADeleteWithAStaleUidIsRefused) {
  test::K8sTestEnv env;
  ASSERT_TRUE(env.Start());
  ASSERT_TRUE(env.AddNodes({.prefix = "gpu-", .count = 1, .gpus = 4}));
  const std::string ns = env.namespace_name(), node = env.Node("gpu-0");
  auto pod = [&](const std::string& field) {
    std::string out;
    env.Kubectl({"get", "pod", "p", "-n", ns, "-o", "jsonpath={" + field + "}"}, &out);
    return out;
  };
  std::string out;
  ASSERT_EQ(env.ApplyYaml(PodYaml("p", {.ns = ns}), &out), 0) << out;
  std::string old_uid = pod(".metadata.uid");
  ASSERT_FALSE(old_uid.empty());
  ASSERT_EQ(env.Kubectl({"delete", "pod", "p", "-n", ns, "--wait=true"}, &out), 0) << out;
  ASSERT_EQ(env.ApplyYaml(PodYaml("p", {.ns = ns, .gpus = 2}), &out), 0) << out;
  std::string new_uid = pod(".metadata.uid");
  ASSERT_NE(new_uid, old_uid);

  auto kc = executor::kube::LoadKubeconfig(env.kubeconfig());
  ASSERT_TRUE(kc) << kc.error().message();
  executor::kube::KubeClient client(*kc);
  json body = kubesched::BindingBody("p", old_uid, node);
  auto raw = client.Call(executor::kube::Verb::kPost, kubesched::PodPath(ns + "/p") + "/binding", &body);
  ASSERT_TRUE(raw) << raw.error().message();
  EXPECT_EQ(raw->status, 409) << raw->body.dump();
  executor::kube::KubeClient::Session session;
  kubesched::BindResult r = kubesched::BindPod(client, session, ns + "/p", old_uid, node);
  EXPECT_EQ(r.outcome, kubesched::BindOutcome::kReplaced) << r.error;
  EXPECT_EQ(pod(".spec.nodeName"), "");
  r = kubesched::BindPod(client, session, ns + "/p", new_uid, node);
  EXPECT_EQ(r.outcome, kubesched::BindOutcome::kBound) << r.error;
  r = kubesched::BindPod(client, session, ns + "/p", new_uid, node);
  EXPECT_EQ(r.outcome, kubesched::BindOutcome::kBound) << r.error;
  EXPECT_EQ(pod(".spec.nodeName"), node);
  // A DELETE under the old uid's precondition (a gang undone, a victim: pod_writes.h) is refused
  // the same way and leaves the new pod alone.
  json stale_delete = kubesched::DeleteBody(0, old_uid);
  raw = client.Call(executor::kube::Verb::kDelete, kubesched::PodPath(ns + "/p"), &stale_delete);
  ASSERT_TRUE(raw) << raw.error().message();
  EXPECT_EQ(raw->status, 409) << raw->body.dump();
  EXPECT_EQ(pod(".metadata.uid"), new_uid);
}

// A waiting pod's notice names the pod's resourceVersion as the pass saw it: once the pod is bound
// the API server refuses the notice (409) and the bound pod's PodScheduled stays True; on the
// pod as it still is, the notice applies.
TEST(PodBinderTest, ANoticeForAPodBoundSinceIsRefused) {
  test::K8sTestEnv env;
  ASSERT_TRUE(env.Start());
  ASSERT_TRUE(env.AddNodes({.prefix = "gpu-", .count = 1, .gpus = 4}));
  const std::string ns = env.namespace_name(), node = env.Node("gpu-0");
  std::string out;
  ASSERT_EQ(env.ApplyYaml(PodYaml("p", {.ns = ns}), &out), 0) << out;
  ASSERT_EQ(env.ApplyYaml(PodYaml("q", {.ns = ns}), &out), 0) << out;
  auto kc = executor::kube::LoadKubeconfig(env.kubeconfig());
  ASSERT_TRUE(kc) << kc.error().message();
  executor::kube::KubeClient client(*kc);
  auto get = [&](const std::string& name) {
    auto r = client.Call(executor::kube::Verb::kGet, kubesched::PodPath(ns + "/" + name));
    return r && r->ok() ? r->body : json();
  };
  auto scheduled = [&](const json& pod) {
    for (const json& c : pod["status"].value("conditions", json::array()))
      if (c.value("type", "") == "PodScheduled") return c.value("status", "");
    return std::string();
  };
  const json p = get("p"), q = get("q");
  ASSERT_TRUE(p.is_object() && q.is_object());

  executor::kube::KubeClient::Session session;
  kubesched::BindResult bound = kubesched::BindPod(client, session, ns + "/p",
                                                   p["metadata"].value("uid", ""), node);
  ASSERT_EQ(bound.outcome, kubesched::BindOutcome::kBound) << bound.error;
  json late = kubesched::WaitingNoticePatch(p, "needs 8 GPUs; 4 free", 0);
  auto r = client.Call(executor::kube::Verb::kStrategicMergePatch,
                       kubesched::PodPath(ns + "/p") + "/status", &late);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 409) << r->body.dump();
  EXPECT_EQ(scheduled(get("p")), "True");

  json current = kubesched::WaitingNoticePatch(q, "needs 8 GPUs; 4 free", 0);
  r = client.Call(executor::kube::Verb::kStrategicMergePatch,
                  kubesched::PodPath(ns + "/q") + "/status", &current);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->ok()) << r->body.dump();
  EXPECT_EQ(scheduled(get("q")), "False");
}

// kumo places pod p (nodeSelector pool=a) on node a-0; its binding is held up on the way (a
// proxy holds kumo's new connections); meanwhile p is deleted and recreated with nodeSelector
// pool=b. The held binding carries the old pod's uid, so the apiserver refuses it, and the new p
// is bound to b-0 from the watch. Without the uid the new p would be bound to a-0, a node its
// selector excludes.
TEST_F(KubeSchedulerRacesTest, APodRecreatedBeforeItsBindingIsPlacedAfresh) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "a-", .count = 1, .gpus = 4, .labels = {{"pool", "a"}}}));
  ASSERT_TRUE(env_.AddNodes({.prefix = "b-", .count = 1, .gpus = 4, .labels = {{"pool", "b"}}}));
  HoldingProxy proxy(ApiserverPort());
  ASSERT_NE(proxy.port(), 0);
  // One binding worker: a binding queued after the held one waits behind it, so the held one
  // is the first to reach the apiserver.
  StartScheduler("bindWorkers: 1\n", KubeconfigVia(proxy.port()));
  proxy.Hold();  // the watches are open; the first binding's connection will wait
  Apply(PodYaml("p", {.node_selector = "pool: a"}));
  ASSERT_TRUE(Eventually([&] { return tp::ReadAll(log_).find("1 started") != std::string::npos; }))
      << tp::ReadAll(log_);
  ASSERT_TRUE(Eventually([&] { return proxy.held() > 0; }, 10));
  std::string out;
  ASSERT_EQ(env_.Kubectl({"delete", "pod", "p", "-n", "default", "--wait=true"}, &out), 0) << out;
  Apply(PodYaml("p", {.gpus = 2, .node_selector = "pool: b"}));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the watch may or may not show it yet
  proxy.Release();

  ASSERT_TRUE(Eventually([&] { return !NodeOf("p").empty(); })) << tp::ReadAll(log_);
  EXPECT_EQ(NodeOf("p"), "b-0");
  EXPECT_NE(tp::ReadAll(log_).find("binding default/p to a-0: the pod was recreated"),
            std::string::npos)
      << tp::ReadAll(log_);
}

// Two PodGroups of minMember 4, each with 2 pods bound by hand before kumo starts (a kumo
// killed between a gang's bindings). Pool a has room for the other two: kumo binds them. Pool b
// has one GPU left: kumo evicts the two bound pods with their grace period (3 s) rather than
// hold them for a rest that does not fit, and binds nothing of the group.
TEST_F(KubeSchedulerRacesTest, AGangLeftBoundInPartIsCompletedOrEvicted) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "a-", .count = 1, .gpus = 4, .labels = {{"pool", "a"}}}));
  ASSERT_TRUE(env_.AddNodes({.prefix = "b-", .count = 1, .gpus = 4, .labels = {{"pool", "b"}}}));
  InstallPodGroups();
  // Another scheduler's pod holds one of b-0's GPUs.
  std::string pods = PodYaml("other", {.scheduler = "default-scheduler", .node = "b-0"});
  for (const char* pool : {"a", "b"}) {
    std::string group = std::string("gang-") + pool;
    pods += PodGroupYaml(group, 4);
    for (int i = 0; i < 4; ++i)
      pods += PodYaml(group + "-" + std::to_string(i),
                      {.group = group, .grace_s = 3, .node_selector = std::string("pool: ") + pool});
  }
  Apply(pods);
  for (const char* pool : {"a", "b"})
    for (int i = 0; i < 2; ++i)
      BindByHand(std::string("gang-") + pool + "-" + std::to_string(i), std::string(pool) + "-0");
  StartScheduler();

  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < 4; ++i)
      if (NodeOf("gang-a-" + std::to_string(i)) != "a-0") return false;
    return true;
  })) << tp::ReadAll(log_);
  // gang-b: its two bound pods are deleted with their own grace, then gone; the other two wait.
  ASSERT_TRUE(Eventually([&] {
    json p = Get({"pod", "gang-b-0", "-n", "default"});
    return p.is_object() && p["metadata"].contains("deletionTimestamp");
  })) << tp::ReadAll(log_);
  EXPECT_EQ(Get({"pod", "gang-b-0", "-n", "default"})["metadata"].value("deletionGracePeriodSeconds", -1), 3);
  ASSERT_TRUE(Eventually([&] {
    return !Get({"pod", "gang-b-0", "-n", "default"}).is_object() &&
           !Get({"pod", "gang-b-1", "-n", "default"}).is_object();
  }, 30));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // later passes bind nothing either
  EXPECT_EQ(NodeOf("gang-b-2"), "");
  EXPECT_EQ(NodeOf("gang-b-3"), "");
  EXPECT_NE(tp::ReadAll(log_).find("gang pg:default/gang-b is bound in part"), std::string::npos);
}

}  // namespace
}  // namespace kumo::testing
