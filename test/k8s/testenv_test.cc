// The test control plane itself (scripts/k8s-testenv, test/k8s/kwok-stages.yaml): KWOK nodes
// carry the allocatable, labels and taints they were created with and turn Ready; pods bound
// to them run and exit with the code and reason their annotations give; a node can be made
// NotReady and Ready again; the garbage collector deletes pods whose owner is gone; and a
// projected-style service-account token (audience kumo-cache) is accepted by a real
// `kumo cache serve` checking it against this API server's JWKS. The executor's tests build on
// exactly these behaviours.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/k8s_testenv.h"

namespace kumo::test {
namespace {

namespace tp = cache::test_process;

class K8sTestEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.Start()); }

  std::string Get(const std::vector<std::string>& args) {
    std::string out;
    EXPECT_EQ(env_.Kubectl(args, &out), 0) << out;
    return out;
  }

  // kubectl wait for `jsonpath` = value (up to 60 s); the object's YAML when it times out.
  ::testing::AssertionResult WaitFor(const std::string& object, const std::string& jsonpath,
                                     const std::string& value) {
    std::string out;
    if (env_.Kubectl({"wait", object, "--for=jsonpath=" + jsonpath + "=" + value, "--timeout=60s"},
                     &out) == 0)
      return ::testing::AssertionSuccess();
    std::string yaml;
    env_.Kubectl({"get", object, "-o", "yaml"}, &yaml);
    return ::testing::AssertionFailure() << out << "\n" << yaml << "\nkwok:\n" << env_.Log("kwok");
  }

  // A pod bound to the test's node `node` at creation (spec.nodeName: no scheduler involved), with `annotations`
  // (YAML flow mapping entries).
  void CreatePod(const std::string& name, const std::string& node, const std::string& annotations,
                 const std::string& owner = "") {
    std::string out;
    ASSERT_EQ(env_.ApplyYaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
                                 "\n  namespace: " + env_.namespace_name() + "\n  annotations: {" +
                                 annotations + "}\n" + owner + "spec:\n  nodeName: " + env_.Node(node) +
                                 "\n  containers:\n  - {name: main, image: trainer:1}\n",
                             &out),
              0)
        << out;
  }

  K8sTestEnv env_;
};

TEST_F(K8sTestEnvTest, NodesKeepTheirAllocatableLabelsAndTaintsAndTurnReady) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-",
                             .count = 2,
                             .cpu = "96",
                             .memory = "1Ti",
                             .gpus = 8,
                             .gpu_product = "NVIDIA-H100-80GB-HBM3",
                             .resources = {{"rdma/hca", "4"}},
                             .labels = {{"topology.kubernetes.io/zone", "zone-a"}},
                             .taints = {"nvidia.com/gpu=present:NoSchedule"}}));
  EXPECT_EQ(Get({"get", "nodes", "-l", "type=kwok," + std::string(K8sTestEnv::kPartitionLabel) + "=" +
                                           env_.partition(), "-o", "name"}),
            "node/" + env_.Node("gpu-0") + "\nnode/" + env_.Node("gpu-1") + "\n");
  const std::string alloc = "{.status.allocatable}";
  std::string a = Get({"get", "node", env_.Node("gpu-1"), "-o", "jsonpath=" + alloc});
  EXPECT_NE(a.find("\"nvidia.com/gpu\":\"8\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"rdma/hca\":\"4\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"cpu\":\"96\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"memory\":\"1Ti\""), std::string::npos) << a;
  EXPECT_EQ(Get({"get", "node", env_.Node("gpu-0"), "-o",
                 "jsonpath={.metadata.labels.nvidia\\.com/gpu\\.product} "
                 "{.metadata.labels.topology\\.kubernetes\\.io/zone} "
                 "{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}"}),
            "NVIDIA-H100-80GB-HBM3 zone-a nvidia.com/gpu=present:NoSchedule");
}

TEST_F(K8sTestEnvTest, PodsRunThenExitWithTheirAnnotatedCodeAndReason) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "n-", .count = 1, .gpus = 8}));
  CreatePod("ok", "n-0", "kumo.test/run-duration: 1s");
  CreatePod("oom", "n-0",
            "kumo.test/run-duration: 1s, kumo.test/exit-code: '137', kumo.test/reason: OOMKilled");
  CreatePod(
      "evicted", "n-0",
      "kumo.test/run-duration: 1s, kumo.test/exit-code: '143', kumo.test/pod-reason: Evicted");
  CreatePod("forever", "n-0", "");
  CreatePod("badimage", "n-0", "kumo.test/image-pull-error: 'true'");
  EXPECT_TRUE(WaitFor("pod/ok", "{.status.phase}", "Succeeded"));
  EXPECT_EQ(Get({"get", "pod", "ok", "-o",
                 "jsonpath={.status.containerStatuses[0].state.terminated.exitCode} "
                 "{.status.containerStatuses[0].state.terminated.reason}"}),
            "0 Completed");
  EXPECT_TRUE(WaitFor("pod/oom", "{.status.phase}", "Failed"));
  EXPECT_EQ(Get({"get", "pod", "oom", "-o",
                 "jsonpath={.status.containerStatuses[0].state.terminated.exitCode} "
                 "{.status.containerStatuses[0].state.terminated.reason}"}),
            "137 OOMKilled");
  EXPECT_TRUE(WaitFor("pod/evicted", "{.status.phase}", "Failed"));
  EXPECT_EQ(Get({"get", "pod", "evicted", "-o", "jsonpath={.status.reason}"}), "Evicted");
  EXPECT_TRUE(WaitFor("pod/badimage", "{.status.containerStatuses[0].state.waiting.reason}",
                      "ImagePullBackOff"));
  EXPECT_EQ(Get({"get", "pod", "badimage", "-o", "jsonpath={.status.phase}"}), "Pending");
  // Without a run time a pod keeps running (checked after the others have exited).
  EXPECT_EQ(Get({"get", "pod", "forever", "-o", "jsonpath={.status.phase}"}), "Running");
}

TEST_F(K8sTestEnvTest, APodWithExitAfterSucceedsWithoutEverRunning) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "n-", .count = 1, .gpus = 8}));
  CreatePod("held", "n-0", "kumo.test/exit-after: 5s");
  // Pending (bound, not started) until the time is up, then Succeeded with no start between.
  EXPECT_EQ(Get({"get", "pod", "held", "-o", "jsonpath={.status.phase}"}), "Pending");
  EXPECT_TRUE(WaitFor("pod/held", "{.status.phase}", "Succeeded"));
  EXPECT_EQ(Get({"get", "pod", "held", "-o",
                 "jsonpath={.status.containerStatuses[0].state.terminated.reason} "
                 "{.status.startTime}"}),
            "Completed ");
}

TEST_F(K8sTestEnvTest, DeletedPodsGoAfterTheirGracePeriodAndOrphansAreCollected) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "n-", .count = 1}));
  CreatePod("graceful", "n-0", "");
  ASSERT_TRUE(WaitFor("pod/graceful", "{.status.phase}", "Running"));
  std::string out;
  ASSERT_EQ(env_.Kubectl({"delete", "pod", "graceful", "--grace-period=2", "--wait=false"}, &out),
            0)
      << out;
  // Still there, terminating, right after the delete; gone once the grace period is over.
  EXPECT_NE(Get({"get", "pod", "graceful", "-o", "jsonpath={.metadata.deletionTimestamp}"}), "");
  EXPECT_EQ(env_.Kubectl({"wait", "pod/graceful", "--for=delete", "--timeout=60s"}, &out), 0)
      << out;

  ASSERT_EQ(env_.Kubectl({"create", "configmap", "owner"}, &out), 0) << out;
  std::string uid = Get({"get", "configmap", "owner", "-o", "jsonpath={.metadata.uid}"});
  ASSERT_FALSE(uid.empty());
  CreatePod(
      "owned", "n-0", "",
      "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: " + uid + "}]\n");
  ASSERT_EQ(env_.Kubectl({"delete", "configmap", "owner"}, &out), 0) << out;
  EXPECT_EQ(env_.Kubectl({"wait", "pod/owned", "--for=delete", "--timeout=60s"}, &out), 0)
      << out << env_.Log("kube-controller-manager");
}

TEST_F(K8sTestEnvTest, ANodeCanBeMadeNotReadyAndReadyAgain) {
  ASSERT_TRUE(env_.AddNodes({.prefix = "n-", .count = 1}));
  const std::string ready = "{.status.conditions[?(@.type==\"Ready\")].status}";
  const std::string node = env_.Node("n-0");
  std::string out;
  ASSERT_EQ(env_.Kubectl({"annotate", "node", node, "kumo.test/not-ready=true"}, &out), 0) << out;
  EXPECT_TRUE(WaitFor("node/" + node, ready, "False"));
  ASSERT_EQ(env_.Kubectl({"annotate", "node", node, "kumo.test/not-ready-"}, &out), 0) << out;
  EXPECT_TRUE(WaitFor("node/" + node, ready, "True"));
}

// The chain the cache DaemonSet relies on (deploy/kubernetes/40-cache.yaml): the API server
// issues a token for audience kumo-cache, publishes its keys at /openid/v1/jwks, and
// `kumo cache serve --jwks` accepts the token for the ServiceAccount's namespace, and refuses
// one minted for another audience.
TEST_F(K8sTestEnvTest, AServiceAccountTokenIsAcceptedByTheCacheThroughTheClusterJwks) {
  std::string out;
  ASSERT_EQ(env_.Kubectl({"create", "serviceaccount", "trainer"}, &out), 0) << out;
  std::string token = Get({"create", "token", "trainer", "--audience", "kumo-cache"});
  std::string wrong = Get({"create", "token", "trainer", "--audience", "other"});
  while (!token.empty() && token.back() == '\n') token.pop_back();
  while (!wrong.empty() && wrong.back() == '\n') wrong.pop_back();
  std::string issuer = Get({"get", "--raw", "/.well-known/openid-configuration"});
  ASSERT_NE(issuer.find("\"issuer\":\"https://kubernetes.default.svc.cluster.local\""),
            std::string::npos)
      << issuer;

  std::string dir = env_.scratch_dir();
  tp::WriteAtomically(dir + "/jwks.json", Get({"get", "--raw", "/openid/v1/jwks"}));
  tp::WriteAtomically(dir + "/acl.yaml", "namespaces:\n  " + env_.namespace_name() +
                                             ":\n    read: ['*']\n    write: [data]\n");
  std::filesystem::create_directories(dir + "/cache");
  tp::ServeProcess cache;
  ASSERT_TRUE(
      cache.Start({"--dir", dir + "/cache", "--capacity", "1Mi", "--jwks", dir + "/jwks.json",
                   "--acl", dir + "/acl.yaml", "--issuer",
                   "https://kubernetes.default.svc.cluster.local", "--audience", "kumo-cache"},
                  dir + "/cache.port", dir + "/cache.log"));
  auto put = [&](const std::string& bearer) {
    int fd = tp::ConnectLoopback(cache.port());
    EXPECT_GE(fd, 0);
    std::string buf;
    tp::HttpReply r;
    EXPECT_TRUE(
        tp::SendAll(fd, "PUT /v1/objects/data/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                            bearer + "\r\nContent-Length: 2\r\n\r\nhi"));
    EXPECT_TRUE(tp::ReadReply(fd, &buf, false, &r));
    close(fd);
    return r.status;
  };
  EXPECT_EQ(put(token), 201) << cache.Log();
  EXPECT_EQ(put(wrong), 401) << cache.Log();
}

// Stop ends every process Start began (the PIDs that DIR/env lists), and a second start in a
// directory that still holds a control plane is refused rather than sharing its ports.
TEST(K8sTestEnvLifecycleTest, StopEndsEveryProcessItStarted) {
  K8sTestEnv env;
  ASSERT_TRUE(env.Start(K8sTestEnv::Plane::kOwn));  // this test stops it
  std::string dir = env.dir();
  std::string env_file = tp::ReadAll(dir + "/env");
  size_t at = env_file.find("KUMO_K8S_PIDS=");
  ASSERT_NE(at, std::string::npos) << env_file;
  std::string list = env_file.substr(at + 14, env_file.find('\n', at) - at - 14);
  std::replace(list.begin(), list.end(), ',', ' ');  // comma-separated: DIR/env is sourceable
  std::istringstream pids(list);
  std::vector<pid_t> started;
  for (pid_t pid; pids >> pid;) started.push_back(pid);
  ASSERT_EQ(started.size(), 4u) << env_file;  // kwok, controller manager, apiserver, etcd
  for (pid_t pid : started) EXPECT_EQ(kill(pid, 0), 0) << pid;

  tp::SpawnOptions o;
  o.stdout_path = dir + "/second-start.log";
  EXPECT_NE(tp::RunToExit({K8S_TESTENV_SCRIPT, "start", dir}, o), 0);
  EXPECT_NE(tp::ReadAll(o.stdout_path).find("already holds a control plane"), std::string::npos)
      << tp::ReadAll(o.stdout_path);

  env.Stop();
  for (pid_t pid : started) EXPECT_NE(kill(pid, 0), 0) << pid << " still runs";
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace kumo::test
