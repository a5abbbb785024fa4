#include "executor/kubernetes/cluster_view.h"

#include <gtest/gtest.h>

namespace kumo::executor::kube {
namespace {
using nlohmann::json;

json Node(const std::string& name, bool ready = true) {
  return {{"metadata",
           {{"name", name},
            {"labels",
             {{"nvidia.com/gpu.product", "A100-SXM4-80GB"},
              {"topology.kubernetes.io/zone", "z1"},
              {"example.org/leaf", "leaf-3"}}}}},
          {"spec", {{"taints", {{{"key", "dedicated"}, {"value", "ml"}, {"effect", "NoSchedule"}}}}}},
          {"status",
           {{"allocatable",
             {{"cpu", "32"}, {"memory", "128Gi"}, {"nvidia.com/gpu", "4"}, {"rdma/hca", "2"},
              {"pods", "110"}}},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

json Pod(const std::string& node, json requests, json labels = json::object(),
         std::string phase = "Running") {
  return {{"metadata", {{"name", "p"}, {"namespace", "other"}, {"labels", labels}}},
          {"spec",
           {{"nodeName", node}, {"containers", {{{"name", "c"}, {"resources", {{"requests", requests}}}}}}}},
          {"status", {{"phase", phase}}}};
}

ClusterOptions Options() {
  ClusterOptions o;
  o.topology_labels = {"topology.kubernetes.io/zone", "example.org/leaf"};
  o.extended_resources = {"rdma/hca"};
  return o;
}

TEST(ClusterView, NodeObjectBecomesCoreNode) {
  auto nodes = NodesFromObjects({Node("gpu-0")}, {}, Options());
  ASSERT_EQ(nodes.size(), 1u);
  const core::Node& n = nodes[0];
  EXPECT_EQ(n.name, "gpu-0");
  EXPECT_EQ(n.allocatable[core::kCpu], 32000);                  // milli-cores
  EXPECT_EQ(n.allocatable[core::kMemory], int64_t{128} << 30);  // bytes
  EXPECT_EQ(n.allocatable[core::kExtended0], 2);                // rdma/hca, slot 0
  ASSERT_EQ(n.gpus.size(), 4u);
  EXPECT_EQ(n.gpus[3].index, 3);
  EXPECT_EQ(n.gpus[3].model, "A100-SXM4-80GB");
  EXPECT_EQ(n.topology, (std::vector<std::string>{"z1", "leaf-3"}));
  ASSERT_EQ(n.taints.size(), 1u);
  EXPECT_EQ(n.taints[0].key, "dedicated");
  EXPECT_EQ(n.taints[0].effect, core::TaintEffect::kNoSchedule);
  EXPECT_FALSE(n.unschedulable);
}

TEST(ClusterView, CordonedAndNotReadyNodesTakeNoNewWork) {
  json cordoned = Node("a");
  cordoned["spec"]["unschedulable"] = true;
  auto nodes = NodesFromObjects({cordoned, Node("b", /*ready=*/false), Node("c")}, {}, Options());
  EXPECT_TRUE(nodes[0].unschedulable);
  EXPECT_TRUE(nodes[1].unschedulable);
  EXPECT_FALSE(nodes[2].unschedulable);
  // The lifecycle controller's taints for the same facts are not counted twice.
  json tainted = Node("e");
  tainted["spec"]["taints"].push_back({{"key", "node.kubernetes.io/not-ready"}, {"effect", "NoSchedule"}});
  EXPECT_EQ(NodesFromObjects({tainted}, {}, Options())[0].taints.size(), 1u);  // "dedicated" only
  json no_conditions = Node("d");
  no_conditions["status"].erase("conditions");
  EXPECT_FALSE(NodeReady(no_conditions));
}

TEST(ClusterView, PodsKumoDoesNotManageTakeCapacity) {
  std::vector<json> pods = {
      // Someone else's training pod: 8 cores, 16 GiB, 1 GPU, one HCA.
      Pod("gpu-0", {{"cpu", "8"}, {"memory", "16Gi"}, {"nvidia.com/gpu", "1"}, {"rdma/hca", "1"}}),
      // A finished pod holds nothing.
      Pod("gpu-0", {{"cpu", "8"}}, json::object(), "Succeeded"),
      // kumo's own pods are accounted by the core from its placements, not here.
      Pod("gpu-0", {{"cpu", "8"}, {"nvidia.com/gpu", "2"}}, {{kLabelJob, "12"}}),
      // Pending, not bound: on no node yet.
      Pod("", {{"cpu", "8"}}),
  };
  auto nodes = NodesFromObjects({Node("gpu-0")}, pods, Options());
  EXPECT_EQ(nodes[0].allocatable[core::kCpu], 24000);
  EXPECT_EQ(nodes[0].allocatable[core::kMemory], int64_t{112} << 30);
  EXPECT_EQ(nodes[0].allocatable[core::kExtended0], 1);
  EXPECT_EQ(nodes[0].gpus.size(), 3u);  // GPU 3 taken (the top index)
}

TEST(ClusterView, MissingLabelsAndQuantities) {
  json bare = {{"metadata", {{"name", "cpu-only"}}},
               {"status",
                {{"allocatable", {{"cpu", "500m"}, {"memory", "1000Ki"}}},
                 {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  auto nodes = NodesFromObjects({bare}, {}, Options());
  EXPECT_EQ(nodes[0].allocatable[core::kCpu], 500);
  EXPECT_EQ(nodes[0].allocatable[core::kMemory], 1024000);
  EXPECT_TRUE(nodes[0].gpus.empty());
  EXPECT_EQ(nodes[0].topology, (std::vector<std::string>{"none", "none"}));
}

}  // namespace
}  // namespace kumo::executor::kube
