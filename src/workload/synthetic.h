// Seeded synthetic clusters and workloads, shared by the demo, the tests and the benchmarks.
// Deterministic for a given seed on every platform (own PRNG and integer transforms, no
// <random> distributions, whose output differs between standard libraries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/snapshot.h"

namespace kumo::workload {

// SplitMix64 (Steele, Lea, Flood, OOPSLA'14): small, fast, good enough for workloads.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

struct ClusterShape {
  int32_t nodes = 64;
  int32_t gpus_per_node = 8;
  int32_t nvlink_groups_per_node = 2;  // GPUs split evenly into this many NVLink groups
  int32_t nodes_per_leaf = 32;
  int32_t leaves_per_spine = 16;
  int64_t cpu_millis_per_node = 96'000;
  int64_t memory_bytes_per_node = 1024LL << 30;
  std::string gpu_model = "H100";
};

// Nodes "node-00000".., topology levels {"spine", "leaf"}.
core::Snapshot MakeCluster(const ClusterShape& shape);

struct WorkloadShape {
  uint64_t seed = 1;
  int32_t projects = 64;  // "proj-00".., weights 1..4
  // Fraction of GPUs already in use by running single-node jobs at the start.
  double busy_fraction = 0.5;
  int32_t pending_pods = 20'000;
  int32_t min_gang_pods = 1;
  int32_t max_gang_pods = 64;
  std::vector<int32_t> gpus_per_pod_choices = {1, 2, 4, 8};
  // Topology constraint on pending gangs of more than one pod ("" = none).
  std::string topology_level = "leaf";
  core::TopologyConstraint::Mode topology_mode = core::TopologyConstraint::Mode::kPreferred;
  core::Seconds max_runtime_min = 600;
  core::Seconds max_runtime_max = 4 * 3600;
};

// Adds projects, running jobs (busy_fraction of GPUs) and pending gangs to `snap`.
// Returns the number of pending pods added.
int64_t AddWorkload(core::Snapshot& snap, const WorkloadShape& shape);

}  // namespace kumo::workload
