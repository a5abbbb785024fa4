#include "executor/inventory.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include "test/support/temp_dir.h"

namespace kumo::executor {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

Inventory MustParse(const std::string& yaml) {
  auto inv = ParseInventory(yaml);
  EXPECT_TRUE(inv.has_value()) << (inv ? "" : inv.error().message());
  return inv ? *inv : Inventory{};
}

std::string ErrorOf(const std::string& yaml) {
  auto inv = ParseInventory(yaml);
  EXPECT_FALSE(inv.has_value()) << yaml;
  if (inv) return "";
  EXPECT_EQ(inv.error().code(), StatusCode::kInvalidArgument);
  return inv.error().message();
}

TEST(InventoryTest, ParsesTheHeaderExample) {
  Inventory inv = MustParse(R"(topologyLevels: [leaf]
nodes:
  - name: node-0
    cpu: 8
    memory: 32Gi
    gpus: {count: 4, model: A100, nvlinkGroups: 2}
    labels: {zone: a}
    taints: [{key: dedicated, value: ml, effect: NoSchedule}]
    topology: [leaf-0]
    extended: {rdma: 1}
  - {name: gpu, count: 3, cpu: 500m, memory: 512Mi, gpus: {count: 8}, topology: [leaf-1]}
)");
  ASSERT_EQ(inv.nodes.size(), 4u);
  EXPECT_EQ(inv.topology_levels, std::vector<std::string>{"leaf"});
  EXPECT_EQ(inv.extended_resources, std::vector<std::string>{"rdma"});

  const core::Node& n0 = inv.nodes[0];
  EXPECT_EQ(n0.name, "node-0");
  EXPECT_EQ(n0.allocatable[core::kCpu], 8000);
  EXPECT_EQ(n0.allocatable[core::kMemory], 32 * kGiB);
  EXPECT_EQ(n0.allocatable[core::kExtended0], 1);
  ASSERT_EQ(n0.gpus.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(n0.gpus[i].index, i);
    EXPECT_EQ(n0.gpus[i].model, "A100");
    EXPECT_EQ(n0.gpus[i].nvlink_group, i / 2);
  }
  ASSERT_EQ(n0.labels.size(), 1u);
  EXPECT_EQ(n0.labels[0], (core::Label{"zone", "a"}));
  ASSERT_EQ(n0.taints.size(), 1u);
  EXPECT_EQ(n0.taints[0].key, "dedicated");
  EXPECT_EQ(n0.taints[0].value, "ml");
  EXPECT_EQ(n0.taints[0].effect, core::TaintEffect::kNoSchedule);
  EXPECT_EQ(n0.topology, std::vector<std::string>{"leaf-0"});

  for (int i = 0; i < 3; ++i) {
    const core::Node& n = inv.nodes[1 + i];
    EXPECT_EQ(n.name, "gpu-" + std::to_string(i));
    EXPECT_EQ(n.allocatable[core::kCpu], 500);
    EXPECT_EQ(n.allocatable[core::kMemory], 512 << 20);
    EXPECT_EQ(n.allocatable[core::kExtended0], 0);
    ASSERT_EQ(n.gpus.size(), 8u);
    EXPECT_EQ(n.gpus[7].model, "fake-gpu");  // the default for emulated GPUs
    EXPECT_EQ(n.gpus[7].nvlink_group, 0);    // one group unless split
    EXPECT_EQ(n.topology, std::vector<std::string>{"leaf-1"});
  }
}

TEST(InventoryTest, LeafSizeGroupsExpandedNodesIntoLeaves) {
  Inventory inv = MustParse(R"(topologyLevels: [spine, leaf]
nodes:
  - {name: n, count: 5, leafSize: 2, cpu: 1, memory: 1Gi, topology: [spine-0, leaf]}
)");
  ASSERT_EQ(inv.nodes.size(), 5u);
  const char* leaves[] = {"leaf-0", "leaf-0", "leaf-1", "leaf-1", "leaf-2"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(inv.nodes[i].name, "n-" + std::to_string(i));
    EXPECT_EQ(inv.nodes[i].topology, (std::vector<std::string>{"spine-0", leaves[i]}));
  }
}

TEST(InventoryTest, ExtendedResourcesAreInternedInOrderOfFirstUse) {
  Inventory inv = MustParse(R"(nodes:
  - {name: a, cpu: 1, memory: 1Gi, extended: {rdma: 2}}
  - {name: b, cpu: 1, memory: 1Gi, extended: {mncore: 4, rdma: 1}}
  - {name: c, cpu: 1, memory: 1Gi, taints: [{key: k, effect: PreferNoSchedule}]}
)");
  EXPECT_EQ(inv.extended_resources, (std::vector<std::string>{"rdma", "mncore"}));
  EXPECT_EQ(inv.nodes[0].allocatable[core::kExtended0 + 0], 2);
  EXPECT_EQ(inv.nodes[1].allocatable[core::kExtended0 + 0], 1);
  EXPECT_EQ(inv.nodes[1].allocatable[core::kExtended0 + 1], 4);
  EXPECT_EQ(inv.nodes[2].taints[0].effect, core::TaintEffect::kPreferNoSchedule);
  EXPECT_TRUE(inv.topology_levels.empty());
  EXPECT_TRUE(inv.nodes[2].gpus.empty());
}

TEST(InventoryTest, ErrorsNameTheLineAndTheField) {
  const std::string head =
      "nodes:\n  - {name: a, cpu: 1, memory: 1Gi}\n  - {name: b, cpu: 1, memory: 1Gi}\n";
  EXPECT_EQ(ErrorOf(head + "  - {name: c, cpu: 1, memory: 1Gi, gpus: {count: x}}\n"),
            "line 4: nodes[2].gpus.count: must be a whole number from 0 to 1024 (got \"x\")");
  EXPECT_EQ(ErrorOf(head + "  - name: c\n    cpu: 1\n    memory: 1Gi\n    colour: red\n"),
            "line 7: nodes[2].colour: unknown field");
  EXPECT_EQ(
      ErrorOf(head + "  - {name: c, cpu: 1, memory: 1Gi, gpus: {count: 8, nvlinkGroups: 3}}\n"),
      "line 4: nodes[2].gpus.nvlinkGroups: 8 GPUs do not split into 3 equal groups");
  EXPECT_EQ(ErrorOf("nodes:\n  - {name: a, cpu: lots, memory: 1Gi}\n"),
            "line 2: nodes[0].cpu: must be a positive number of cores like 8, 0.5 or 500m (got "
            "\"lots\")");
  // An empty document is a null root without a mark: line 1, as YamlError counts it
  // (base/yaml_error.h).
  EXPECT_TRUE(ErrorOf("# only a comment\n").starts_with("line 1: the inventory must"))
      << ErrorOf("# only a comment\n");
}

TEST(InventoryTest, RejectsBadInventories) {
  auto has = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi}\n  - {name: a, cpu: 1, memory: 1Gi}\n"),
      "line 3: nodes[1].name: duplicate node name \"a\"");
  has(ErrorOf("nodes:\n  - {name: a, count: 2, cpu: 1, memory: 1Gi}\n"
              "  - {name: a-1, cpu: 1, memory: 1Gi}\n"),
      "duplicate node name \"a-1\"");
  has(ErrorOf("nodes:\n  - {cpu: 1, memory: 1Gi}\n"),
      "line 2: nodes[0].name: required field missing");
  has(ErrorOf("nodes:\n  - {name: a, memory: 1Gi}\n"), "nodes[0].cpu: required field missing");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gx}\n"), "nodes[0].memory:");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, count: 0}\n"), "nodes[0].count:");
  has(ErrorOf("nodes:\n  - {name: 'a b', cpu: 1, memory: 1Gi}\n"), "nodes[0].name: must use only");
  has(ErrorOf("nodes: []\n"), "line 1: nodes: must be a non-empty list");
  has(ErrorOf("topologyLevels: [leaf]\n"), "nodes: required field missing");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi}\nextra: 1\n"),
      "line 3: extra: unknown field");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, name: b}\n"),
      "nodes[0].name: field given twice");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, topology: [x]}\n"),
      "nodes[0].topology: the inventory declares no topologyLevels");
  has(ErrorOf("topologyLevels: [spine, leaf]\nnodes:\n  - {name: a, cpu: 1, memory: 1Gi, topology: "
              "[x]}\n"),
      "line 3: nodes[0].topology: needs one domain per topology level (2), got 1");
  has(ErrorOf("topologyLevels: [leaf]\nnodes:\n  - {name: a, cpu: 1, memory: 1Gi}\n"),
      "nodes[0].topology: required");
  has(ErrorOf("nodes:\n  - {name: a, count: 2, leafSize: 1, cpu: 1, memory: 1Gi}\n"),
      "nodes[0].leafSize: needs `topology`");
  has(ErrorOf(
          "nodes:\n  - {name: a, cpu: 1, memory: 1Gi, taints: [{key: k, effect: Sometimes}]}\n"),
      "nodes[0].taints[0].effect: must be NoSchedule");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, taints: [{effect: NoSchedule}]}\n"),
      "nodes[0].taints[0].key: required field missing");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, extended: {gpu: 1}}\n"),
      "nodes[0].extended.gpu: is a built-in resource");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, extended: {rdma: -1}}\n"),
      "nodes[0].extended.rdma: must be a whole number");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, extended: "
              "{e0: 1, e1: 1, e2: 1, e3: 1, e4: 1, e5: 1, e6: 1, e7: 1, e8: 1}}\n"),
      "nodes[0].extended.e8: too many extended resources (at most 8");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, gpus: 4}\n"),
      "nodes[0].gpus: must be a map");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, gpus: {model: A100}}\n"),
      "nodes[0].gpus.count: required field missing");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1, memory: 1Gi, count: 100001}\n"), "nodes[0].count:");
  has(ErrorOf("nodes:\n  - {name: a, cpu: 1\n"), "line ");  // YAML syntax error
  has(ErrorOf(""), "must be a map with a `nodes` list");
  has(ErrorOf("- a\n- b\n"), "must be a map with a `nodes` list");
  has(ErrorOf("topologyLevels: [node]\nnodes:\n  - {name: a, cpu: 1, memory: 1Gi}\n"),
      "topologyLevels: \"node\" is implicit");
}

TEST(InventoryTest, LoadInventoryFileReadsAndPrefixesThePath) {
  ::kumo::testing::TempDir tmp("kumo-inventory");
  const std::string& dir = tmp.path();
  const std::string good = dir + "/good.yaml", bad = dir + "/bad.yaml";
  std::ofstream(good) << "nodes:\n  - {name: a, count: 2, cpu: 2, memory: 4Gi}\n";
  std::ofstream(bad) << "nodes:\n  - {name: a, cpu: 2}\n";
  auto inv = LoadInventoryFile(good);
  ASSERT_TRUE(inv.has_value()) << inv.error().message();
  EXPECT_EQ(inv->nodes.size(), 2u);
  auto err = LoadInventoryFile(bad);
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().message(), bad + ":2: nodes[0].memory: required field missing");
  auto missing = LoadInventoryFile(dir + "/missing.yaml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST(InventoryTest, DetectLocalMachineDescribesThisHost) {
  Inventory inv = DetectLocalMachine();
  ASSERT_EQ(inv.nodes.size(), 1u);
  const core::Node& n = inv.nodes[0];
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(n.name, host);
  EXPECT_EQ(n.allocatable[core::kCpu], sysconf(_SC_NPROCESSORS_ONLN) * 1000);
  EXPECT_GT(n.allocatable[core::kMemory], 0);
  // This machine has no nvidia-smi; where one exists, GPUs are listed by index.
  for (size_t i = 0; i < n.gpus.size(); ++i) EXPECT_FALSE(n.gpus[i].model.empty());
  EXPECT_TRUE(inv.topology_levels.empty());
}

}  // namespace
}  // namespace kumo::executor
