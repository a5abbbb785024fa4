// Test-only: a real Kubernetes control plane for a gtest fixture. K8sTestEnv runs
// scripts/k8s-testenv (kube-apiserver, etcd, a kube-controller-manager with the
// service-account, garbage-collector and namespace controllers, and KWOK with the stages of
// test/k8s/kwok-stages.yaml) in a fresh temporary directory on free 127.0.0.1 ports, and stops
// every process it started, by PID, when destroyed. docs/kubernetes.md says what runs and why.
//
//   class MyTest : public ::testing::Test {
//    protected:
//     void SetUp() override { ASSERT_TRUE(env_.Start()); }
//     kumo::test::K8sTestEnv env_;
//   };
//   ASSERT_TRUE(env_.AddNodes({.prefix = "gpu-", .count = 2, .gpus = 8}));
//   std::string out;
//   ASSERT_EQ(env_.Kubectl({"get", "nodes", "-o", "name"}, &out), 0) << out;
//
// Needs the compile definition K8S_TESTENV_SCRIPT (the script's absolute path; test/k8s/
// CMakeLists.txt sets it). The first Start() on a machine builds the binaries (docs: time);
// `make test` builds them before ctest runs. Not thread-safe; one K8sTestEnv per fixture.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "test/support/test_process.h"

namespace kumo::test {

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
};

class K8sTestEnv {
 public:
  K8sTestEnv() = default;
  K8sTestEnv(const K8sTestEnv&) = delete;
  K8sTestEnv& operator=(const K8sTestEnv&) = delete;
  ~K8sTestEnv() { Stop(); }

  // Starts the control plane; success once /readyz answers, KWOK is up and the default
  // ServiceAccount exists. A start that loses a port race to another process is retried once
  // in a new directory.
  ::testing::AssertionResult Start() {
    ::testing::AssertionResult r = StartOnce();
    if (!r) {
      Stop();
      r = StartOnce();
    }
    return r;
  }

  // Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the directory, unless
  // KUMO_K8S_KEEP is set (then its path is printed, for a post-mortem). Idempotent.
  void Stop() {
    if (dir_.empty()) return;
    RunScript({"stop", dir_}, dir_ + "/stop.log");
    if (std::getenv("KUMO_K8S_KEEP") != nullptr) {
      std::fprintf(stderr, "k8s test env kept in %s\n", dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
    dir_.clear();
    env_.clear();
  }

  // Runs kubectl (the one built with the apiserver) against this cluster; its exit code, with
  // stdout and stderr in *out.
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

  // Creates the nodes and waits until each is Ready.
  ::testing::AssertionResult AddNodes(const K8sNodeSpec& s) const {
    std::vector<std::string> a = {"nodes",    dir_,     "--count", std::to_string(s.count),
                                  "--prefix", s.prefix, "--cpu",   s.cpu,
                                  "--memory", s.memory, "--gpu",   std::to_string(s.gpus)};
    if (!s.gpu_product.empty()) a.insert(a.end(), {"--gpu-product", s.gpu_product});
    for (const auto& [k, v] : s.resources) a.insert(a.end(), {"--resource", k + "=" + v});
    for (const auto& [k, v] : s.labels) a.insert(a.end(), {"--label", k + "=" + v});
    for (const std::string& t : s.taints) a.insert(a.end(), {"--taint", t});
    std::string log = dir_ + "/nodes.log";
    if (RunScript(a, log) != 0)
      return ::testing::AssertionFailure() << "k8s-testenv nodes: " << ReadAll(log);
    return ::testing::AssertionSuccess();
  }

  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return Get("KUBECONFIG"); }
  std::string server() const { return Get("KUMO_K8S_SERVER"); }  // https://127.0.0.1:PORT
  std::string ca_file() const { return Get("KUMO_K8S_CA_FILE"); }
  std::string admin_token() const { return Get("KUMO_K8S_TOKEN"); }  // group system:masters
  std::string kube_scheduler() const { return Get("KUMO_K8S_KUBE_SCHEDULER"); }
  // A component's log (kube-apiserver, kube-controller-manager, kwok, etcd), for failures.
  std::string Log(const std::string& component) const {
    return ReadAll(dir_ + "/" + component + ".log");
  }

 private:
  ::testing::AssertionResult StartOnce() {
    dir_ = cache::test_process::MakeTempDir("kumo-k8s");
    if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp";
    std::string log = dir_ + "/start.log";
    if (RunScript({"start", dir_}, log) != 0)
      return ::testing::AssertionFailure() << "k8s-testenv start " << dir_ << ": " << ReadAll(log);
    std::ifstream f(dir_ + "/env");
    for (std::string line; std::getline(f, line);) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (Get("KUBECONFIG").empty())
      return ::testing::AssertionFailure() << dir_ << "/env has no KUBECONFIG";
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

  std::string dir_;
  std::map<std::string, std::string> env_;
  mutable int runs_ = 0;
  int applied_ = 0;
};

}  // namespace kumo::test
