// PolicyConfig: the scheduler's whole policy, one struct for every driver of the core.
//
// `kumo server` and `kumo sim` read it from the same `policy:` YAML section
// (server/policy_config_yaml.h; docs/control-plane.md lists the keys), and the simulator's
// `kumo` policy is this struct's default: what the simulator measures is what the server runs.
// The pass itself reads `scheduler`; `las`, `min_runtime` and `history` are applied by the
// driver between passes through core/las.h (same code in server and simulator), as they depend
// on what jobs have attained, which only the driver sees.
//
// Sub-structs are the unit of extension: a new part of the policy is one member here, one
// reader in the YAML section, one line in operator==.
#pragma once

#include <cstdint>
#include <vector>

#include "core/runtime_estimate.h"
#include "core/scheduler.h"

namespace kumo::core {

// Tiresias' discretised two-dimensional least-attained-service (core/las.h says why).
struct LasConfig {
  bool enabled = true;
  // Queue boundaries as quantiles of the attained service (GPU-seconds) of recently finished
  // jobs: {0.5, 0.9} makes three queues -- jobs that have received less than the median job in
  // all, up to the p90 job, and beyond. Strictly increasing, each in (0, 1).
  std::vector<double> threshold_quantiles = {0.5, 0.9};
  // A job whose waits since its first start exceed starve_factor x its executed time (seconds
  // it ran, not GPU-seconds) is promoted to the top queue, and keeps it while it runs until
  // those waits fall below half that (core/las.h says why). 0: never.
  double starve_factor = 4.0;
  // A second, absolute-free bound on the same waits: a job whose waits since its first start
  // exceed this quantile of the run times (seconds executed) of recently finished jobs is
  // promoted to the top queue and not demoted again before it ends (core/las.h says why).
  // In (0, 1); 0: off.
  double starve_run_quantile = 0;
  // A running job that checkpoints is a LAS victim only in the first victim_window_s seconds
  // after each save (or after its start); in between it keeps the top queue, so LAS stops it
  // with little unsaved work. 0: any time after its demotion.
  Seconds victim_window_s = 120;
  // Bounded demotion: a job that has been thrown off this many times (attempts that ended
  // without ending it: preemptions, moves, retries) is no longer a LAS victim while it runs --
  // it has paid (core/las.h says why). 0: off, LAS preempts a job however often.
  int32_t protect_after_requeues = 0;
  // Shortest predicted remaining time first (core/las.h says why): a job is ranked by the time
  // it is predicted still to run -- its maxRuntime x the fraction of their limits that recently
  // finished jobs ran (else the history's estimate), minus what it ran, and never less than
  // what it ran -- in classes `class_base` apart, a job with neither by what it ran alone.
  // false: Tiresias' service queues (threshold_quantiles, starve_factor).
  bool predicted_remaining = true;
  double class_base = 2;  // > 1: one class outranks the next when its remaining time is 1/base
  // The deadline guard (with predicted_remaining): a job whose time since submission plus its
  // predicted remaining time reaches this quantile of the recent arrivals' predicted run times
  // is in the top queue until it ends. In (0, 1); 0: off.
  double guard_quantile = 0.985;
  friend bool operator==(const LasConfig&, const LasConfig&) = default;
};

// A running job is not preempted before it has run this long (Job::min_runtime): a fraction of
// the median run time (seconds) of recently finished jobs, clamped to [floor_s, max_s].
// Preempting a job moments after it started throws away its start-up for nothing.
struct MinRuntimeConfig {
  double fraction_of_median = 0.05;
  Seconds floor_s = 0;
  Seconds max_s = 3600;
  friend bool operator==(const MinRuntimeConfig&, const MinRuntimeConfig&) = default;
};

// The window of finished jobs the relative thresholds are computed over.
struct ServiceHistoryConfig {
  int32_t window_jobs = 500;  // the most recent finished jobs kept
  // The most recent arrivals whose maxRuntime the deadline guard's bound is taken from
  // (LasConfig::guard_quantile): long, so that the bound is the workload's tail, not the
  // latest burst's (on Philly the long jobs come first; a 500-job window halves the bound).
  int32_t arrival_window_jobs = 10000;
  // Until this many jobs have finished, LAS keeps every job in its top queue and minRuntime is
  // floor_s: the workload's scale is not known yet, and a guess in hours is the constant this
  // replaces.
  int32_t min_jobs = 20;
  friend bool operator==(const ServiceHistoryConfig&, const ServiceHistoryConfig&) = default;
};

struct PolicyConfig {
  PolicyConfig() {
    scheduler.backfill_depth = 500;  // Slurm's bf_max_job_test default
    // Inside a user's queue, least aged predicted work first (core/queue_order_predicted.h):
    // on the held-out Slurm slice it is what beats Slurm's FIFO (docs/vs-slurm.md).
    scheduler.queue_order = "drf-predicted";
  }
  SchedulerConfig scheduler;  // queue order, placement, backfill, preemption (and moves)
  LasConfig las;
  MinRuntimeConfig min_runtime;
  ServiceHistoryConfig history;
  RuntimeEstimateConfig estimates;  // for jobs without maxRuntime (EASY reserves on them)
  friend bool operator==(const PolicyConfig&, const PolicyConfig&) = default;
};

}  // namespace kumo::core
