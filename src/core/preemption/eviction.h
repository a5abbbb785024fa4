// Eviction: the victim search of the "priority", "reclaim" and "fill" preemption policies
// (internal to the core). Each policy is a rule saying which running job may be stopped for which
// pending one (priority.cc, reclaim.cc); the search is shared: rank the allowed candidates cheapest
// first, stop them one by one until the preemptor fits, then drop those it turns out not to need.
#pragma once

#include <cstdint>
#include <memory>

#include "core/pass_state.h"
#include "core/preemption/preemption_policy.h"

namespace kumo::core::internal {

// What a victim rule looks at, for one (preemptor, running job) pair.
struct VictimFacts {
  int32_t preemptor_priority = 0;
  int32_t victim_priority = 0;
  bool same_project = false;
  // The victim is in the suffix of its project's running jobs beyond the project's guarantee
  // (PassState::BorrowingStart). Meaningful for other projects only.
  bool victim_borrowing = false;
  // The preemptor's project stays within its guaranteed quota with the preemptor admitted
  // (PassState::InGuaranteeAfter).
  bool preemptor_in_guarantee = false;
};

// "priority": strictly lower priority; in another project only while it borrows.
bool PriorityAllows(const VictimFacts& f);
// "reclaim": another project's borrowing job of no higher priority, while the preemptor's
// project stays within its guarantee.
bool ReclaimAllows(const VictimFacts& f);

// The work running job `v` would lose if stopped at `now`, in milli-GPU-seconds: the time since
// its last save (since its start if it does not checkpoint or has not saved) x its GPUs. Work
// lost counts GPUs: ten minutes of an 8-GPU job are twice ten minutes of a 4-GPU one (jobs
// without GPUs weigh one milli-GPU: they still rank by time among themselves). Victims and
// movers are both ranked by it.
int64_t LostWorkMilliGpuS(const JobRt& v, Seconds now);

// What the victim searches (eviction, moves, fills) ask of a node, the same way each time:
// whole GPUs idle now (free and not held for the reservation); whether any of pending job jr's
// tasks may run on it (labels, taints, models, size); whether any of `tasks` is on a node of
// this pass's EASY reservation.
int32_t IdleWholeGpus(const NodeRt& node);
bool MayUseNode(const JobRt& jr, int32_t node);
bool OnReservation(const PassState& pass, const std::vector<PlacedTask>& tasks);

// The victims, taken from `ranked` (cheapest first) one by one until pending job j fits once
// they have exited (on top of what is terminating already), less each one it then turns out not
// to need (the last one taken completed the fit and stays). Empty when even all of them are not
// enough. Leaves the pass unchanged.
std::vector<int32_t> MinimalVictims(PassState& pass, int32_t j, const std::vector<int32_t>& ranked);

// One search over the candidates allowed by any of the given rules.
// REQUIRES: priority || reclaim.
std::unique_ptr<PreemptionPolicy> MakeEvictionPolicy(bool priority, bool reclaim);
std::unique_ptr<PreemptionPolicy> MakeDefragmentPolicy();
std::unique_ptr<PreemptionPolicy> MakeFillPolicy();

}  // namespace kumo::core::internal
