#include "server/attained_service.h"

#include <algorithm>

#include "server/job_state.h"

namespace kumo::server {

void AttainedService::Observe(const JobRec& job, double gpus, double now) {
  auto it = jobs_.find(job.id);
  if (IsTerminal(job.phase)) {
    if (it == jobs_.end()) return;
    const Record& r = it->second;
    const double attained = r.before_gpu_s + r.attempt_gpu_s;
    if (attained > 0) history_.Finished(attained, attained / std::max(1.0, r.gpus));
    jobs_.erase(it);
    return;
  }
  if (it == jobs_.end()) {
    it = jobs_.emplace(job.id, Record{}).first;
    it->second.pending_since = job.submit_time;
  }
  Record& r = it->second;
  r.gpus = gpus;
  const bool holding = HasAttempt(job.phase) && !job.tasks.empty();
  if (holding && r.attempt != job.attempt) {  // a new attempt: the last one's service is done
    r.before_gpu_s += r.attempt_gpu_s;
    r.attempt_gpu_s = 0;
    r.attempt = job.attempt;
  }
  if (holding) {
    r.attempt_gpu_s = gpus * std::max(0.0, now - job.start_time);
  } else if (r.attempt_gpu_s > 0) {  // its attempt ended: it waits again from now
    r.before_gpu_s += r.attempt_gpu_s;
    r.attempt_gpu_s = 0;
    r.pending_since = now;
  }
}

void AttainedService::Apply(const JobRec& job, double now, core::Job& cj) const {
  cj.min_runtime = history_.min_runtime();
  auto it = jobs_.find(job.id);
  if (it == jobs_.end()) return;
  const Record& r = it->second;
  core::LasJob las;
  las.declared_priority = cj.priority;
  las.attained_gpu_s = r.before_gpu_s + r.attempt_gpu_s;
  las.gpus = r.gpus;
  las.pending = job.phase == JobPhase::kPending;
  las.pending_s = static_cast<core::Seconds>(std::max(0.0, now - r.pending_since));
  las.running = job.phase == JobPhase::kRunning;
  las.checkpointable = cj.checkpointable;
  cj.priority = core::LasPriority(policy_.las, history_.thresholds_gpu_s(), las);
}

}  // namespace kumo::server
