#include "executor/kubernetes/kube_config.h"

#include <gtest/gtest.h>

#include "test/support/temp_dir.h"

namespace kumo::executor::kube {
namespace {

TEST(KubeConfig, DecodeBase64) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(*DecodeBase64("aGk="), "hi");
  EXPECT_FALSE(DecodeBase64("aGk"));
  EXPECT_FALSE(DecodeBase64("a*k="));
}

TEST(KubeConfig, CurrentContextWithTokenAndCaData) {
  ::kumo::testing::TempDir dir;
  std::string path = dir.Write("kubeconfig", R"(apiVersion: v1
kind: Config
current-context: test
contexts:
  - name: other
    context: {cluster: nowhere, user: nobody}
  - name: test
    context: {cluster: kwok, user: kumo}
clusters:
  - name: kwok
    cluster:
      server: https://127.0.0.1:36443
      certificate-authority-data: UEVNLUNB
users:
  - name: kumo
    user: {token: s3cret}
)");
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, "36443");
  EXPECT_EQ(c->ca_pem, "PEM-CA");
  EXPECT_EQ(c->token, "s3cret");
}

TEST(KubeConfig, ClientCertificateFilesRelativeToTheKubeconfig) {
  ::kumo::testing::TempDir dir;
  dir.Write("ca.crt", "CA");
  dir.Write("admin.crt", "CERT");
  dir.Write("admin.key", "KEY");
  std::string path = dir.Write("kubeconfig", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://[::1]:6443", certificate-authority: ca.crt}}]
users: [{name: u, user: {client-certificate: admin.crt, client-key: admin.key}}]
)");
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, "6443");
  EXPECT_EQ(c->ca_pem, "CA");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
}

// A server URL without a port (as EKS and GKE write them) is https's own, 443.
TEST(KubeConfig, AServerWithoutAPortIsOn443) {
  ::kumo::testing::TempDir dir;
  std::string path = dir.Write("kubeconfig", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://ABCD.gr7.eu-west-1.eks.amazonaws.com"}}]
users: [{name: u, user: {token: t}}]
)");
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->host, "ABCD.gr7.eu-west-1.eks.amazonaws.com");
  EXPECT_EQ(c->port, "443");
}

TEST(KubeConfig, ErrorsNameTheField) {
  ::kumo::testing::TempDir dir;
  std::string path = dir.Write("kubeconfig", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080"}}]
users: [{name: u, user: {token: t}}]
)");
  auto plain = LoadKubeconfig(path);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message().find("clusters[k].cluster.server: must be an https:// URL"),
            std::string::npos)
      << plain.error().message();
  dir.Write("kubeconfig", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {}}]
)");
  auto anonymous = LoadKubeconfig(path);
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().message().find("users[u].user: no token"), std::string::npos);
  dir.Write("kubeconfig", "current-context: missing\ncontexts: []\n");
  EXPECT_FALSE(LoadKubeconfig(path));
}

}  // namespace
}  // namespace kumo::executor::kube
