// ClusterState: the scheduler's mutable view of free resources during one pass.
//
// Internal to the core. Nodes are kept in topology order (grouped by domain at every level)
// and cut into blocks of at most SchedulerConfig::block_size nodes; every domain covers a
// contiguous range of blocks and nodes, and keeps aggregates of what is free in it so that a
// search can skip whole leaves and spines that cannot hold a task.
//
// Every change is journaled; Mark()/Rollback() undo tentative gang placements, preemption
// trials and reservation probes without copying the cluster.
//
// Each node (and each GPU) tracks three quantities:
//   free  -- unused now;
//   term  -- used by terminating tasks, free once they have exited;
//   hold  -- part of `free` kept for the EASY reservation: a job that would still run at the
//            reserved time may not use it (it would delay the reservation); a job that ends
//            before then may, and using it lowers the hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/resources.h"

namespace kumo::core::internal {

struct GpuSlot {
  int32_t free = 0;  // milli-GPU
  int32_t term = 0;
  int32_t hold = 0;
  int32_t model = 0;  // interned model id
  int32_t nvlink_group = 0;
  int32_t index = 0;  // device index
};

struct NodeRt {
  int32_t snapshot_index = 0;  // index in Snapshot::nodes
  int32_t block = 0;
  bool schedulable = true;
  ResourceVector capacity;  // cpu, memory, extended; gpu = GPUs x 1000
  ResourceVector free;      // gpu component = sum of slot.free
  ResourceVector term;
  ResourceVector hold;
  std::vector<GpuSlot> gpus;
  int32_t whole_free = 0;  // GPUs with free == 1000 (whole, unshared)
};

// How a placement may use a node's resources.
enum class Use {
  kNow,        // free minus hold: a job that would still run at the reserved time
  kShort,      // free including hold: a job that ends before the reserved time
  kAfterExit,  // free plus term: starts once terminating tasks have exited; takes term first
};

struct Domain {
  int32_t level = 0;  // 0 cluster; 1..L topology levels; L+1 blocks
  int32_t parent = -1;
  std::string name;
  int32_t block_begin = 0, block_end = 0;
  int32_t node_begin = 0, node_end = 0;  // positions in ClusterState::order
  // Aggregates over schedulable nodes, of `free` (upper bounds for kNow and kShort).
  int64_t free_gpu_milli = 0;
  int64_t free_whole_gpus = 0;
  int64_t free_cpu = 0;
  int64_t free_memory = 0;
  // Sums of `hold` (the part of free kept for the reservation).
  int64_t held_gpu_milli = 0, held_cpu = 0, held_memory = 0;
  std::vector<int32_t> nodes_by_whole_free;  // [w] = nodes with exactly w whole free GPUs
};

class ClusterState {
 public:
  std::vector<NodeRt> nodes;                          // by internal node id
  std::vector<int32_t> order;                         // topology order: position -> node id
  std::vector<Domain> domains;                        // 0 = cluster root
  std::vector<int32_t> block_domain;                  // block -> its domain id
  std::vector<std::vector<int32_t>> level_domains;    // level -> domain ids
  std::vector<std::vector<int32_t>> block_ancestors;  // block -> domain ids, root..block
  int32_t max_gpus_per_node = 0;

  // Recomputes every aggregate from the nodes. Call after the initial load.
  void RebuildAggregates();

  // Journal.
  size_t Mark() const { return journal_.size(); }
  void Rollback(size_t mark);
  // Forget undo information (the changes stay).
  void Commit() {
    journal_.clear();
    slot_backup_.clear();
  }

  // Saves node `n` into the journal and removes it from the aggregates. Must be followed by
  // EndChange(n) once the node's fields are updated.
  void BeginChange(int32_t n);
  void EndChange(int32_t n);

 private:
  struct Entry {
    int32_t node;
    ResourceVector free, term, hold;
    int32_t whole_free;
    size_t slot_offset;
  };
  void AddToAggregates(int32_t n, int sign);
  std::vector<Entry> journal_;
  std::vector<GpuSlot> slot_backup_;
};

}  // namespace kumo::core::internal
