// AttainedService: the server's side of the policy's LAS queues and minimum run time
// (core/las.h) -- what each job has attained, over all its attempts, and the history of
// finished jobs the relative thresholds come from. The simulator keeps the same figures on its
// virtual clock; both hand them to the same core functions.
//
// Kept in memory: after a server restart every job's attained service starts again from the
// attempt it is in, and the history from empty (LAS keeps jobs in the top queue and minRuntime
// at its floor until history.minJobs jobs have finished again).
//
// Not thread-safe: the scheduling loop calls it under state.mu.
#pragma once

#include <cstdint>
#include <map>

#include "core/las.h"
#include "core/snapshot.h"
#include "server/records.h"

namespace kumo::server {

class AttainedService {
 public:
  explicit AttainedService(const core::PolicyConfig& policy) : policy_(policy), history_(policy) {}

  // Brings `job`'s record up to `now`; a job that reached a terminal phase after running is
  // reported to the history once and forgotten. Call for every job before a pass.
  // `gpus`: the GPUs its gang holds when running (whole + shares).
  void Observe(const JobRec& job, double gpus, double now);

  // Sets the fields the policy decides between passes on `cj`, the core's view of `job`:
  // priority (its LAS queue inside its declared priority) and min_runtime.
  // REQUIRES: Observe(job, ...) at this `now`.
  void Apply(const JobRec& job, double now, core::Job& cj) const;

 private:
  struct Record {
    int32_t attempt = 0;          // the attempt attempt_gpu_s belongs to
    double attempt_gpu_s = 0;     // attained in that attempt so far
    double before_gpu_s = 0;      // attained in earlier attempts
    double pending_since = 0;     // when it last started waiting
    double gpus = 0;
  };
  const core::PolicyConfig policy_;
  core::ServiceHistory history_;
  std::map<int64_t, Record> jobs_;  // by job id; jobs that are not terminal
};

}  // namespace kumo::server
