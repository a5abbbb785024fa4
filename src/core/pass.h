// Pass: one scheduling pass's job loop (internal to the core; Scheduler::Schedule runs one).
//
//   Load (PassState: NodeIndex, projects, running jobs)
//     -> queue: nominated jobs, the sticky reservation holder, then the QueueOrder
//     -> for each job: skip (backfill depth, strict blocker) | quota max | unschedulable
//     (Diagnosis)
//          | start now | wait for terminating tasks | PreemptionPolicy::MakeRoom, in order
//          | wait: after a reservation only without delaying it, else BackfillPolicy::Blocked
//     -> Decisions
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/backfill/backfill_policy.h"
#include "core/decisions.h"
#include "core/diagnosis.h"
#include "core/pass_state.h"
#include "core/preemption/preemption_policy.h"
#include "core/queue_order.h"

namespace kumo::core::internal {

struct PassPolicies {
  const PlacementPolicy& placement;
  const BackfillPolicy& backfill;
  const std::vector<std::shared_ptr<const PreemptionPolicy>>& preemption;
};

class Pass {
 public:
  Pass(const SchedulerConfig& config, const PassPolicies& policies, const Snapshot& snap)
      : state_(config, policies.placement, snap),
        diagnosis_(state_),
        backfill_(policies.backfill),
        preemption_(policies.preemption) {}

  // REQUIRES: called once.
  Result<Decisions> Run();

 private:
  std::vector<QueueEntry> Queue(Decisions* out);
  void SetModelPressure();
  QueueContext Context() const;
  int32_t NextJob();
  bool Skipped(int32_t j, Decisions* out);
  bool Started(int32_t j, Use use, Decisions* out);
  void Wait(int32_t j, Use use, Decisions* out);

  PassState state_;
  Diagnosis diagnosis_;
  const BackfillPolicy& backfill_;
  const std::vector<std::shared_ptr<const PreemptionPolicy>>& preemption_;
  std::unique_ptr<QueueOrder> order_;
  std::unordered_map<int32_t, QueueEntry> entry_of_;
  // Considered before the queue's order (see Queue), in this order.
  std::vector<int32_t> first_;
  size_t next_first_ = 0;
  bool any_term_ = false;  // some node has terminating resources
  std::optional<std::string> strict_blocker_;
  int32_t backfill_tried_ = 0;
};

}  // namespace kumo::core::internal
