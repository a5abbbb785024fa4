#include "core/driver.h"

namespace kumo::core {

DecisionIndex::DecisionIndex(const Decisions& decisions) {
  for (const StartDecision& s : decisions.starts) by_job_[s.job].start = &s;
  for (const PreemptDecision& p : decisions.preemptions) {
    by_job_[p.victim].victim = true;
    by_job_[p.preemptor].preemptor = true;
  }
  for (const ReservationDecision& r : decisions.reservations) by_job_[r.job].reservation = &r;
}

JobDecisions DecisionIndex::Find(std::string_view job) const {
  if (by_job_.empty()) return {};  // a pass that decided nothing: no hashing per job
  auto it = by_job_.find(job);
  return it == by_job_.end() ? JobDecisions{} : it->second;
}

void CarryForward(const JobDecisions& decided, bool& nominated,
                  std::vector<TaskPlacement>& reservation) {
  if (decided.start != nullptr) {
    nominated = false;
    reservation.clear();
    return;
  }
  if (decided.preemptor) nominated = true;
  if (decided.reservation != nullptr) {
    reservation = decided.reservation->tasks;
  } else {
    reservation.clear();
  }
}

void ApplyDecisions(const JobDecisions& decided, Seconds now, Job& job) {
  if (job.phase == JobPhase::kPending) CarryForward(decided, job.nominated, job.reservation);
  if (decided.start != nullptr) {
    job.phase = JobPhase::kRunning;
    job.start_time = now;
    job.last_checkpoint_time = -1;
    job.placements = decided.start->tasks;
  } else if (decided.victim && job.phase == JobPhase::kRunning) {
    job.phase = JobPhase::kTerminating;
  }
}

void ApplyDecisions(const Decisions& decisions, Seconds now, std::span<Job> jobs) {
  const DecisionIndex index(decisions);
  for (Job& job : jobs) ApplyDecisions(index.Find(job.id), now, job);
}

void Requeue(Job& job) {
  job.phase = JobPhase::kPending;
  job.placements.clear();
}

}  // namespace kumo::core
