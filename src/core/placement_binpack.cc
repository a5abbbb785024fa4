// "binpack": most-requested placement.
//
// Score (lower is better), most significant first:
//   1. a PreferNoSchedule taint the task does not tolerate;
//   2. a CPU-only task on a node with GPUs (keep GPU nodes' cpu for GPU tasks);
//   3. a shared-GPU task that would break a whole GPU rather than share a shared one;
//   4. for a task that accepts any GPU model, the pending demand for the node's model from jobs
//      that require it (less is better: leave scarce models to those who need them);
//   5. whole GPUs left free on the node (fewer is better: fill nodes, keep empty ones whole);
//   6. milli-GPU left free (fewer is better);
//   7. cpu left free, per mille.
#include "core/placement_policy.h"

namespace kumo::core {
namespace {

class BinpackPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "binpack"; }
  int64_t Score(const NodeFit& f) const override {
    int64_t s = 0;
    s = s * 2 + (f.prefer_no_schedule ? 1 : 0);
    s = s * 2 + ((!f.task_uses_gpu && f.gpus_total > 0) ? 1 : 0);
    s = s * 2 + (f.breaks_whole_gpu ? 1 : 0);
    s = s * 8 + f.model_pressure;
    s = s * 64 + f.whole_free_after;
    s = s * 65536 + f.gpu_milli_free_after;
    s = s * 1024 + f.cpu_free_after_permille;
    return s;
  }
  bool PacksDomains() const override { return true; }
};

}  // namespace

std::unique_ptr<PlacementPolicy> MakeBinpackPolicy() { return std::make_unique<BinpackPolicy>(); }

}  // namespace kumo::core
