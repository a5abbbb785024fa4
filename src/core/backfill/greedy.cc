// "greedy": a job that cannot start is skipped and every later job that fits starts. Nothing is
// reserved, so a big gang may wait forever behind a stream of small jobs that each fit.
#include "core/backfill/backfill_policy.h"

namespace kumo::core {

namespace {

class GreedyBackfill final : public BackfillPolicy {
 public:
  std::string_view name() const override { return "greedy"; }
  bool KeepsReservationHolderFirst() const override { return false; }
  bool Blocked(internal::PassState&, int32_t, WaitExplanation*, Decisions*) const override {
    return true;
  }
};

}  // namespace

std::unique_ptr<BackfillPolicy> MakeGreedyBackfill() { return std::make_unique<GreedyBackfill>(); }

}  // namespace kumo::core
