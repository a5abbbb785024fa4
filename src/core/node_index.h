// NodeIndex: the snapshot's nodes as one pass sees them (internal to the core).
//
// Build() validates the nodes and topology and loads them into a ClusterState: nodes in
// topology order (by domain path, then input order), one Domain per (level, path prefix) plus
// blocks of at most SchedulerConfig::block_size nodes, and the aggregates over them. The index
// keeps what the rest of the pass looks nodes up by: names, interned GPU models, level names,
// and per-job eligibility tables (node selector, taints, GPU models), memoized because many
// jobs share them.
//
// Not thread-safe; one per pass.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "core/cluster_state.h"
#include "core/gang_placer.h"
#include "core/snapshot.h"

namespace kumo::core::internal {

// Which nodes a task group may use, by node id (see TaskDemand for the meaning of each table).
struct Eligibility {
  const std::vector<uint8_t>* eligible = nullptr;
  const std::vector<uint8_t>* prefer_no = nullptr;  // nullptr: no node has such a taint
  const std::vector<uint8_t>* model_ok = nullptr;   // nullptr: any model
  bool every_node = false;
  int32_t eligible_nodes = 0;
};

class NodeIndex {
 public:
  // Fails (InvalidArgument) on duplicate or empty names, a topology path of the wrong length, a
  // reserved level name, negative allocatable, duplicate GPU indices, too many extended
  // resources. On success `state` holds every node, domain and aggregate.
  // REQUIRES: block_size >= 1; `snap` outlives the index.
  Status Build(const Snapshot& snap, int32_t block_size, ClusterState* state);

  // Internal node id, or -1.
  int32_t NodeId(const std::string& name) const;
  // A task placement of the snapshot (a running task, or a carried reservation) in internal
  // form; nullopt with *why set when it names an unknown group, node or GPU.
  std::optional<PlacedTask> ToPlacedTask(const Job& job, const TaskPlacement& tp,
                                         std::string* why) const;
  // The tables for group `g` of `job`; they live as long as the index.
  Eligibility EligibilityOf(const Job& job, const TaskGroup& g);

  // Interned GPU model ids by name, dense from 0.
  const std::unordered_map<std::string, int32_t>& models() const { return model_by_name_; }
  // Level names by level index: "cluster", then Snapshot::topology_levels.
  const std::vector<std::string>& level_names() const { return level_names_; }
  // Total allocatable of schedulable nodes (gpu = GPUs x 1000).
  const ResourceVector& capacity() const { return capacity_; }

 private:
  struct EligEntry {
    std::vector<uint8_t> eligible, prefer_no, model_ok;
    bool has_model_filter = false;
    bool has_prefer_no = false;
    int32_t count = 0;
  };
  Status LoadNode(size_t i, int32_t levels, std::vector<int32_t>* path);
  void BuildDomains(const std::vector<std::vector<int32_t>>& path, int32_t block_size);
  void FillEligibility(const Job& job, const TaskGroup& g, EligEntry* e) const;

  const Snapshot* snap_ = nullptr;
  ClusterState* state_ = nullptr;
  std::unordered_map<std::string, int32_t> node_by_name_;
  std::unordered_map<std::string, int32_t> model_by_name_;
  // Domain key per level -> first-appearance id, so the order is the input's, deterministic.
  std::vector<std::unordered_map<std::string, int32_t>> level_ids_;
  std::vector<std::string> level_names_;
  ResourceVector capacity_;
  std::map<std::string, EligEntry> elig_cache_;
};

}  // namespace kumo::core::internal
