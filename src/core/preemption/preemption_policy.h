// PreemptionPolicy: how a pending job that fits nowhere makes room by stopping running jobs.
//
// Implementations (one file each, chosen by name in SchedulerConfig::preemption, tried in the
// order listed for each job that cannot start):
//   "priority"   -- stops lower-priority jobs: any of the job's own project, and those of other
//                   projects running on borrowed capacity (beyond their project's guarantee).
//   "reclaim"    -- a project within its guaranteed quota takes it back: stops jobs of other
//                   projects that run on borrowed capacity and have no higher priority.
//   "defragment" -- moves one smaller, checkpointing job to idle GPUs elsewhere so that the job
//                   fits where it was (Gandiva, Xiao et al., OSDI'18).
//   "fill"       -- stops smaller checkpointing jobs that saved moments ago, beside idle GPUs
//                   the job could use with theirs: more GPUs work than before (fill.cc).
// "priority" and "reclaim" stop victims in place and, when both are listed, search one list of
// candidates together (eviction.h): victims of either kind may combine to make room, and the
// smallest set found is kept.
//
// The contract every policy keeps (preemption/preemption_policy_test.cc):
//  - it never stops a job that is not preemptible, one inside its minimum runtime, or one
//    admitted in this pass; a job that may not preempt (Job::may_preempt) stops nobody;
//  - it stops jobs only when the preemptor is then admitted: the preemptor holds its placement
//    (on the victims' resources, once they have exited) and waits with kWaitingForPreemption;
//  - every PreemptDecision names the preemptor, and no victim can be left out with the
//    preemptor still fitting (the victim set is minimal);
//  - on failure the pass is unchanged.
// Once this pass has made its EASY reservation, "priority" and "reclaim" stop nothing (what a
// victim frees may be what the reservation counts on) and a move or a fill never touches its
// nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/decisions.h"

namespace kumo::core {

namespace internal {
class PassState;
}

class PreemptionPolicy {
 public:
  virtual ~PreemptionPolicy() = default;
  virtual std::string_view name() const = 0;
  // Makes room for pending job j. On success: its victims are terminating in `pass`, j is
  // admitted, their PreemptDecisions and j's WaitExplanation are appended to *out; returns true.
  // REQUIRES: j is pending and did not fit (Use::kNow); pass.BuildGang(j) ran.
  virtual bool MakeRoom(internal::PassState& pass, int32_t j, Decisions* out) const = 0;
};

// The policies for `names`, in order ("priority" and "reclaim" joined into one search).
// Fails (InvalidArgument) on an unknown or repeated name.
Result<std::vector<std::unique_ptr<PreemptionPolicy>>> MakePreemptionPolicies(
    const std::vector<std::string>& names);

}  // namespace kumo::core
