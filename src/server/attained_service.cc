#include "server/attained_service.h"

#include <algorithm>

#include "server/job_state.h"

namespace kumo::server {

namespace {

// GPUs a job's gang holds when running (whole GPUs and shares): the spec's, as the core's.
double GangGpus(const api::JobSpec& spec) {
  return static_cast<double>(spec.TotalGpuMilli()) / 1000.0;
}

bool Holding(const JobRec& job) { return HasAttempt(job.phase) && !job.tasks.empty(); }

core::Seconds Limit(const api::JobSpec& spec) {
  return spec.max_runtime_s ? static_cast<core::Seconds>(*spec.max_runtime_s) : core::kNever;
}

}  // namespace

double CheckpointWaitSeconds(const api::CheckpointSpec& checkpoint) {
  if (!checkpoint.interval_s) return kDefaultCheckpointWaitSeconds;
  return static_cast<double>(*checkpoint.interval_s) * 1.25;
}

Status AttainedService::Load(store::Store& store, std::map<int64_t, JobRec>& jobs,
                             std::vector<store::Statement>& writes) {
  Status s = store.Query(
      "SELECT job_id, ended_gpu_s, last_attempt, pending_since, finished, requeued_s "
      "FROM job_service",
      {},
      [&](const store::Row& row) {
        const int64_t id = store::AsInt(row[0]);
        auto job = jobs.find(id);
        if (job == jobs.end()) return;  // a job the store no longer has
        Record& r = jobs_[id];
        r.ended_gpu_s = store::AsDouble(row[1]);
        r.last_attempt = static_cast<int32_t>(store::AsInt(row[2]));
        r.pending_since = store::AsDouble(row[3]);
        r.finished = store::AsInt(row[4]) != 0;
        r.requeued_s = store::AsDouble(row[5]);
        r.gpus = GangGpus(job->second.spec);
        job->second.attained_gpu_s = r.ended_gpu_s;
      });
  if (!s.ok()) return s;
  // The window, oldest first, as it was built (a job the store no longer has: no limit).
  struct Finished {
    double attained_gpu_s, executed_s;
    core::Seconds max_runtime_s;
  };
  std::vector<Finished> window;
  s = store.Query(
      "SELECT attained_gpu_s, executed_s, job_id FROM service_history ORDER BY seq DESC LIMIT ?1",
      {int64_t{std::max(1, policy_.history.window_jobs)}}, [&](const store::Row& row) {
        auto job = jobs.find(store::AsInt(row[2]));
        window.push_back({store::AsDouble(row[0]), store::AsDouble(row[1]),
                          job == jobs.end() ? core::kNever : Limit(job->second.spec)});
      });
  if (!s.ok()) return s;
  for (auto it = window.rbegin(); it != window.rend(); ++it)
    history_.Finished(it->attained_gpu_s, it->executed_s, it->max_runtime_s);
  for (auto& [id, job] : jobs) {  // by id: in submission order
    history_.Arrived(Limit(job.spec));
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      // No row: it never ended an attempt (or predates migration 6). A running attempt counts
      // from its start; a finished job is not reported again.
      Record& r = jobs_[id];
      r.pending_since = job.submit_time;
      r.gpus = GangGpus(job.spec);
      r.finished = IsTerminal(job.phase);
      it = jobs_.find(id);
    }
    Record& r = it->second;
    // The attempt it was in when the server stopped, if that attempt was not counted yet: it
    // ran from its start; Observe ends it (at end_time, or at the first look after the restart).
    if (!r.finished && job.attempt > r.last_attempt && job.start_time > 0 &&
        (Holding(job) || IsTerminal(job.phase)))
      StartAttempt(r, job.attempt, job.start_time);
    if (!r.finished && IsTerminal(job.phase)) Observe(job, job.end_time, writes);
  }
  return Status::Ok();
}

void AttainedService::Observe(JobRec& job, double now, std::vector<store::Statement>& writes) {
  auto [it, fresh] = jobs_.try_emplace(job.id);
  Record& r = it->second;
  if (fresh) {
    r.pending_since = job.submit_time;
    r.gpus = GangGpus(job.spec);
    history_.Arrived(Limit(job.spec));
  }
  if (r.finished) return;
  const bool holding = Holding(job);
  bool changed = false;
  if (r.running && (!holding || job.attempt != r.attempt)) {
    // The attempt ended, in this tick (or, for a finished job, at its end_time).
    const double end = IsTerminal(job.phase) && job.end_time > 0 ? job.end_time : now;
    r.ended_gpu_s += r.gpus * std::max(0.0, end - r.attempt_start);
    r.last_attempt = r.attempt;
    r.running = false;
    r.pending_since = end;
    changed = true;
  }
  if (holding && !r.running) StartAttempt(r, job.attempt, job.start_time);
  job.attained_gpu_s = Attained(r, now);
  if (IsTerminal(job.phase)) {
    Finish(job.id, Limit(job.spec), r, writes);
  } else if (changed) {
    writes.push_back(Save(job.id, r));
  }
}

void AttainedService::Finish(int64_t job_id, core::Seconds max_runtime_s, Record& r,
                             std::vector<store::Statement>& writes) {
  r.finished = true;
  if (r.ended_gpu_s > 0) {  // jobs that never ran say nothing about the workload's scale
    const double executed_s = core::ExecutedSeconds(r.ended_gpu_s, r.gpus);
    history_.Finished(r.ended_gpu_s, executed_s, max_runtime_s);
    writes.push_back({"INSERT INTO service_history(job_id, attained_gpu_s, executed_s) "
                      "VALUES(?1, ?2, ?3)",
                      {job_id, r.ended_gpu_s, executed_s}});
    writes.push_back({"DELETE FROM service_history WHERE seq <= "
                      "(SELECT max(seq) FROM service_history) - ?1",
                      {int64_t{std::max(1, policy_.history.window_jobs)}}});
  }
  writes.push_back(Save(job_id, r));
}

// The wait before it counts as requeued time if an attempt ended before it. Not saved here: the
// attempt's end saves it, and Load, finding the attempt running, adds it again from the same
// pending_since.
void AttainedService::StartAttempt(Record& r, int32_t attempt, double start) {
  if (r.last_attempt > 0) r.requeued_s += std::max(0.0, start - r.pending_since);
  r.running = true;
  r.attempt = attempt;
  r.attempt_start = start;
}

store::Statement AttainedService::Save(int64_t job_id, const Record& r) {
  return {"INSERT OR REPLACE INTO job_service(job_id, ended_gpu_s, last_attempt, pending_since, "
          "finished, requeued_s) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
          {job_id, r.ended_gpu_s, int64_t{r.last_attempt}, r.pending_since,
           int64_t{r.finished ? 1 : 0}, r.requeued_s}};
}

double AttainedService::Attained(const Record& r, double now) const {
  return r.ended_gpu_s + (r.running ? r.gpus * std::max(0.0, now - r.attempt_start) : 0.0);
}

void AttainedService::Apply(const JobRec& job, double now, double last_checkpoint,
                            core::Job& cj) const {
  cj.min_runtime = history_.min_runtime();
  auto it = jobs_.find(job.id);
  if (it == jobs_.end()) return;
  const Record& r = it->second;
  core::LasJob las;
  las.declared_priority = cj.priority;
  las.attained_gpu_s = Attained(r, now);
  las.gpus = r.gpus;
  las.pending = job.phase == JobPhase::kPending;
  las.pending_s = static_cast<core::Seconds>(std::max(0.0, now - r.pending_since));
  las.requeued_s = static_cast<core::Seconds>(r.requeued_s);
  las.starve_after_s = history_.starve_after_s();
  // Every attempt counted so far ended without ending the job (it is still live).
  las.requeues = r.last_attempt;
  las.running = job.phase == JobPhase::kRunning;
  las.checkpointable = cj.checkpointable;
  las.age_s = static_cast<core::Seconds>(std::max(0.0, now - job.submit_time));
  las.max_runtime_s = cj.max_runtime;
  las.runtime_estimate_s = cj.runtime_estimate;
  las.limit_fraction = history_.limit_fraction();
  las.guard_after_s = history_.guard_after_s();
  if (las.running && las.checkpointable && r.running) {
    // Saves from earlier attempts do not count: this attempt's work since its start is at stake.
    const bool saved = last_checkpoint >= r.attempt_start;
    if (saved) cj.last_checkpoint_time = static_cast<core::Seconds>(last_checkpoint);
    const double saved_at = saved ? last_checkpoint : r.attempt_start;
    if (now - saved_at <= CheckpointWaitSeconds(job.spec.checkpoint)) {
      las.attained_at_checkpoint_gpu_s = r.ended_gpu_s + r.gpus * (saved_at - r.attempt_start);
      las.since_checkpoint_s = static_cast<core::Seconds>(now - saved_at);
    }
  }
  cj.priority = core::LasPriority(policy_.las, history_.thresholds_gpu_s(), las);
  cj.may_reserve = core::MayReserve(policy_.las, las);
  if (policy_.las.enabled) {  // for the LAS gain rule (core::PreemptionGainConfig)
    cj.las_declared_priority = las.declared_priority;
    cj.executed_s = static_cast<core::Seconds>(core::ExecutedSeconds(las.attained_gpu_s, las.gpus));
  }
}

}  // namespace kumo::server
