// deploy/kubernetes/ against a real API server (scripts/k8s-testenv): every object passes
// `kubectl apply --dry-run=server` (admission, defaulting and strict field validation: an
// unknown or misspelt field fails), then applies for real, and the RBAC it grants is checked
// with `kubectl auth can-i --as` the ServiceAccounts: kumo can do what its executor needs in
// kumo-jobs and nothing more — above all, it cannot read Secrets.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test/support/k8s_testenv.h"

namespace kumo::test {
namespace {

constexpr const char* kKumo = "system:serviceaccount:kumo:kumo";
constexpr const char* kCache = "system:serviceaccount:kumo:kumo-cache";

class ManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.Start(K8sTestEnv::Plane::kOwn));  // cluster-wide objects: namespaces, roles
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
  struct Question {
    const char *verb, *resource, *ns, *answer;  // ns "": every namespace
  };
  const Question kQuestions[] = {
      // What the executor needs: each verb of deploy/kubernetes/20-rbac.yaml.
      {"create", "pods", "kumo-jobs", "yes"},
      {"delete", "pods", "kumo-jobs", "yes"},
      {"get", "pods", "kumo-jobs", "yes"},
      {"list", "pods", "kumo-jobs", "yes"},
      {"watch", "pods", "kumo-jobs", "yes"},
      {"create", "pods/binding", "kumo-jobs", "yes"},
      {"patch", "pods/status", "kumo-jobs", "yes"},
      {"create", "services", "kumo-jobs", "yes"},
      {"delete", "services", "kumo-jobs", "yes"},
      {"create", "events", "kumo-jobs", "yes"},
      {"get", "persistentvolumeclaims", "kumo-jobs", "yes"},
      {"get", "nodes", "", "yes"},
      {"list", "nodes", "", "yes"},
      {"watch", "nodes", "", "yes"},
      {"list", "pods", "", "yes"},  // other pods use capacity too
      // And nothing more: above all, no Secret anywhere.
      {"get", "secrets", "kumo-jobs", "no"},
      {"list", "secrets", "kumo-jobs", "no"},
      {"watch", "secrets", "kumo-jobs", "no"},
      {"get", "secrets", "kumo", "no"},
      {"list", "secrets", "", "no"},
      {"watch", "secrets", "", "no"},
      {"create", "pods", "default", "no"},
      {"delete", "pods", "default", "no"},
      {"update", "pods", "kumo-jobs", "no"},
      {"update", "nodes", "", "no"},
      {"delete", "nodes", "", "no"},
      {"create", "pods/exec", "kumo-jobs", "no"},
      {"create", "persistentvolumeclaims", "kumo-jobs", "no"},
      {"create", "rolebindings", "kumo-jobs", "no"},
  };
  for (const Question& q : kQuestions)
    EXPECT_EQ(CanI(kKumo, q.verb, q.resource, q.ns), q.answer)
        << "can kumo " << q.verb << " " << q.resource << " in '" << q.ns << "'?";

  // The cache's refresher: its endpoints and the cluster's keys, nothing else.
  EXPECT_EQ(CanI(kCache, "list", "endpointslices.discovery.k8s.io", "kumo"), "yes");
  EXPECT_EQ(CanI(kCache, "get", "/openid/v1/jwks", ""), "yes");
  EXPECT_EQ(CanI(kCache, "get", "secrets", "kumo"), "no");
  EXPECT_EQ(CanI(kCache, "list", "pods", "kumo"), "no");
}

// The cache DaemonSet's pieces, end to end: its refresher script (taken from the applied
// ConfigMap, run as the kumo-cache ServiceAccount) writes the member file from the Service's
// ready endpoints and the JWKS from the API server, and `kumo cache serve` started with the
// DaemonSet's flags, that ACL and those files accepts a projected-style token of a pod in
// kumo-jobs for a bucket the ACL lets it write, and refuses one it may not write.
TEST_F(ManifestsTest, TheCacheRefresherFeedsAKumoCacheThatTrustsClusterTokens) {
  namespace tp = cache::test_process;
  std::string out;
  ASSERT_EQ(env_.Kubectl({"apply", "-f", KUMO_DEPLOY_DIR}, &out), 0) << out;
  // What the endpointslice controller would publish for three cache pods, one not ready.
  ASSERT_EQ(env_.ApplyYaml(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kumo-cache-x1
  namespace: kumo
  labels: {kubernetes.io/service-name: kumo-cache}
addressType: IPv4
ports: [{name: http, port: 8470, protocol: TCP}]
endpoints:
- {addresses: [198.18.0.10], conditions: {ready: true}, nodeName: node-a}
- {addresses: [198.18.0.11], conditions: {ready: false}, nodeName: node-b}
- {addresses: [198.18.0.12], conditions: {ready: true}, nodeName: node-c}
)",
                           &out),
            0)
      << out;
  std::string dir = env_.dir();
  auto config = [&](const std::string& key) {
    std::string v;
    EXPECT_EQ(env_.Kubectl({"get", "configmap", "kumo-cache", "-n", "kumo", "-o",
                            "jsonpath={.data." + key + "}"},
                           &v),
              0)
        << v;
    return v;
  };
  tp::WriteAtomically(dir + "/refresh.sh", config("refresh\\.sh"));
  tp::WriteAtomically(dir + "/acl.yaml", config("acl\\.yaml"));

  // The refresher runs with the kumo-cache ServiceAccount's own token, so the RBAC is tested too.
  std::string token;
  ASSERT_EQ(env_.Kubectl({"create", "token", "kumo-cache", "-n", "kumo"}, &token), 0) << token;
  token.erase(token.find_last_not_of('\n') + 1);
  tp::WriteAtomically(dir + "/refresher.kubeconfig",
                      "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: '" +
                          env_.server() + "', certificate-authority: '" + env_.ca_file() +
                          "'}\nusers:\n- name: u\n  user: {token: '" + token +
                          "'}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                          "current-context: x\n");
  std::filesystem::create_directories(dir + "/run");
  std::string kubectl_dir = env_.kubectl().substr(0, env_.kubectl().rfind('/'));
  tp::SpawnOptions o;
  o.stdout_path = dir + "/refresh.log";
  o.env = {"REFRESH_ONCE=1", "REFRESH_DIR=" + dir + "/run",
           "KUBECONFIG=" + dir + "/refresher.kubeconfig", "PATH=" + kubectl_dir + ":/usr/bin:/bin"};
  ASSERT_EQ(tp::RunToExit({"/bin/sh", dir + "/refresh.sh"}, o), 0) << tp::ReadAll(o.stdout_path);
  EXPECT_EQ(tp::ReadAll(dir + "/run/members"),
            "node-a 198.18.0.10:8470\nnode-c 198.18.0.12:8470\n");

  std::filesystem::create_directories(dir + "/disk");
  tp::ServeProcess cache;
  ASSERT_TRUE(cache.Start(
      {"--dir", dir + "/disk", "--capacity", "1Mi", "--jwks", dir + "/run/jwks.json", "--acl",
       dir + "/acl.yaml", "--issuer", "https://kubernetes.default.svc.cluster.local", "--audience",
       "kumo-cache", "--members", dir + "/run/members", "--self", "node-a"},
      dir + "/cache.port", dir + "/cache.log"));
  EXPECT_EQ(tp::MetricValue(tp::Metrics(cache.port()), "kumo_cache_cluster_members"), 2u);

  ASSERT_EQ(env_.Kubectl({"create", "serviceaccount", "trainer", "-n", "kumo-jobs"}, &out), 0)
      << out;
  std::string trainer;
  ASSERT_EQ(
      env_.Kubectl({"create", "token", "trainer", "-n", "kumo-jobs", "--audience", "kumo-cache"},
                   &trainer),
      0)
      << trainer;
  trainer.erase(trainer.find_last_not_of('\n') + 1);
  auto put = [&](const std::string& bucket) {
    int fd = tp::ConnectLoopback(cache.port());
    EXPECT_GE(fd, 0);
    std::string buf;
    tp::HttpReply r;
    // Served here whoever owns the key under Maglev (the other member exists only on paper).
    EXPECT_TRUE(tp::SendAll(fd, "PUT /v1/objects/" + bucket +
                                    "/ckpt HTTP/1.1\r\nHost: t\r\nX-Kumo-No-Redirect: 1\r\n"
                                    "Authorization: Bearer " +
                                    trainer + "\r\nContent-Length: 2\r\n\r\nhi"));
    EXPECT_TRUE(tp::ReadReply(fd, &buf, false, &r));
    close(fd);
    return r.status;
  };
  EXPECT_EQ(put("checkpoints"), 201) << cache.Log();
  EXPECT_EQ(put("imagenet"), 403) << cache.Log();  // readable, not writable, by kumo-jobs
}

}  // namespace
}  // namespace kumo::test
