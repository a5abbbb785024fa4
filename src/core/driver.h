// Driver: the caller's side of the scheduler contract (scheduler.h), written once for every
// driver of the core (the server's loop, the trace simulator).
//
// After a pass, its decisions change the jobs of the next snapshot:
//  - a started job runs from `now` on the decision's placements; it is no longer nominated and
//    its reservation is spent;
//  - a preemption victim is terminating: it holds its placements until its tasks have exited,
//    and then goes back to the queue (Requeue);
//  - a preemptor is nominated until it starts, so what its victims free goes to it;
//  - the job of a ReservationDecision carries that placement into the next pass, and only it:
//    a pending job that this pass reserved nothing for loses an older reservation, since the
//    core keeps any pending job that holds one at the head of its priority class.
//
// Pure: no I/O, no clock (the caller passes `now`), no threads. Functions here are not
// thread-safe on the same jobs; distinct jobs may be updated concurrently.
#pragma once

#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/decisions.h"
#include "core/snapshot.h"

namespace kumo::core {

// What one pass decided about one job (all empty when it decided nothing).
struct JobDecisions {
  const StartDecision* start = nullptr;              // it starts now
  bool victim = false;                               // it is preempted
  bool preemptor = false;                            // it preempted victims
  const ReservationDecision* reservation = nullptr;  // it holds the reservation
};

// One pass's decisions indexed by job id, so that applying them costs one lookup per job.
// REQUIRES: `decisions` outlives the index (it refers into it).
class DecisionIndex {
 public:
  explicit DecisionIndex(const Decisions& decisions);
  JobDecisions Find(std::string_view job) const;

 private:
  std::unordered_map<std::string_view, JobDecisions> by_job_;
};

// Carries a pass into the two fields the core reads back: nominated and reservation. For job
// records that are not core::Job (the server's); ApplyDecisions calls it for core::Job.
// REQUIRES: the job was pending in the pass (`decided` is what the pass decided for it).
void CarryForward(const JobDecisions& decided, bool& nominated,
                  std::vector<TaskPlacement>& reservation);

// Applies what the pass decided for `job` (start, preemption, nomination, reservation).
void ApplyDecisions(const JobDecisions& decided, Seconds now, Job& job);

// The same for every job of the next snapshot. Jobs the decisions do not name are left as they
// are, except that a pending job's stale reservation is cleared.
void ApplyDecisions(const Decisions& decisions, Seconds now, std::span<Job> jobs);

// A terminating job whose tasks have all exited goes back to the queue, holding nothing.
// REQUIRES: job.phase == JobPhase::kTerminating.
void Requeue(Job& job);

}  // namespace kumo::core
