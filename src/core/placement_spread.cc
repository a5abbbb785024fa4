// "spread": least-requested placement: the node with the most free GPUs (then cpu) first.
#include "core/placement_policy.h"

namespace kumo::core {
namespace {

class SpreadPolicy final : public PlacementPolicy {
 public:
  std::string_view name() const override { return "spread"; }
  int64_t Score(const NodeFit& f) const override {
    int64_t s = 0;
    s = s * 2 + (f.prefer_no_schedule ? 1 : 0);
    s = s * 2 + ((!f.task_uses_gpu && f.gpus_total > 0) ? 1 : 0);
    s = s * 64 + (63 - f.whole_free_after);
    s = s * 65536 + (65535 - f.gpu_milli_free_after);
    s = s * 1024 + (1023 - f.cpu_free_after_permille);
    return s;
  }
  bool PacksDomains() const override { return false; }
};

}  // namespace

std::unique_ptr<PlacementPolicy> MakeSpreadPolicy() { return std::make_unique<SpreadPolicy>(); }

}  // namespace kumo::core
