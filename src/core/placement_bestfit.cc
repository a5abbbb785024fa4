// "bestfit": the classic best-fit baseline (as compared in the FGD paper, Weng et al., ATC'23):
// the node with the least GPU left after the placement, then the least cpu. Unlike "binpack" it
// knows nothing of whole versus shared GPUs, of GPU nodes versus CPU nodes, or of taints'
// preferences; it exists to measure what those buy.
#include "core/placement_policy.h"

namespace kumo::core {
namespace {

class BestFitPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "bestfit"; }
  int64_t Score(const NodeFit& f) const override {
    return f.gpu_milli_free_after * 1024 + f.cpu_free_after_permille;
  }
  bool PacksDomains() const override { return true; }
};

}  // namespace

std::unique_ptr<PlacementPolicy> MakeBestFitPolicy() { return std::make_unique<BestFitPolicy>(); }

}  // namespace kumo::core
