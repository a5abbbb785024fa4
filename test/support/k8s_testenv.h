// Test-only: a real Kubernetes control plane for a gtest fixture. K8sTestEnv runs
// scripts/k8s-testenv (kube-apiserver, etcd, a kube-controller-manager with the
// service-account, garbage-collector and namespace controllers, and KWOK with the stages of
// test/k8s/kwok-stages.yaml) in a fresh temporary directory on free 127.0.0.1 ports, and stops
// every process it started, by PID, when destroyed. docs/kubernetes.md says what runs and why.
//
// Shared: under ctest, the fixture k8s_cluster starts one control plane for all the k8s tests
// and names its directory in KUMO_K8S_SHARED_DIR (test/k8s/CMakeLists.txt). Start() then joins
// it instead of starting one (about 15 s and 50 CPU-seconds saved per test), and keeps the test
// apart from the others running at once: a namespace of its own (namespace_name(); Kubectl and
// ApplyYaml default to it), and nodes named and labelled its own (AddNodes prefixes the names
// with the test's id, Node("gpu-0") gives the full name, and labels them
// partition_label()=partition()); Stop() deletes both and leaves the control plane running.
// A test that stops the control plane, compacts etcd or writes cluster-wide objects asks for
// its own: Start(Plane::kOwn). Run alone from the binary (no KUMO_K8S_SHARED_DIR), every test
// starts its own, in namespace default with unprefixed node names.
//
//   class MyTest : public ::testing::Test {
//    protected:
//     void SetUp() override { ASSERT_TRUE(env_.Start()); }
//     kumo::test::K8sTestEnv env_;
//   };
//   ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 2, .gpus = 8}));
//   std::string out;
//   ASSERT_EQ(env_.Kubectl({"get", "node", env_.Node("gpu-0"), "-o", "name"}, &out), 0) << out;
//
// Needs the compile definition K8S_TESTENV_SCRIPT (the script's absolute path; test/k8s/
// CMakeLists.txt sets it). The first Start() on a machine builds the binaries (docs: time);
// `make test` builds them before ctest runs. Not thread-safe; one K8sTestEnv per fixture.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test/support/test_process.h"

namespace kumo::test {

// Polls `pred` every 100 ms for up to `timeout_s` seconds; true once it holds.
template <typename Pred>
bool Eventually(Pred pred, int timeout_s = 60) {
  for (int i = 0; i < timeout_s * 10; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

// N KWOK nodes PREFIX0..PREFIX(N-1), Ready, with this allocatable (= capacity). Quantities are
// Kubernetes quantities ("32", "500m", "256Gi").
struct K8sNodeSpec {
  std::string prefix = "kwok-node-";
  int count = 1;
  std::string cpu = "32";
  std::string memory = "256Gi";
  int gpus = 0;             // nvidia.com/gpu
  std::string gpu_product;  // the nvidia.com/gpu.product label, when not empty
  std::vector<std::pair<std::string, std::string>> resources;  // extended, e.g. {"rdma/hca", "4"}
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> taints;  // "key=value:NoSchedule"
  bool in_partition = true;  // false: labelled as another test's nodes would be
};

class K8sTestEnv {
 public:
  enum class Plane { kShared, kOwn };
  static constexpr char kPartitionLabel[] = "kumo.test/partition";

  K8sTestEnv() = default;
  K8sTestEnv(const K8sTestEnv&) = delete;
  K8sTestEnv& operator=(const K8sTestEnv&) = delete;
  ~K8sTestEnv() { Stop(); }

  // Joins the shared control plane (see above) or starts one; success once /readyz answers,
  // KWOK is up and the test's namespace has its default ServiceAccount. A start that loses a
  // port race to another process is retried once in a new directory.
  ::testing::AssertionResult Start(Plane plane = Plane::kShared) {
    const char* shared = std::getenv("KUMO_K8S_SHARED_DIR");
    if (plane == Plane::kShared && shared != nullptr && *shared != '\0') return Join(shared);
    ::testing::AssertionResult r = StartOnce();
    if (!r) {
      Stop();
      r = StartOnce();
    }
    return r;
  }

  // Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the directory, unless
  // KUMO_K8S_KEEP is set (then its path is printed, for a post-mortem); on the shared control
  // plane, deletes the test's namespace and nodes instead. Idempotent.
  void Stop() {
    if (dir_.empty()) return;
    if (shared_) {
      std::string out;
      Kubectl({"delete", "namespace", namespace_, "--wait=false"}, &out);
      Kubectl({"delete", "nodes", "-l", std::string(kPartitionLabel) + "=" + partition_,
               "--wait=false"},
              &out);
    } else {
      RunScript({"stop", plane_dir_}, dir_ + "/stop.log");
    }
    if (std::getenv("KUMO_K8S_KEEP") != nullptr) {
      std::fprintf(stderr, "k8s test env kept in %s\n", dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
    dir_.clear();
    plane_dir_.clear();
    env_.clear();
  }

  // Runs kubectl (the one built with the apiserver) against this cluster; its exit code, with
  // stdout and stderr in *out.
  // Namespaced objects are the test's namespace's unless args say otherwise (-n, -A): its
  // kubeconfig's context names that namespace.
  int Kubectl(const std::vector<std::string>& args, std::string* out) const {
    std::vector<std::string> a = {Get("KUMO_K8S_KUBECTL"), "--kubeconfig", kubeconfig()};
    a.insert(a.end(), args.begin(), args.end());
    return Run(a, out);
  }

  // kubectl apply -f on a manifest given as text (kept in the env's directory).
  int ApplyYaml(const std::string& yaml, std::string* out,
                const std::vector<std::string>& extra_args = {}) {
    std::string path = dir_ + "/apply-" + std::to_string(++applied_) + ".yaml";
    cache::test_process::WriteAtomically(path, yaml);
    std::vector<std::string> a = {"apply", "-f", path};
    a.insert(a.end(), extra_args.begin(), extra_args.end());
    return Kubectl(a, out);
  }

  // Creates the nodes Node(prefix + i), labelled partition_label()=partition(), and waits until
  // each is Ready.
  ::testing::AssertionResult AddNodes(const K8sNodeSpec& s) const {
    std::vector<std::string> a = {"nodes",    plane_dir_,     "--count", std::to_string(s.count),
                                  "--prefix", Node(s.prefix), "--cpu",   s.cpu,
                                  "--memory", s.memory,       "--gpu",   std::to_string(s.gpus),
                                  "--label",  std::string(kPartitionLabel) + "=" + partition_ +
                                                  (s.in_partition ? "" : "-other")};
    if (!s.gpu_product.empty()) a.insert(a.end(), {"--gpu-product", s.gpu_product});
    for (const auto& [k, v] : s.resources) a.insert(a.end(), {"--resource", k + "=" + v});
    for (const auto& [k, v] : s.labels) a.insert(a.end(), {"--label", k + "=" + v});
    for (const std::string& t : s.taints) a.insert(a.end(), {"--taint", t});
    std::string log = dir_ + "/nodes.log";
    if (RunScript(a, log) != 0)
      return ::testing::AssertionFailure() << "k8s-testenv nodes: " << ReadAll(log);
    return ::testing::AssertionSuccess();
  }

  // The test's own directory (removed by Stop).
  const std::string& scratch_dir() const { return dir_; }
  // The control plane's directory (its logs, PIDs, kubeconfig).
  const std::string& dir() const { return plane_dir_; }
  const std::string& namespace_name() const { return namespace_; }
  // The full name of this test's node `name` (as AddNodes named it).
  std::string Node(const std::string& name) const { return node_prefix_ + name; }
  // The value of kPartitionLabel on this test's nodes: a node selector for them.
  const std::string& partition() const { return partition_; }
  std::string kubeconfig() const { return Get("KUBECONFIG"); }
  std::string server() const { return Get("KUMO_K8S_SERVER"); }  // https://127.0.0.1:PORT
  std::string ca_file() const { return Get("KUMO_K8S_CA_FILE"); }
  std::string admin_token() const { return Get("KUMO_K8S_TOKEN"); }  // group system:masters
  std::string kube_scheduler() const { return Get("KUMO_K8S_KUBE_SCHEDULER"); }
  std::string kubectl() const { return Get("KUMO_K8S_KUBECTL"); }
  // A component's log (kube-apiserver, kube-controller-manager, kwok, etcd), for failures.
  std::string Log(const std::string& component) const {
    return ReadAll(plane_dir_ + "/" + component + ".log");
  }

 private:
  ::testing::AssertionResult StartOnce() {
    dir_ = plane_dir_ = cache::test_process::MakeTempDir("kumo-k8s");
    if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp";
    shared_ = false;
    namespace_ = "default";
    partition_ = "own";
    node_prefix_.clear();
    std::string log = dir_ + "/start.log";
    if (RunScript({"start", dir_}, log) != 0)
      return ::testing::AssertionFailure() << "k8s-testenv start " << dir_ << ": " << ReadAll(log);
    return ReadEnv();
  }

  // The test's id is its process id: ctest runs each test in a process of its own, so the ids of
  // tests running at once differ, and they are valid in namespace and node names.
  ::testing::AssertionResult Join(const std::string& plane_dir) {
    dir_ = cache::test_process::MakeTempDir("kumo-k8s-test");
    if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp";
    plane_dir_ = plane_dir;
    shared_ = true;
    partition_ = "t" + std::to_string(getpid());
    namespace_ = "kumo-" + partition_;
    node_prefix_ = partition_ + "-";
    if (::testing::AssertionResult r = ReadEnv(); !r) return r;
    // The test's kubeconfig: the control plane's, its context in the test's namespace.
    std::string kubeconfig = ReadAll(Get("KUBECONFIG"));
    const std::string context = "context: {cluster: kumo-test, user: kumo-test-admin";
    size_t at = kubeconfig.find(context);
    if (at == std::string::npos)
      return ::testing::AssertionFailure() << Get("KUBECONFIG") << ": no context " << context;
    kubeconfig.insert(at + context.size(), ", namespace: " + namespace_);
    env_["KUBECONFIG"] = dir_ + "/kubeconfig";
    cache::test_process::WriteAtomically(env_["KUBECONFIG"], kubeconfig);
    std::string out;
    if (Kubectl({"create", "namespace", namespace_}, &out) != 0)
      return ::testing::AssertionFailure() << "create namespace " << namespace_ << ": " << out;
    // Pods are admitted only once the namespace's default ServiceAccount exists.
    for (int i = 0; i < 300; ++i) {
      if (Kubectl({"get", "serviceaccount", "default"}, &out) == 0)
        return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ::testing::AssertionFailure() << "no default ServiceAccount in " << namespace_;
  }

  ::testing::AssertionResult ReadEnv() {
    std::ifstream f(plane_dir_ + "/env");
    for (std::string line; std::getline(f, line);) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (Get("KUBECONFIG").empty())
      return ::testing::AssertionFailure() << plane_dir_ << "/env has no KUBECONFIG";
    return ::testing::AssertionSuccess();
  }

  int RunScript(const std::vector<std::string>& args, const std::string& log) const {
    std::vector<std::string> a = {K8S_TESTENV_SCRIPT};
    a.insert(a.end(), args.begin(), args.end());
    cache::test_process::SpawnOptions o;
    o.stdout_path = log;
    return cache::test_process::RunToExit(a, o);
  }

  int Run(const std::vector<std::string>& args, std::string* out) const {
    std::string log = dir_ + "/run-" + std::to_string(++runs_) + ".log";
    cache::test_process::SpawnOptions o;
    o.stdout_path = log;
    int rc = cache::test_process::RunToExit(args, o);
    *out = ReadAll(log);
    std::filesystem::remove(log);
    return rc;
  }

  std::string Get(const std::string& name) const {
    auto it = env_.find(name);
    return it == env_.end() ? "" : it->second;
  }
  static std::string ReadAll(const std::string& path) { return cache::test_process::ReadAll(path); }

  std::string dir_;        // the test's own files (applied manifests, command output)
  std::string plane_dir_;  // the control plane's: dir_ unless shared
  bool shared_ = false;
  std::string namespace_ = "default", partition_, node_prefix_;
  std::map<std::string, std::string> env_;
  mutable int runs_ = 0;
  int applied_ = 0;
};

}  // namespace kumo::test
