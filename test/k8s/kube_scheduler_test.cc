// `kumo kube-scheduler` (kumo as the schedulerName of pods it did not create) against the real
// test control plane (kube-apiserver, etcd, KWOK nodes and pod lifecycles;
// test/support/k8s_testenv.h), with the PodGroup CRD of sigs.k8s.io/scheduler-plugins: a gang
// binds all of its minMember pods or none and says why; a pod kumo cannot place carries kumo's
// sentence in its PodScheduled condition and a FailedScheduling Event; two namespaces weighted
// 2:1 share a full cluster about 2:1 over time; a higher-priority pod preempts with the victims'
// grace period; the deployment's ServiceAccount may do what the mode needs and no more.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "test/k8s/kube_scheduler_fixture.h"

namespace kumo::testing {
namespace {
using nlohmann::json;
namespace tp = cache::test_process;

TEST_F(KubeSchedulerTest, AGangBindsAllOfItsPodsOrNoneAndSaysWhy) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 1, .gpus = 4}));
  // Another scheduler's pod holds one of the 4 GPUs: room for 3.
  Apply(PodYaml("other", {.scheduler = "default-scheduler", .node = "gpu-0"}));
  StartScheduler();
  std::string gang = PodGroupYaml("gang", 4);
  for (int i = 0; i < 4; ++i) gang += PodYaml("gang-" + std::to_string(i), {.group = "gang"});
  Apply(gang);

  json condition;
  ASSERT_TRUE(Eventually([&] {
    condition = PodScheduled("gang-3");
    return condition.is_object() && condition.value("status", "") == "False";
  })) << condition.dump();
  EXPECT_EQ(condition["reason"], "Unschedulable");
  const std::string why = condition.value("message", "");
  EXPECT_NE(why.find("GPU"), std::string::npos) << why;
  // The pass that wrote the reason bound nothing, and later passes do not either.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(NodeOf("gang-" + std::to_string(i)), "") << i;
  // The Event says the same (a pod created before the others may first have been told that
  // its gang was incomplete).
  json events = Get({"events", "-n", "default", "--field-selector", "involvedObject.name=gang-3,reason=FailedScheduling"});
  ASSERT_TRUE(events.is_object());
  bool told = false;
  for (const json& e : events["items"]) told |= e["message"] == why && e["type"] == "Warning";
  EXPECT_TRUE(told) << events.dump();

  // Room for 4: all four are bound.
  std::string out;
  ASSERT_EQ(env_.Kubectl({"delete", "pod", "other", "-n", "default", "--grace-period=0", "--force"}, &out), 0) << out;
  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < 4; ++i)
      if (NodeOf("gang-" + std::to_string(i)) != "gpu-0") return false;
    return true;
  }));
  EXPECT_EQ(PodScheduled("gang-0").value("status", ""), "True");
}

TEST_F(KubeSchedulerTest, APodKumoCannotPlaceCarriesKumosSentence) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 2, .gpus = 8}));
  StartScheduler();
  Apply(PodYaml("huge", {.gpus = 16}) + PodYaml("fits", {.gpus = 8}) +
        PodGroupYaml("short", 3) + PodYaml("short-0", {.group = "short"}));
  json condition;
  ASSERT_TRUE(Eventually([&] {
    condition = PodScheduled("huge");
    return condition.is_object() && condition.value("status", "") == "False";
  })) << condition.dump();
  EXPECT_EQ(condition["reason"], "Unschedulable");
  EXPECT_EQ(condition["message"],
            "no node has 16 GPUs for one task of group \"default/huge\" (2 nodes match its "
            "selector and tolerations)");
  ASSERT_TRUE(Eventually([&] { return !NodeOf("fits").empty(); }));
  // A gang short of its minMember waits with kumo's reason too, and binds nothing. The PodGroup
  // and the pod come on two watches: a pass may see the pod first and say it waits for its
  // PodGroup; the condition follows the sentence's change within kConditionIntervalS (10 s).
  const std::string short_of_pods =
      "PodGroup default/short has fewer pods than its minMember 3; kumo binds none of them until "
      "all exist";
  EXPECT_TRUE(Eventually([&] {
    json c = PodScheduled("short-0");
    return c.is_object() && c.value("message", "") == short_of_pods;
  }, 30)) << PodScheduled("short-0").dump();
  EXPECT_EQ(NodeOf("short-0"), "");
}

// Two namespaces with weights 2:1 and more work than fits: weighted DRF gives the first twice the
// GPUs of the second whenever both wait. KWOK ends each pod 3 s after it starts, so the cluster
// turns over several times; the ratio is of GPU-samples (pods running at each sample, summed).
TEST_F(KubeSchedulerTest, TwoNamespacesWeightedTwoToOneShareAFullClusterTwoToOne) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 1, .gpus = 6}));
  std::string out;
  for (const char* ns : {"team-a", "team-b"}) ASSERT_EQ(env_.Kubectl({"create", "namespace", ns}, &out), 0) << out;
  StartScheduler("projects:\n- {namespace: team-a, weight: 2}\n- {namespace: team-b, weight: 1}\n");
  std::string pods;
  for (int i = 0; i < 40; ++i)
    for (const char* ns : {"team-a", "team-b"})
      pods += PodYaml("p" + std::to_string(i), {.ns = ns, .run = "3s"});
  Apply(pods);

  std::map<std::string, int> running;  // namespace -> pods running, summed over the samples
  int samples = 0;
  for (int s = 0; s < 40 && samples < 20; ++s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    json all = Get({"pods", "-A"});
    if (!all.is_object()) continue;
    std::map<std::string, int> now, pending;
    for (const json& p : all["items"]) {
      std::string ns = p["metadata"].value("namespace", "");
      std::string phase = p["status"].value("phase", "");
      if (phase == "Pending" && p["spec"].value("nodeName", "").empty()) ++pending[ns];
      else if (phase == "Running" || phase == "Pending") ++now[ns];
    }
    // Only while both have work waiting: then the split is the policy's, not the workload's.
    if (pending["team-a"] == 0 || pending["team-b"] == 0) break;
    if (now["team-a"] + now["team-b"] < 6) continue;  // between a pod's end and the next pass
    running["team-a"] += now["team-a"];
    running["team-b"] += now["team-b"];
    ++samples;
  }
  ASSERT_GE(samples, 5);
  ASSERT_GT(running["team-b"], 0);
  double ratio = static_cast<double>(running["team-a"]) / running["team-b"];
  EXPECT_GT(ratio, 1.6) << running["team-a"] << " : " << running["team-b"];
  EXPECT_LT(ratio, 2.5) << running["team-a"] << " : " << running["team-b"];
}

// A pod of a higher PriorityClass preempts the fewest pods kumo placed, deleting them with their
// own grace period, and is bound once they are gone.
TEST_F(KubeSchedulerTest, AHigherPriorityPodPreemptsWithTheVictimsGracePeriod) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 1, .gpus = 4}));
  Apply("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: low}\nvalue: 10\n"
        "---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n");
  StartScheduler();
  std::string low;
  for (int i = 0; i < 4; ++i)
    low += PodYaml("low-" + std::to_string(i), {.priority_class = "low", .grace_s = 8});
  Apply(low);
  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < 4; ++i)
      if (NodeOf("low-" + std::to_string(i)).empty()) return false;
    return true;
  }));
  Apply(PodYaml("high", {.gpus = 2, .priority_class = "high"}));

  // Two victims, deleted with their 8 s grace (the kubelet's SIGTERM, then SIGKILL after it).
  int deleting = 0;
  ASSERT_TRUE(Eventually([&] {
    json pods = Get({"pods", "-n", "default"});
    deleting = 0;
    for (const json& p : pods.is_object() ? pods["items"] : json::array()) {
      if (!p["metadata"].contains("deletionTimestamp")) continue;
      ++deleting;
      EXPECT_EQ(p["metadata"].value("deletionGracePeriodSeconds", -1), 8) << p["metadata"].dump();
    }
    return deleting > 0;
  }, 30));
  ASSERT_TRUE(Eventually([&] { return NodeOf("high") == "gpu-0"; }, 60)) << tp::ReadAll(log_);
  json pods = Get({"pods", "-n", "default"});
  int low_left = 0;
  for (const json& p : pods["items"])
    low_left += p["metadata"].value("name", "").rfind("low-", 0) == 0;
  EXPECT_EQ(low_left, 2);  // the fewest victims: two 1-GPU pods for a 2-GPU pod
  EXPECT_NE(tp::ReadAll(log_).find("preempting default/low-"), std::string::npos);
}

// deploy/kubernetes/50-kube-scheduler.yaml gives kumo-kube-scheduler what the mode needs and no
// more (the whole directory's dry run is manifests_test.cc's).
TEST_F(KubeSchedulerTest, ItsServiceAccountMayDoWhatTheModeNeedsAndNoMore) {
  InstallPodGroups();  // so that kubectl knows the resource podgroups.scheduling.x-k8s.io
  std::string out;
  ASSERT_EQ(env_.Kubectl({"apply", "-f", std::string(KUMO_DEPLOY_DIR) + "/00-namespaces.yaml", "-f",
                          std::string(KUMO_DEPLOY_DIR) + "/50-kube-scheduler.yaml"}, &out), 0) << out;
  // A subresource ("pods/binding") goes as --subresource: kubectl would read "pods/binding" as
  // the pod named "binding".
  auto can = [&](const std::string& verb, const std::string& resource, const std::string& ns) {
    size_t slash = resource.find('/');
    std::vector<std::string> a = {"auth", "can-i", verb, resource.substr(0, slash), "--as",
                                  "system:serviceaccount:kumo:kumo-kube-scheduler"};
    if (slash != std::string::npos) a.push_back("--subresource=" + resource.substr(slash + 1));
    if (ns.empty()) a.push_back("--all-namespaces");
    else a.insert(a.end(), {"-n", ns});
    std::string o;
    env_.Kubectl(a, &o);  // exit code 1 means "no"; the answer is on stdout
    return o.rfind("yes", 0) == 0;
  };
  for (const char* verb : {"get", "list", "watch"}) {
    EXPECT_TRUE(can(verb, "nodes", "")) << verb;
    EXPECT_TRUE(can(verb, "pods", "")) << verb;
    EXPECT_TRUE(can(verb, "podgroups.scheduling.x-k8s.io", "")) << verb;
    EXPECT_TRUE(can(verb, "priorityclasses.scheduling.k8s.io", "")) << verb;
  }
  EXPECT_TRUE(can("create", "pods/binding", "team-a"));
  EXPECT_TRUE(can("patch", "pods/status", "team-a"));
  EXPECT_TRUE(can("delete", "pods", "team-a"));
  EXPECT_TRUE(can("create", "events", "team-a"));
  EXPECT_TRUE(can("create", "events.events.k8s.io", "team-a"));
  EXPECT_FALSE(can("create", "pods", "team-a"));
  EXPECT_FALSE(can("update", "pods", "team-a"));
  EXPECT_FALSE(can("patch", "nodes", ""));
  EXPECT_FALSE(can("get", "secrets", "kumo"));
  EXPECT_FALSE(can("list", "secrets", ""));
  EXPECT_FALSE(can("create", "pods/exec", "team-a"));
}

}  // namespace
}  // namespace kumo::testing
