// deploy/kubernetes/ against a real API server (scripts/k8s-testenv): every object passes
// `kubectl apply --dry-run=server` (admission, defaulting and strict field validation: an
// unknown or misspelt field fails), then applies for real, and the RBAC it grants is checked
// with `kubectl auth can-i --as` the ServiceAccounts: kumo can do what its executor needs in
// kumo-jobs and nothing more — above all, it cannot read Secrets.
#include <gtest/gtest.h>

#include <string>

#include "test/support/k8s_testenv.h"

namespace kumo::test {
namespace {

constexpr const char* kKumo = "system:serviceaccount:kumo:kumo";
constexpr const char* kCache = "system:serviceaccount:kumo:kumo-cache";

class ManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.Start());
    std::string out;
    // Namespaced objects can be dry-run only into namespaces that exist.
    ASSERT_EQ(
        env_.Kubectl({"apply", "-f", std::string(KUMO_DEPLOY_DIR) + "/00-namespaces.yaml"}, &out),
        0)
        << out;
  }

  // "yes" or "no": may `as` do `verb` on `resource` (in `ns`; "" = cluster-wide)? A
  // subresource is written "pods/binding" here and passed as --subresource: kubectl reads
  // "pods/binding" itself as the pod named "binding".
  std::string CanI(const std::string& as, const std::string& verb, const std::string& resource,
                   const std::string& ns) {
    size_t slash = resource.find('/');
    bool sub = slash != std::string::npos && slash != 0;  // not a URL like /openid/v1/jwks
    std::vector<std::string> args = {
        "auth", "can-i", verb, sub ? resource.substr(0, slash) : resource, "--as", as};
    if (sub) args.push_back("--subresource=" + resource.substr(slash + 1));
    if (ns.empty()) {
      args.push_back("--all-namespaces");
    } else {
      args.insert(args.end(), {"-n", ns});
    }
    std::string out;
    env_.Kubectl(args, &out);  // exit code 1 means "no"; the answer is on stdout
    return out.substr(0, out.find('\n'));
  }

  K8sTestEnv env_;
};

TEST_F(ManifestsTest, EveryManifestPassesServerSideDryRunAndApplies) {
  std::string out;
  ASSERT_EQ(env_.Kubectl({"apply", "--dry-run=server", "-f", KUMO_DEPLOY_DIR}, &out), 0) << out;
  EXPECT_NE(out.find("deployment.apps/kumo-server created (server dry run)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("daemonset.apps/kumo-cache created (server dry run)"), std::string::npos)
      << out;
  // Nothing was created by the dry run.
  EXPECT_NE(env_.Kubectl({"get", "deployment", "kumo-server", "-n", "kumo"}, &out), 0) << out;

  ASSERT_EQ(env_.Kubectl({"apply", "-f", KUMO_DEPLOY_DIR}, &out), 0) << out;
  ASSERT_EQ(env_.Kubectl({"get", "deployment", "kumo-server", "-n", "kumo", "-o",
                          "jsonpath={.spec.replicas} {.spec.strategy.type}"},
                         &out),
            0);
  EXPECT_EQ(out, "1 Recreate");
  ASSERT_EQ(
      env_.Kubectl(
          {"get", "service", "kumo-cache", "-n", "kumo", "-o", "jsonpath={.spec.clusterIP}"}, &out),
      0);
  EXPECT_EQ(out, "None");  // headless
}

TEST_F(ManifestsTest, KumoCanRunPodsInItsJobNamespaceButReadsNoSecret) {
  std::string out;
  ASSERT_EQ(env_.Kubectl({"apply", "-f", std::string(KUMO_DEPLOY_DIR) + "/10-serviceaccounts.yaml",
                          "-f", std::string(KUMO_DEPLOY_DIR) + "/20-rbac.yaml"},
                         &out),
            0)
      << out;
  // What the executor needs, each verb of deploy/kubernetes/20-rbac.yaml.
  for (const char* verb : {"create", "delete", "get", "list", "watch"})
    EXPECT_EQ(CanI(kKumo, verb, "pods", "kumo-jobs"), "yes") << verb << " pods";
  EXPECT_EQ(CanI(kKumo, "create", "pods/binding", "kumo-jobs"), "yes");
  EXPECT_EQ(CanI(kKumo, "patch", "pods/status", "kumo-jobs"), "yes");
  EXPECT_EQ(CanI(kKumo, "create", "services", "kumo-jobs"), "yes");
  EXPECT_EQ(CanI(kKumo, "create", "events", "kumo-jobs"), "yes");
  EXPECT_EQ(CanI(kKumo, "get", "persistentvolumeclaims", "kumo-jobs"), "yes");
  for (const char* verb : {"get", "list", "watch"})
    EXPECT_EQ(CanI(kKumo, verb, "nodes", ""), "yes") << verb << " nodes";
  EXPECT_EQ(CanI(kKumo, "list", "pods", ""), "yes");  // other pods use capacity too

  // And nothing more.
  for (const char* verb : {"get", "list", "watch"}) {
    EXPECT_EQ(CanI(kKumo, verb, "secrets", "kumo-jobs"), "no") << verb << " secrets";
    EXPECT_EQ(CanI(kKumo, verb, "secrets", "kumo"), "no") << verb << " secrets";
    EXPECT_EQ(CanI(kKumo, verb, "secrets", ""), "no") << verb << " secrets";
  }
  EXPECT_EQ(CanI(kKumo, "create", "pods", "default"), "no");
  EXPECT_EQ(CanI(kKumo, "delete", "pods", "default"), "no");
  EXPECT_EQ(CanI(kKumo, "update", "pods", "kumo-jobs"), "no");
  EXPECT_EQ(CanI(kKumo, "update", "nodes", ""), "no");
  EXPECT_EQ(CanI(kKumo, "delete", "nodes", ""), "no");
  EXPECT_EQ(CanI(kKumo, "create", "pods/exec", "kumo-jobs"), "no");
  EXPECT_EQ(CanI(kKumo, "create", "persistentvolumeclaims", "kumo-jobs"), "no");
  EXPECT_EQ(CanI(kKumo, "create", "rolebindings", "kumo-jobs"), "no");

  // The cache's refresher: its endpoints and the cluster's keys, nothing else.
  EXPECT_EQ(CanI(kCache, "list", "endpointslices.discovery.k8s.io", "kumo"), "yes");
  EXPECT_EQ(CanI(kCache, "get", "/openid/v1/jwks", ""), "yes");
  EXPECT_EQ(CanI(kCache, "get", "secrets", "kumo"), "no");
  EXPECT_EQ(CanI(kCache, "list", "pods", "kumo"), "no");
}

}  // namespace
}  // namespace kumo::test
