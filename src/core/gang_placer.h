// GangPlacer: places all tasks of a job, or none (internal to the core).
#pragma once

#include <cstdint>
#include <vector>

#include "core/cluster_state.h"
#include "core/placement_policy.h"

namespace kumo::core::internal {

struct TaskDemand {
  int32_t group = 0;
  int32_t index = 0;
  ResourceVector res;  // cpu, memory, extended; gpu = total milli-GPU of the task
  int32_t whole = 0;   // whole GPUs
  int32_t share = 0;   // milli of one shared GPU (1..999), 0 if none
  const std::vector<uint8_t>* eligible =
      nullptr;  // by node id: static fit (labels, taints, models, size)
  const std::vector<uint8_t>* prefer_no =
      nullptr;                                     // by node id: untolerated PreferNoSchedule taint
  const std::vector<uint8_t>* model_ok = nullptr;  // by model id; nullptr = any model
  bool every_node = false;  // eligible on every node, any model: cluster aggregates describe it
  int32_t eligible_nodes = 0;
};

struct GangRequest {
  std::vector<TaskDemand> tasks;  // sorted largest first by the caller
  ResourceVector total;           // sum over tasks
  // Topology: level index into ClusterState levels (1..L), kNodeLevel for "one node", or 0.
  int32_t level = 0;
  bool required = false;
  static constexpr int32_t kNodeLevel = -1;
};

struct PlacedTask {
  int32_t group = 0;
  int32_t index = 0;
  int32_t node = 0;  // internal node id
  ResourceVector res;
  std::vector<std::pair<int32_t, int32_t>> slots;  // (slot position on node, milli)
};

class GangPlacer {
 public:
  GangPlacer(ClusterState& state, const PlacementPolicy& policy, int32_t max_domain_attempts)
      : s_(state), policy_(policy), max_domain_attempts_(max_domain_attempts) {}

  // On success appends one PlacedTask per task to *out and leaves the placement in the state
  // (journaled). On failure the state is unchanged.
  // all_domains: try every candidate domain of a topology constraint, not only the first
  // max_domain_attempts (used for nominated jobs, whose placement must not be missed).
  bool Place(const GangRequest& gang, Use use, std::vector<PlacedTask>* out,
             bool all_domains = false);

  // Milli-GPU and cpu taken from terminating tasks (Use::kAfterExit) by the last successful
  // Place; 0 means the placement used only free resources and can start now.
  int64_t term_taken() const { return term_taken_; }

  // Per GPU model id: pending demand from jobs that require the model, 0..7 (see NodeFit).
  void set_model_pressure(std::vector<int32_t> pressure) { model_pressure_ = std::move(pressure); }

  // False when the cluster's aggregates prove the gang cannot fit under kNow/kShort (a
  // necessary condition only; true does not mean Place will succeed).
  bool MayFitCluster(const GangRequest& gang) const { return GangMayFit(s_.domains[0], gang); }

  // Whether task `t` fits on node n now, under `use`.
  bool Fits(int32_t n, const TaskDemand& t, Use use) const;

 private:
  bool PlaceOrdered(const GangRequest& gang, Use use, std::vector<PlacedTask>* out,
                    bool all_domains);
  bool PlaceWithin(int32_t domain, const GangRequest& gang, Use use, std::vector<PlacedTask>* out);
  bool PlaceOnNode(int32_t node, const GangRequest& gang, Use use, std::vector<PlacedTask>* out);
  bool GangMayFit(const Domain& d, const GangRequest& gang) const;
  bool BlockMayFit(const Domain& d, const TaskDemand& t) const;
  int64_t ScoreOn(int32_t n, const TaskDemand& t, Use use) const;
  void Apply(int32_t n, const TaskDemand& t, Use use, PlacedTask* placed);

  ClusterState& s_;
  const PlacementPolicy& policy_;
  int32_t max_domain_attempts_;
  mutable std::vector<int32_t> sizes_scratch_;
  int64_t term_taken_ = 0;
  std::vector<int32_t> model_pressure_;  // GangMayFit's workspace (no allocation per call)
};

// Takes a placed task's resources back into `free` (it ended), or from used into `term`
// (it is terminating), or from `term` into `free` (a terminating task exited).
enum class ReleaseKind { kUsedToFree, kUsedToTerm, kTermToFree };
void Release(ClusterState& s, const PlacedTask& t, ReleaseKind kind);

}  // namespace kumo::core::internal
