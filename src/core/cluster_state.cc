#include "core/cluster_state.h"

#include <cassert>

namespace kumo::core::internal {

void ClusterState::AddToAggregates(int32_t n, int sign) {
  const NodeRt& node = nodes[n];
  if (!node.schedulable) return;
  const int64_t gpu = sign * node.free[kGpu], whole = sign * node.whole_free,
                cpu = sign * node.free[kCpu], mem = sign * node.free[kMemory];
  const bool any_hold = node.hold[kGpu] != 0 || node.hold[kCpu] != 0 || node.hold[kMemory] != 0;
  const size_t w = static_cast<size_t>(node.whole_free < 0 ? 0 : node.whole_free);
  for (int32_t d : block_ancestors[node.block]) {
    Domain& dom = domains[d];
    dom.free_gpu_milli += gpu;
    dom.free_whole_gpus += whole;
    dom.free_cpu += cpu;
    dom.free_memory += mem;
    if (any_hold) {
      dom.held_gpu_milli += sign * node.hold[kGpu];
      dom.held_cpu += sign * node.hold[kCpu];
      dom.held_memory += sign * node.hold[kMemory];
    }
    dom.nodes_by_whole_free[w] += sign;
  }
}

void ClusterState::RebuildAggregates() {
  for (Domain& d : domains) {
    d.free_gpu_milli = d.free_whole_gpus = d.free_cpu = d.free_memory = 0;
    d.held_gpu_milli = d.held_cpu = d.held_memory = 0;
    d.nodes_by_whole_free.assign(max_gpus_per_node + 1, 0);
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    NodeRt& node = nodes[n];
    node.whole_free = 0;
    node.free[kGpu] = 0;
    for (const GpuSlot& s : node.gpus) {
      node.free[kGpu] += s.free;
      if (s.free == kMilliPerGpu) ++node.whole_free;
    }
    AddToAggregates(static_cast<int32_t>(n), +1);
  }
}

void ClusterState::BeginChange(int32_t n) {
  NodeRt& node = nodes[n];
  journal_.push_back(
      Entry{n, node.free, node.term, node.hold, node.whole_free, slot_backup_.size()});
  slot_backup_.insert(slot_backup_.end(), node.gpus.begin(), node.gpus.end());
  AddToAggregates(n, -1);
}

void ClusterState::EndChange(int32_t n) {
  NodeRt& node = nodes[n];
  node.free[kGpu] = 0;
  node.term[kGpu] = 0;
  node.hold[kGpu] = 0;
  node.whole_free = 0;
  for (const GpuSlot& s : node.gpus) {
    node.free[kGpu] += s.free;
    node.term[kGpu] += s.term;
    node.hold[kGpu] += s.hold;
    if (s.free == kMilliPerGpu) ++node.whole_free;
  }
  AddToAggregates(n, +1);
}

void ClusterState::Rollback(size_t mark) {
  assert(mark <= journal_.size());
  while (journal_.size() > mark) {
    const Entry& e = journal_.back();
    NodeRt& node = nodes[e.node];
    AddToAggregates(e.node, -1);
    node.free = e.free;
    node.term = e.term;
    node.hold = e.hold;
    node.whole_free = e.whole_free;
    for (size_t i = 0; i < node.gpus.size(); ++i) node.gpus[i] = slot_backup_[e.slot_offset + i];
    AddToAggregates(e.node, +1);
    slot_backup_.resize(e.slot_offset);
    journal_.pop_back();
  }
}

}  // namespace kumo::core::internal
