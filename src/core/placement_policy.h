// PlacementPolicy: where, among the nodes that can take a task, it should go.
//
// Implementations (one file each, chosen by name):
//   "binpack" (default) -- most-requested: fill the fullest node that fits, the fullest domain
//             that fits a whole gang, shared-GPU tasks onto already-shared GPUs; this keeps whole
//             nodes and leaf switches free for big gangs and avoids GPU fragmentation.
//   "spread"  -- least-requested: the emptiest node and domain first.
//   "bestfit" -- the textbook baseline: least GPU (then cpu) left on the node; no other knowledge.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/status.h"

namespace kumo::core {

// What a policy may look at when scoring one candidate node for one task, after the task
// would be placed there.
struct NodeFit {
  int32_t gpus_total = 0;               // GPUs on the node
  int32_t whole_free_after = 0;         // fully free GPUs left
  int64_t gpu_milli_free_after = 0;     // free milli-GPU left (whole + partial)
  int64_t cpu_free_after_permille = 0;  // free cpu left, per mille of the node's cpu
  bool task_uses_gpu = false;
  bool breaks_whole_gpu = false;    // a shared-GPU task would start sharing a so far whole GPU
  bool prefer_no_schedule = false;  // node has a PreferNoSchedule taint the task does not tolerate
  // For a task that accepts any GPU model: how much the pending jobs that *require* this node's
  // GPU model want of it, in eighths of the model's capacity (0..7). Keeping in-demand models
  // for the jobs that can use nothing else avoids refusing them later. 0 for constrained tasks.
  int32_t model_pressure = 0;
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string_view name() const = 0;
  // Lower is better. Ties are broken by node order (topology order), so the result is
  // deterministic.
  virtual int64_t Score(const NodeFit& fit) const = 0;
  // True: try the fullest domain that can hold a gang first (best fit) and take partial GPUs
  // with the least room left. False: the emptiest first.
  virtual bool PacksDomains() const = 0;
};

Result<std::unique_ptr<PlacementPolicy>> MakePlacementPolicy(std::string_view name);
std::unique_ptr<PlacementPolicy> MakeBinpackPolicy();
std::unique_ptr<PlacementPolicy> MakeSpreadPolicy();
std::unique_ptr<PlacementPolicy> MakeBestFitPolicy();

}  // namespace kumo::core
