// "none": strict queue order. The first job that cannot start blocks every job behind it, even
// ones that would fit now and end long before it could start.
#include "core/backfill/backfill_policy.h"

namespace kumo::core {

namespace {

class NoBackfill final : public BackfillPolicy {
 public:
  std::string_view name() const override { return "none"; }
  bool KeepsReservationHolderFirst() const override { return false; }
  bool Blocked(internal::PassState&, int32_t, WaitExplanation*, Decisions*) const override {
    return false;
  }
};

}  // namespace

std::unique_ptr<BackfillPolicy> MakeNoBackfill() { return std::make_unique<NoBackfill>(); }

}  // namespace kumo::core
