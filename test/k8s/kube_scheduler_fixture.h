// The fixture of the `kumo kube-scheduler` tests (kube_scheduler_test.cc,
// kube_scheduler_races_test.cc): a control plane of its own, the PodGroup CRD, `kumo
// kube-scheduler` as a process, and pods and PodGroups written as YAML.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test/support/k8s_testenv.h"

namespace kumo::testing {
using nlohmann::json;
namespace tp = cache::test_process;

using test::Eventually;

struct PodOptions {
  std::string ns = "default";
  int gpus = 1;
  std::string group;      // the scheduling.x-k8s.io/pod-group label
  std::string run;        // KWOK's run duration ("" : until deleted)
  std::string scheduler = "kumo";
  std::string node;       // spec.nodeName: bound at creation, no scheduler involved
  std::string priority_class;
  int grace_s = -1;       // terminationGracePeriodSeconds (-1: the API's default)
  std::string node_selector;  // "key: value"
};

inline std::string PodYaml(const std::string& name, const PodOptions& o) {
  std::string y = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + o.ns + "\n";
  if (!o.group.empty()) y += "  labels: {scheduling.x-k8s.io/pod-group: " + o.group + "}\n";
  if (!o.run.empty()) y += "  annotations: {kumo.test/run-duration: \"" + o.run + "\"}\n";
  y += "spec:\n  schedulerName: " + o.scheduler + "\n";
  if (!o.node.empty()) y += "  nodeName: " + o.node + "\n";
  if (!o.node_selector.empty()) y += "  nodeSelector: {" + o.node_selector + "}\n";
  if (!o.priority_class.empty()) y += "  priorityClassName: " + o.priority_class + "\n";
  if (o.grace_s >= 0) y += "  terminationGracePeriodSeconds: " + std::to_string(o.grace_s) + "\n";
  std::string g = std::to_string(o.gpus);
  y += "  containers:\n  - name: main\n    image: registry.example/train:1\n    resources:\n"
       "      requests: {cpu: 100m, memory: 1Gi, nvidia.com/gpu: \"" + g + "\"}\n"
       "      limits: {nvidia.com/gpu: \"" + g + "\"}\n";
  return y;
}

inline std::string PodGroupYaml(const std::string& name, int min_member, const std::string& ns = "default") {
  return "---\napiVersion: scheduling.x-k8s.io/v1alpha1\nkind: PodGroup\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec: {minMember: " + std::to_string(min_member) + "}\n";
}

class KubeSchedulerTest : public ::testing::Test {
 protected:
  // A control plane of its own: `kumo kube-scheduler` takes every pod named for it and every node
  // (no node selector), so it cannot share the cluster with the executor's tests.
  void SetUp() override { ASSERT_TRUE(env_.Start(test::K8sTestEnv::Plane::kOwn)); }
  void TearDown() override {
    tp::StopProcess(pid_);
    if (HasFailure()) std::fprintf(stderr, "kumo kube-scheduler log:\n%s\n", tp::ReadAll(log_).c_str());
  }

  // The PodGroup CRD of sigs.k8s.io/scheduler-plugins (scripts/k8s-testenv podgroups).
  void InstallPodGroups() {
    std::string log = env_.dir() + "/podgroups.log";
    ASSERT_EQ(tp::RunToExit({K8S_TESTENV_SCRIPT, "podgroups", env_.dir()}, {.stdout_path = log}), 0)
        << tp::ReadAll(log);
  }

  // The PodGroup CRD, then `kumo kube-scheduler` until it says it is ready; `kubeconfig` is the
  // control plane's unless given.
  void StartScheduler(const std::string& config_yaml = "", std::string kubeconfig = "") {
    InstallPodGroups();
    if (kubeconfig.empty()) kubeconfig = env_.kubeconfig();
    std::vector<std::string> args = {KUMO_BINARY, "kube-scheduler", "--kubeconfig", kubeconfig};
    if (!config_yaml.empty()) {
      std::string config = env_.dir() + "/kube-scheduler.yaml";
      std::ofstream(config) << config_yaml;
      args.insert(args.end(), {"--config", config});
    }
    log_ = env_.dir() + "/kube-scheduler.log";
    pid_ = tp::Spawn(args, {.stdout_path = log_});
    ASSERT_GT(pid_, 0);
    ASSERT_TRUE(Eventually([&] { return tp::ReadAll(log_).find("kube-scheduler ready") != std::string::npos; }))
        << tp::ReadAll(log_);
  }

  void Apply(const std::string& yaml) {
    std::string out;
    ASSERT_EQ(env_.ApplyYaml(yaml, &out), 0) << out;
  }

  json Get(const std::vector<std::string>& args) {
    std::string out;
    std::vector<std::string> a = {"get"};
    a.insert(a.end(), args.begin(), args.end());
    a.insert(a.end(), {"-o", "json"});
    if (env_.Kubectl(a, &out) != 0) return json();
    return json::parse(out, nullptr, false);
  }

  // The pod's PodScheduled condition (null when it has none).
  json PodScheduled(const std::string& name, const std::string& ns = "default") {
    json pod = Get({"pod", name, "-n", ns});
    if (!pod.is_object()) return json();
    for (const json& c : pod["status"].value("conditions", json::array()))
      if (c.value("type", "") == "PodScheduled") return c;
    return json();
  }

  std::string NodeOf(const std::string& name, const std::string& ns = "default") {
    json pod = Get({"pod", name, "-n", ns});
    return pod.is_object() ? pod["spec"].value("nodeName", "") : "";
  }

  test::K8sTestEnv env_;
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace kumo::testing
