// LAS: the least-attained-service queues and the minimum run time of PolicyConfig, computed the
// same way by every driver (the server's loop and the simulator) between passes.
//
// Why attained service. Tiresias (Gu et al., "Tiresias: A GPU Cluster Manager for Distributed
// Deep Learning", NSDI'19) schedules without knowing job durations: it ranks jobs by their
// two-dimensional attained service, GPUs x time executed, and serves the least first. Under the
// heavy-tailed durations of DL clusters a job that has run little is likely to finish soon, so
// least-attained-first approximates shortest-remaining-first without an estimate. Its
// *discretised* 2D-LAS puts jobs into a few queues split by service thresholds (priority by
// queue, order inside a queue), so that a job changes priority -- and is preempted for it --
// only when it crosses a threshold, not at every instant as under continuous LAS; and it
// promotes a job that has waited longer than a knob x its executed time back to the top queue
// (its starvation guard, LasConfig::starve_factor). Here the order inside a queue is the
// policy's queue order (weighted DRF by default) instead of Tiresias' FIFO.
//
// Why relative thresholds. Tiresias sets its thresholds per cluster from the distribution of
// jobs' GPU time (and reports that two queues do about as well as more). Absolute thresholds
// (kumo's were 8 and 64 GPU-hours, tuned on Philly) put a workload of minute-long jobs all in
// the top queue -- LAS off -- and a workload of week-long jobs all in the bottom one. Quantiles of
// the service that recently finished jobs attained keep the *meaning* of a queue: with {0.5,
// 0.9} the top queue holds jobs that have so far received less than half of all jobs received
// in total, whatever the time scale. Worked example: finished jobs attained 1, 2, 4, 8 and 100
// GPU-hours -> nearest-rank p50 = 4 GPU-h and p90 = 100 GPU-h; a running 8-GPU job is demoted to
// queue 1 after 30 minutes and to queue 2 after 12.5 hours. The minimum run time scales the same
// way, from the median run time (MinRuntimeConfig).
//
// Why a victim window. A checkpointing job demoted at a save is still a victim hours later,
// when a short job arrives, and then loses all the work since that save (on Philly, with saves
// every 30 minutes, ~15 minutes x its GPUs per preemption, which made kumo's goodput fall below
// FIFO's). Gandiva (Xiao et al., OSDI'18, section 4.1) suspends a job at an iteration boundary,
// where its state is smallest; the analogue for a job that saves every few minutes to hours is
// to stop it just after a save. With LasConfig::victim_window_s a running job is a LAS victim
// only during that window after each save and keeps the top queue in between: at most the
// window's work (plus the grace period) is lost, and a pending job waits at most one checkpoint
// interval for some victim's window to open. Preemption by a higher declared priority is not
// delayed (it outranks every queue), nor a quota reclaim by a job in the top queue.
//
// Why the starvation guard counts every wait since the first start, and holds while running.
// Tiresias promotes a job whose current wait exceeds a knob (STARVELIMIT) x its executed time;
// a long gang preempted again and again restarts that count with each wait, and once
// promoted and started it is demoted at the next pass and stopped by the next arrival. Counting
// all its waits after its first start (the wait before it -- with no service it is in the top
// queue then -- is contention, not LAS) and keeping a promoted job in the top queue until it
// has run twice those waits over the factor bounds its total requeued time to about
// starve_factor x its run time. Worked example (factor 4): a job that ran 10 h is promoted once
// its waits since its first start exceed 40 h and is not demoted again before it has run 20 h.
//
// Why a second bound, on run-time quantiles (LasConfig::starve_run_quantile; off by default).
// The factor bound lets a job wait in proportion to what it ran, which is backwards for the
// tail of JCT: the jobs that make the p99 are the long ones (on Philly, 8- and 16-GPU gangs of
// 100-300 h that started at once, were demoted, preempted 2-13 times and then waited ~220 h in
// all until the stream of newer jobs dried up), and a job that ran long is the one that can
// least afford to wait. With the bound, once a job's waits since its first start exceed the
// q-quantile of the run times of recently finished jobs (the same window as the thresholds, so
// it scales with the workload's time scale, not in hours), it is in the top queue until it
// ends: its requeued time is at most that quantile plus the time to find room. The price is the
// mean: the promoted gangs hold their GPUs through the overload that short jobs would have
// used (docs/evaluation.md has the figures).
//
// Why bounded demotion (LasConfig::protect_after_requeues; off by default). Tiresias keeps
// demoting a job for as long as it runs, so a long gang can be thrown off again and again. On
// Philly (per-job figures, docs/evaluation.md) the first requeue is cheap -- jobs preempted
// once waited a median 0.1 / 0.4 / 10 h in all to resume at loads 1.0 / 1.2 / 1.5 -- but from
// the second one on the waits add up (medians 5 / 51 / 92 h for jobs preempted twice, 62-153 h
// for three to seven times), and 90, 75 and 61 of the 91, 80 and 67 jobs above fifo-backfill's p99 were preempted
// twice or more. With k = 1 a job that has been thrown off once has paid: once it runs again,
// LAS does not stop it (a declared priority or a quota still can); its wait to resume is
// untouched. Measured, it is the same trade as the quantile bound: fewer preemptions and a
// shorter tail, paid for by the short jobs that now wait for the protected gangs' GPUs
// (docs/evaluation.md, "Bounded demotion"), so it is off by default.
//
// Why predicted remaining time (LasConfig::predicted_remaining; the default). LAS ranks by what
// a job has run because it knows nothing else; a user who sets maxRuntime tells the scheduler
// an upper bound, and users' limits, loose as they are, carry the job's length (Tsafrir,
// Etsion & Feitelson, TPDS 2007, use them with the user's history; Mu'alem & Feitelson, TPDS
// 2001, measure their spread). The prediction is the limit x the mean fraction of their limits
// that the recently finished jobs ran (learned: 1 until history.min_jobs such jobs finished),
// else the history's estimate (Job::runtime_estimate); the remaining time is that minus what it
// ran, at least what it ran (a job that outlived its prediction runs about as long again: LAS's
// own bet) and at most its limit minus what it ran; a job with neither is ranked by what it
// ran, so a fresh one is in the first class as under LAS. Classes are powers of class_base in
// minutes: a job outranks -- and may preempt -- another only when its remaining time is below
// about 1/base of the other's, so two similar jobs do not take turns. Measured on Philly
// (docs/evaluation.md, "Predicted remaining time and a deadline guard"), it gets within 2% of
// the SRTF oracle's mean JCT, where LAS's queues were 23% above it.
//
// Why a deadline guard (LasConfig::guard_quantile). Shortest-remaining-first starves the long
// jobs: the p99 of JCT is made of 100-400 h gangs that wait while shorter work keeps arriving.
// A job whose time in the system plus its predicted remaining time reaches T is in the top
// queue until it ends, T being the guard_quantile of the predicted run times of the recent
// arrivals: a job shorter than almost all jobs is kept from finishing later than almost all of
// them would take to run, while a job whose own length exceeds T was in the tail anyway and stays
// under shortest-first. It fires just in time, late in a job's life, which is why it costs the
// mean so little against bounds that promote a job for its waits alone (the starve factor, the
// run-time quantile, bounded demotion: docs/evaluation.md measured all of them). It replaces the
// starve factor under predicted_remaining.
//
// Pure: no I/O, no clock, no threads. A ServiceHistory is not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/policy_config.h"
#include "core/resources.h"

namespace kumo::core {

// The recently finished jobs and the thresholds derived from them.
class ServiceHistory {
 public:
  explicit ServiceHistory(const PolicyConfig& policy);

  // A job left the system after running: the GPU-seconds it attained over all its attempts,
  // the seconds it executed (ExecutedSeconds) and its maxRuntime (kNever: none). Jobs that
  // never ran are not reported.
  void Finished(double attained_gpu_s, double executed_s, Seconds max_runtime_s = kNever);
  // A job was submitted with this maxRuntime (kNever: none; not kept).
  void Arrived(Seconds max_runtime_s);

  // Queue boundaries in GPU-seconds, one per LasConfig::threshold_quantiles entry, increasing;
  // empty while fewer than history.min_jobs jobs have finished (every job in the top queue).
  const std::vector<double>& thresholds_gpu_s() const { return thresholds_gpu_s_; }
  // Job::min_runtime for every job now.
  Seconds min_runtime() const { return min_runtime_; }
  // LasJob::starve_after_s for every job now: the LasConfig::starve_run_quantile of the
  // finished jobs' run times; -1 while it is off or fewer than history.min_jobs have finished.
  Seconds starve_after_s() const { return starve_after_s_; }
  int64_t finished() const { return finished_; }
  // LasJob::limit_fraction: the mean of executed / maxRuntime over the window's finished jobs
  // that had a limit (each at most 1); 1 while fewer than history.min_jobs of them.
  double limit_fraction() const { return limit_fraction_; }
  // LasJob::guard_after_s: LasConfig::guard_quantile of the maxRuntimes of the last
  // history.arrival_window_jobs arrivals with one, x limit_fraction(); -1 while off or fewer than
  // history.min_jobs such arrivals.
  // The quantile is taken when first asked for after an arrival, not at every arrival: a server
  // replays every stored job's arrival at start.
  Seconds guard_after_s() const;

 private:
  void Recompute();

  const LasConfig las_;
  const MinRuntimeConfig min_runtime_config_;
  const ServiceHistoryConfig history_;
  std::deque<double> attained_gpu_s_, executed_s_;  // the window, oldest first
  std::deque<double> limit_ratios_;                 // executed / maxRuntime, oldest first
  std::deque<double> arrival_limits_s_;             // maxRuntimes of the arrivals, oldest first
  mutable std::optional<double> arrival_quantile_s_;  // their guard_quantile, once asked for
  int64_t finished_ = 0;
  std::vector<double> thresholds_gpu_s_;
  Seconds min_runtime_;
  Seconds starve_after_s_ = -1;
  double limit_fraction_ = 1;
};

// What the driver knows about one job when it sets the priority the pass sees.
struct LasJob {
  int32_t declared_priority = 0;  // from the job's priority class
  double attained_gpu_s = 0;      // over all attempts so far
  double gpus = 1;                // GPUs it holds when running (whole + shares)
  bool pending = false;
  Seconds pending_s = 0;          // since it last started waiting
  // Its earlier waits after its first start (preempted, waiting to resume), the current one not
  // included; 0 when the driver does not know.
  Seconds requeued_s = 0;
  // ServiceHistory::starve_after_s(): once its waits since its first start exceed this, the job
  // is in the top queue until it ends; negative: no such bound.
  Seconds starve_after_s = -1;
  bool running = false;
  bool checkpointable = false;
  // A running job that checkpoints: the service it had attained at its last checkpoint (at the
  // start of its attempt if it has not saved yet); negative when the driver does not know.
  double attained_at_checkpoint_gpu_s = -1;
  // A running job that checkpoints: seconds since its last save (since its start if it has not
  // saved yet); negative when the driver does not know.
  Seconds since_checkpoint_s = -1;
  // Attempts that ended without ending the job (preemptions, moves, retries) so far.
  int32_t requeues = 0;
  // For LasConfig::predicted_remaining: seconds since its submission, its maxRuntime and the
  // history's estimate (Job::runtime_estimate; kNever: none), and the history's
  // limit_fraction() and guard_after_s().
  Seconds age_s = 0;
  Seconds max_runtime_s = kNever;
  Seconds runtime_estimate_s = kNever;
  double limit_fraction = 1;
  Seconds guard_after_s = -1;
};

// Seconds `job` is predicted still to run (LasConfig::predicted_remaining): its limit x
// limit_fraction (else its estimate) minus what it ran, at least what it ran, at most its limit
// minus what it ran; what it ran when it has neither limit nor estimate.
double PredictedRemainingSeconds(const LasJob& job);

// Job::may_reserve for pending `job`: under the deadline guard EASY reserves only for a guarded
// job, the others backfill greedily -- a reservation idles GPUs, and the guard is what bounds a
// job's wait. True when the guard is off or not yet known (LasJob::guard_after_s < 0).
bool MayReserve(const LasConfig& las, const LasJob& job);

// Seconds a job has executed: the GPU-seconds it attained over the GPUs it holds, at least one
// (a job on a GPU share runs as long as one on a whole GPU: its service is not time).
// Every driver derives Job::executed_s and the finished jobs' run times this way.
inline double ExecutedSeconds(double attained_gpu_s, double gpus) {
  return attained_gpu_s / std::max(1.0, gpus);
}

// The priority of `job` in the pass: declared x (K + 1) + (K - queue), K = the number of
// thresholds, so a declared class always outranks every queue of a lower one and, inside a
// class, a lower queue outranks a higher one. Queue 0 (the top) while no thresholds are known,
// for a starving pending job, and for a running job that does not checkpoint: LAS alone never
// preempts a job that would lose all its work (only its declared priority or a quota can).
// A running job that checkpoints is queued by the service it had at its last checkpoint when
// the driver knows it: it is demoted -- and so becomes a victim of its own class -- right after
// it saved, losing little, instead of at any instant between two checkpoints; with a victim
// window it is back in the top queue once the window after that save has passed. A starving
// job (pending, or running while its earlier waits are unpaid) is in the top queue, and so is a
// running job requeued LasConfig::protect_after_requeues times or more.
// With LasConfig::predicted_remaining the queue is instead the class of the job's
// PredictedRemainingSeconds, and `thresholds_gpu_s` is not used; the top queue while guarded
// (LasConfig::guard_quantile) and while running if the job has a prediction (it started in its
// order), does not checkpoint, or is outside its victim window.
// With LAS disabled, the declared priority. Saturates at the int32 range.
int32_t LasPriority(const LasConfig& las, std::span<const double> thresholds_gpu_s,
                    const LasJob& job);

}  // namespace kumo::core
