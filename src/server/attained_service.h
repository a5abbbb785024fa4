// AttainedService: the server's side of the policy's LAS queues and minimum run time
// (core/las.h) -- what each job has attained, over all its attempts, and the history of
// finished jobs the relative thresholds come from. The simulator keeps the same figures on its
// virtual clock; both hand them to the same core functions.
//
// Durable. A restart must not start LAS afresh: a long job that had sunk to a low queue would
// come back at the top and preempt the short jobs LAS protects, and the thresholds would fall
// back to "unknown" until history.minJobs jobs had finished again. What cannot be derived from
// the job's own record is kept in the store (migration 6):
//   - job_service: per job, the GPU-seconds of its ended attempts, the last attempt counted,
//     when it last started waiting, its waits between attempts, whether it was reported to the
//     history. Written only when
//     one of these changes (an attempt ends, the job finishes), never per tick: the running
//     attempt's share is gpus x (now - jobs.start_time), both durable already.
//   - service_history: the finished jobs' samples, the newest history.windowJobs kept.
// The statements go on the caller's queue (ServerState::pending_writes), so they commit in the
// same group commit as the transition that caused them: the loop observes each job right after
// advancing it in the same tick, so an attempt's end and its service are one transaction.
//
// After a kill -9 the running attempt's service includes the time the server was down (its
// tasks ran on); an attempt that ended while the server was down (found at start-up) is counted
// until the first observation after the restart. A database from before migration 6 has no
// rows: its jobs start from their current attempt, the history from empty.
//
// Not thread-safe: callers hold ServerState::mu.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/status.h"
#include "core/las.h"
#include "core/snapshot.h"
#include "server/records.h"
#include "store/store.h"

namespace kumo::server {

class AttainedService {
 public:
  explicit AttainedService(const core::PolicyConfig& policy) : policy_(policy), history_(policy) {}

  // Reads what earlier runs recorded and sets every job's attained_gpu_s. Call once, with the
  // jobs as the store had them (before the start-up reconciliation changes any), before the
  // first Observe. A finished job not yet reported to the history is reported now (statements
  // queued on `writes`).
  Status Load(store::Store& store, std::map<int64_t, JobRec>& jobs,
              std::vector<store::Statement>& writes);

  // Brings `job`'s record up to `now` (seconds since the epoch) and sets job.attained_gpu_s; a
  // job that reached a terminal phase is reported to the history once. What must survive a
  // restart is queued on `writes`. Call for every live job each tick, after its transitions.
  void Observe(JobRec& job, double now, std::vector<store::Statement>& writes);

  // Sets the fields the policy decides between passes on `cj`, the core's view of `job`:
  // priority (its LAS queue inside its declared priority), min_runtime and, for a running job
  // that checkpoints, last_checkpoint_time. `last_checkpoint`: when the job last wrote its
  // checkpoint (seconds since the epoch; < 0: never). A checkpointing job is queued by the
  // service it had at its last save, so LAS demotes it -- makes it a victim -- just after a
  // save; but it waits at most CheckpointWaitSeconds for the next one (a job that stopped
  // saving is queued by its whole service: the delay is bounded).
  // REQUIRES: Observe(job, ...) at this `now`.
  void Apply(const JobRec& job, double now, double last_checkpoint, core::Job& cj) const;

  const core::ServiceHistory& history() const { return history_; }

 private:
  struct Record {
    double ended_gpu_s = 0;    // attained in attempts that ended
    int32_t last_attempt = 0;  // the last attempt counted in ended_gpu_s
    bool running = false;      // an attempt is being counted
    int32_t attempt = 0;       // that attempt
    double attempt_start = 0;  // and its start
    double pending_since = 0;  // when it last started waiting
    // Its waits between attempts (from an attempt's end to the next one's start), the wait
    // before its first start not included: what LAS's starvation guard counts (LasJob).
    double requeued_s = 0;
    double gpus = 0;
    bool finished = false;     // reported to the history (or ended without running)
  };
  double Attained(const Record& r, double now) const;
  static void StartAttempt(Record& r, int32_t attempt, double start);
  // `max_runtime_s`: the job's maxRuntime (core::kNever: none), for the history's limit fraction.
  void Finish(int64_t job_id, core::Seconds max_runtime_s, Record& r,
              std::vector<store::Statement>& writes);
  static store::Statement Save(int64_t job_id, const Record& r);

  const core::PolicyConfig policy_;
  core::ServiceHistory history_;
  std::map<int64_t, Record> jobs_;  // by job id; finished ones keep only `finished`
};

// How long LAS waits for a running job's next checkpoint before it queues the job by its whole
// service: the declared spec.checkpoint.intervalSeconds and a quarter more (a save takes time,
// and the loop sees files a few seconds late), or kDefaultCheckpointWaitSeconds when no interval
// is declared. Worked example: intervalSeconds 600 -> a job that saved at t=1000 and crossed a
// threshold at t=1200 keeps its queue until it saves again at ~1600, and is demoted at 1750 if
// it has not.
constexpr double kDefaultCheckpointWaitSeconds = 600;
double CheckpointWaitSeconds(const api::CheckpointSpec& checkpoint);

}  // namespace kumo::server
