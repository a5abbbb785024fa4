// Inventory: the nodes the local executor offers to the scheduler.
//
// Either this machine as it is (cpus, memory, NVIDIA GPUs from `nvidia-smi` if present) or an
// inventory file that declares several emulated nodes with fake GPUs, for development and tests.
// Tasks on an emulated node run on this machine; the scheduler accounts each node separately.
//
// Inventory file (YAML):
//   topologyLevels: [leaf]            # optional
//   nodes:
//     - name: node-0
//       cpu: 8                        # cores ("500m" allowed)
//       memory: 32Gi
//       gpus: {count: 4, model: A100, nvlinkGroups: 2}   # optional
//       labels: {zone: a}
//       taints: [{key: dedicated, value: ml, effect: NoSchedule}]
//       topology: [leaf-0]            # one domain per topology level
//       extended: {rdma: 1}
//     - {name: gpu, count: 64, cpu: 8, memory: 32Gi, gpus: {count: 8}}
// `count: N` expands an entry into N nodes named <name>-0 .. <name>-(N-1); with topology given,
// `leafSize: K` (optional) puts consecutive groups of K expanded nodes in leaf-0, leaf-1, ...
// Errors name the line and field, like job specs.
#pragma once

#include <string>
#include <vector>

#include "core/snapshot.h"
#include "base/status.h"

namespace kumo::executor {

struct Inventory {
  std::vector<std::string> topology_levels;
  std::vector<std::string> extended_resources;
  std::vector<core::Node> nodes;
};

Result<Inventory> ParseInventory(std::string_view yaml_text);
Result<Inventory> LoadInventoryFile(const std::string& path);
// This machine: one node named after the host name, all cpus and memory, nvidia-smi GPUs.
Inventory DetectLocalMachine();

}  // namespace kumo::executor
