// Discrete-event simulation of a cluster on a virtual clock, driving the scheduling core the way
// the server does: a pass after every batch of events (arrivals, completions, exits of preempted
// jobs) and on a period, with the pass's decisions applied to the simulated cluster through
// core/driver.h. simulator.cc holds the event loop; sim/metrics.h what a run measures.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/policy_config.h"
#include "sim/trace.h"

namespace kumo::sim {

struct SimConfig {
  std::string policy = "kumo";  // the name in reports
  // The scheduler's policy, as `kumo server` reads it (core/policy_config.h); LAS and the minimum
  // run time are applied between passes through core/las.h, as the server does.
  core::PolicyConfig policy_config;
  core::Seconds period = 300;  // a pass at least this often while jobs wait
  // Events are batched: at most one pass per pass_interval of virtual time (Slurm's
  // sched_interval/backfill_interval play the same role). Adds at most this much to any wait.
  core::Seconds pass_interval = 10;
  core::Seconds preemption_grace = 30;  // signal -> exit
  core::Seconds restart_overhead = 60;  // added to every attempt after the first
  // The scheduler is told every job's true duration as its maxRuntime (an oracle: a bound to
  // compare with, not a policy anyone can run).
  bool oracle_runtimes = false;
  // Preemptive shortest-remaining-time-first oracle: every pass, a job's priority (inside its
  // declared one) and maxRuntime are its true remaining time, and a preempted job loses nothing
  // (it saves at the instant it is stopped). With grace and restart overhead 0 it is a lower
  // bound on mean JCT for the core's placement and quota rules, not a policy anyone can run.
  bool srtf_oracle = false;
  // Offered-load scaling was applied to the trace by the caller; recorded for the report.
  double load = 0;
};

struct JobOutcome {
  std::string id;
  std::string project;
  int64_t gpu_milli = 0;
  core::Seconds submit = 0, first_start = -1, end = -1, duration = 0;
  int32_t preemptions = 0;
  core::Seconds queued = 0;  // all time pending: before the first start and after preemptions
  double lost_gpu_s = 0;     // work preemption threw away (since the last save), GPU-seconds
  // Themis' T_id: how long it would take on an equal 1/N share of the cluster, N = the jobs
  // active (pending or running, itself included) when it arrived: duration x max(1, gpus / (C/N)).
  double fair_alone_s = 0;
};

struct UnschedulableJob {
  std::string id;
  std::string why;  // the core's sentence
};

struct SeriesPoint {
  core::Seconds t = 0;
  int64_t pending_jobs = 0;
  int64_t allocated_gpu_milli = 0;
};

struct Distribution {
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0;
  int64_t count = 0;
};

struct SimReport {
  std::string policy;
  std::string trace;
  double load = 0;
  int64_t jobs = 0;
  int64_t completed = 0;
  // Jobs no node of the cluster could ever hold (removed from the queue), and why.
  int64_t unschedulable = 0;
  std::vector<UnschedulableJob> unschedulable_jobs;
  Distribution jct_s, wait_s;
  // Queueing delay: all time a job spent pending, before its first start and after every
  // preemption (wait_s counts only the first).
  Distribution queue_s;
  std::map<std::string, Distribution> jct_by_class, wait_by_class,
      queue_by_class;  // "1", "2-8", "9-32", ">32" GPUs
  // Goodput over the arrival window: allocated GPU-time minus work that did not count (thrown
  // away by preemption since the last checkpoint, and restart overhead), over capacity x window.
  double goodput = 0;
  // Finish-time fairness (Themis, Mahajan et al., NSDI'20): rho = JCT / T_id (JobOutcome's
  // fair_alone_s); rho > 1 means the job did worse than on its own 1/N of the cluster.
  double ftf_rho_max = 0, ftf_rho_mean = 0;
  // Time-average allocated GPUs / capacity over the arrival window [first arrival, last
  // arrival]: the period the offered load refers to, the same for every policy.
  double gpu_allocation = 0;
  // The same while at least one job waits (windows differ between policies).
  double gpu_allocation_contended = 0;
  double contended_hours = 0;          // how long some job was waiting
  double gpu_allocation_makespan = 0;  // the same over [first arrival, last completion]
  core::Seconds makespan_s = 0;        // last completion - first arrival
  double jain_fairness = 1.0;  // time-average Jain index of projects' allocation / fair share
  std::map<std::string, double> slowdown_by_project;  // mean JCT / duration
  int64_t preemptions = 0;
  double gpu_hours_lost = 0;  // work thrown away by preemption (since last checkpoint)
  double gpu_hours_restart = 0;  // restart overhead of attempts after the first
  int64_t partial_gangs = 0;  // starts with fewer placements than tasks (must be 0)
  // |estimate - actual| / actual of the runtime estimate of each completed job that had an
  // estimate from earlier completions (core/runtime_estimate.h), with or without a maxRuntime:
  // EASY plans on it without one, "drf-predicted" orders by it either way.
  Distribution estimate_error;
  int64_t passes = 0;
  double pass_ms_mean = 0, pass_ms_p99 = 0;
  double wall_s = 0;
  std::vector<SeriesPoint> series;
  std::vector<JobOutcome> outcomes;
};

Result<SimReport> Simulate(const Trace& trace, const SimConfig& config);

// The named policies compared by `kumo sim --policy all`:
//   fifo           strict priority+submit order, no backfill, no preemption
//   fifo-backfill  FIFO with EASY backfill on users' maxRuntime estimates (Slurm-like)
//   drf            weighted DRF order, blocked jobs skipped, no preemption
//   kumo           the server's default policy (core::PolicyConfig{}): DRF + EASY backfill +
//                  preemption, moves and fills + predicted remaining time with a deadline guard
//   sjf-oracle     shortest true duration first, EASY backfill on true durations, no preemption
//                  (the non-preemptive SJF bound)
//   srtf-oracle    preemptive shortest true remaining time first, lossless preemption, no
//                  restart overhead (SimConfig::srtf_oracle; the preemptive bound)
//   tiresias       Tiresias' discretised 2D-LAS: LAS queues, FIFO within, blocked jobs skipped,
//                  priority preemption
//   kumo-no-las, kumo-no-preemption, kumo-no-moves (nor fills), kumo-no-fill   ablations
// Each is a change to `kumo`, the policy `kumo server` runs (by default core::PolicyConfig{};
// `kumo sim --config FILE` passes the file's `policy:` section).
Result<SimConfig> NamedPolicy(const std::string& name, const core::PolicyConfig& kumo = {});
std::vector<std::string> PolicyNames();

Distribution Summarize(std::vector<double> values);

// Fits the loop's periods to the trace's time scale (its median job duration D): one pass per
// D/360 at most (within 1..10 s) and a periodic pass every D/12 (within that..300 s). Philly's
// jobs (D ~ 14 h) keep 10 s and 300 s; a workload of 2-minute jobs gets 1 s and 10 s, as a
// real scheduler's loop is short next to its jobs.
void FitTimeScale(const Trace& trace, SimConfig& config);

}  // namespace kumo::sim
