#include "executor/kubernetes/kubernetes_config.h"

#include <gtest/gtest.h>

namespace kumo::executor::kube {
namespace {

Status Parse(const std::string& yaml, KubernetesConfig* c) {
  return ParseKubernetesConfig(YAML::Load(yaml)["kubernetes"], "/etc/kumo/server.yaml", c);
}

TEST(KubernetesConfig, EveryField) {
  KubernetesConfig c;
  Status s = Parse(R"(kubernetes:
  kubeconfig: kube/config
  namespace: ml
  schedulerName: kumo-test
  dataClaim: kumo-data
  dataMount: /data
  masterPort: 23456
  gpuResource: amd.com/gpu
  gpuModelLabel: amd.com/gpu.product
  topology: [{level: zone, label: topology.kubernetes.io/zone}, {level: leaf, label: example.org/leaf}]
  extendedResources: [rdma/hca]
  notReadyGraceSeconds: 5
  endedPodTtlSeconds: 60
)",
                   &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.kubeconfig, "/etc/kumo/kube/config");  // relative to the config file
  EXPECT_EQ(c.pods.namespace_name, "ml");
  EXPECT_EQ(c.pods.scheduler_name, "kumo-test");
  EXPECT_EQ(c.pods.data_claim, "kumo-data");
  EXPECT_EQ(c.pods.data_mount, "/data");
  EXPECT_EQ(c.pods.master_port, 23456);
  EXPECT_EQ(c.pods.gpu_resource, "amd.com/gpu");
  EXPECT_EQ(c.cluster.gpu_resource, "amd.com/gpu");
  EXPECT_EQ(c.cluster.gpu_model_label, "amd.com/gpu.product");
  EXPECT_EQ(c.topology_levels, (std::vector<std::string>{"zone", "leaf"}));
  EXPECT_EQ(c.cluster.topology_labels,
            (std::vector<std::string>{"topology.kubernetes.io/zone", "example.org/leaf"}));
  EXPECT_EQ(c.cluster.extended_resources, std::vector<std::string>{"rdma/hca"});
  EXPECT_EQ(c.not_ready_grace_s, 5);
  EXPECT_EQ(c.ended_pod_ttl_s, 60);
}

TEST(KubernetesConfig, ErrorsNameFileLineAndField) {
  KubernetesConfig c;
  Status unknown = Parse("kubernetes:\n  namespce: ml\n", &c);
  EXPECT_EQ(unknown.message(), "/etc/kumo/server.yaml:2: kubernetes.namespce: unknown field");
  Status label = Parse("kubernetes:\n  topology:\n    - {level: zone}\n", &c);
  EXPECT_EQ(label.message(), "/etc/kumo/server.yaml:3: kubernetes.topology[0].label: required");
  Status port = Parse("kubernetes:\n  masterPort: 0\n", &c);
  EXPECT_EQ(port.message(), "/etc/kumo/server.yaml:2: kubernetes.masterPort: must be in 1..65535");
}

TEST(KubernetesConfig, NodeSelectorFromTheFileAndTheFlag) {
  KubernetesConfig c;
  Status s = Parse("kubernetes:\n  nodeSelector: {kumo.dev/pool: training, zone: a}\n", &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.node_selector, (std::map<std::string, std::string>{{"kumo.dev/pool", "training"},
                                                                 {"zone", "a"}}));
  s = Parse("kubernetes:\n  nodeSelector: [a]\n", &c);
  EXPECT_EQ(s.message(), "/etc/kumo/server.yaml:2: kubernetes.nodeSelector: expected a mapping of labels");

  auto flag = ParseNodeSelector("kumo.dev/pool=training,empty=");
  ASSERT_TRUE(flag) << flag.error().message();
  EXPECT_EQ(*flag, (std::map<std::string, std::string>{{"kumo.dev/pool", "training"}, {"empty", ""}}));
  EXPECT_TRUE(ParseNodeSelector("")->empty());
  auto bad = ParseNodeSelector("a=1,zone");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "node selector \"zone\": expected key=value");
  EXPECT_FALSE(ParseNodeSelector("=v"));
}

}  // namespace
}  // namespace kumo::executor::kube
