// The informer's list in pages (executor/kubernetes/informer.h) against the real apiserver: a
// collection larger than the client's 64 MiB body limit syncs, page by page.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "executor/kubernetes/informer.h"
#include "executor/kubernetes/kube_client.h"
#include "executor/kubernetes/kube_config.h"
#include "test/support/k8s_testenv.h"

namespace kumo::testing {
namespace {
using nlohmann::json;
namespace kube = executor::kube;

// 70 ConfigMaps of 1,000,000 bytes each (the apiserver allows a ConfigMap up to 1 MiB): 70 MB,
// more than the 64 MiB (67,108,864 bytes) a single answer may carry. Listed in one answer, the
// informer never syncs; in pages of 8 (about 8 MB each) it does.
TEST(InformerPagingTest, ACollectionLargerThanOneAnswerIsListedInPages) {
  test::K8sTestEnv env;
  ASSERT_TRUE(env.Start());
  auto kc = kube::LoadKubeconfig(env.kubeconfig());
  ASSERT_TRUE(kc) << kc.error().message();
  kube::KubeClient client(*kc);
  const std::string collection = "/api/v1/namespaces/" + env.namespace_name() + "/configmaps";
  constexpr int kMaps = 70;
  const std::string megabyte(1000000, 'x');
  kube::KubeClient::Session session;
  for (int i = 0; i < kMaps; ++i) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "big-" + std::to_string(i)}}},
               {"data", {{"blob", megabyte}}}};
    auto r = client.Call(session, kube::Verb::kPost, collection, &cm);
    ASSERT_TRUE(r && r->ok()) << i << ": " << (r ? kube::ErrorText(*r) : r.error().message());
  }

  kube::Informer informer(client, collection, "", nullptr, 60, {}, /*list_page_size=*/8);
  informer.Start();
  ASSERT_TRUE(informer.WaitSynced(120));
  // The ServiceAccount controller's kube-root-ca.crt is in the namespace too.
  EXPECT_GE(informer.Items().size(), static_cast<size_t>(kMaps));
  EXPECT_TRUE(informer.Get(env.namespace_name() + "/big-69").has_value());
  EXPECT_EQ(informer.lists(), 1u);
  EXPECT_GE(informer.list_pages(), 9u);  // 71 objects, 8 a page
  informer.Stop();
}

}  // namespace
}  // namespace kumo::testing
