// RuntimeEstimates: the server's runtime estimator (core/runtime_estimate.h), fed from its own
// jobs: every Succeeded job restored from the store at start-up (oldest end first), then each job
// as its attempt succeeds. The scheduling loop asks it for every pending or running job, each
// pass, so EASY backfill can reserve behind jobs without maxRuntime and the "drf-predicted"
// order can rank pending jobs by predicted work.
//
// Keys: the job's user and metadata.name, its project, its priority class. A run is the
// succeeding attempt's start to its end (earlier, failed or preempted attempts say nothing about
// how long the job needs). Each job that succeeds while the history had an estimate for it adds
// |estimate - actual| / actual to the histogram kumo_server_runtime_estimate_relative_error.
//
// Thread safety: none; the loop uses it under ServerState::mu.
#pragma once

#include <cstdint>
#include <map>

#include "base/prometheus.h"
#include "core/runtime_estimate.h"
#include "server/records.h"

namespace kumo::server {

class RuntimeEstimates {
 public:
  // `error` (may be null) receives the relative error of each estimate checked by a run.
  RuntimeEstimates(core::RuntimeEstimateConfig config, prometheus::Histogram* error)
      : estimator_(std::move(config)), error_(error) {}

  // The history of every Succeeded job in `jobs`, oldest end first; reports no errors (they
  // were reported when those jobs ended).
  void Load(const std::map<int64_t, JobRec>& jobs);
  // `job`'s attempt just succeeded (phase Succeeded, start_time and end_time set).
  void Finished(const JobRec& job);
  // The estimate for `job` in seconds, or core::kNever (none), with or without a maxRuntime.
  core::Seconds For(const JobRec& job) const;

 private:
  core::RuntimeEstimator estimator_;
  prometheus::Histogram* error_;
};

}  // namespace kumo::server
