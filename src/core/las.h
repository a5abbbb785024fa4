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
// Pure: no I/O, no clock, no threads. A ServiceHistory is not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "core/policy_config.h"

namespace kumo::core {

// The recently finished jobs and the thresholds derived from them.
class ServiceHistory {
 public:
  explicit ServiceHistory(const PolicyConfig& policy);

  // A job left the system after running: the GPU-seconds it attained over all its attempts
  // and the seconds it executed (attained / GPUs). Jobs that never ran are not reported.
  void Finished(double attained_gpu_s, double executed_s);

  // Queue boundaries in GPU-seconds, one per LasConfig::threshold_quantiles entry, increasing;
  // empty while fewer than history.min_jobs jobs have finished (every job in the top queue).
  const std::vector<double>& thresholds_gpu_s() const { return thresholds_gpu_s_; }
  // Job::min_runtime for every job now.
  Seconds min_runtime() const { return min_runtime_; }
  int64_t finished() const { return finished_; }

 private:
  void Recompute();

  const LasConfig las_;
  const MinRuntimeConfig min_runtime_config_;
  const ServiceHistoryConfig history_;
  std::deque<double> attained_gpu_s_, executed_s_;  // the window, oldest first
  int64_t finished_ = 0;
  std::vector<double> thresholds_gpu_s_;
  Seconds min_runtime_;
};

// What the driver knows about one job when it sets the priority the pass sees.
struct LasJob {
  int32_t declared_priority = 0;  // from the job's priority class
  double attained_gpu_s = 0;      // over all attempts so far
  double gpus = 1;                // GPUs it holds when running (whole + shares)
  bool pending = false;
  Seconds pending_s = 0;          // since it last started waiting
  bool running = false;
  bool checkpointable = false;
  // A running job that checkpoints: the service it had attained at its last checkpoint (at the
  // start of its attempt if it has not saved yet); negative when the driver does not know.
  double attained_at_checkpoint_gpu_s = -1;
};

// The priority of `job` in the pass: declared x (K + 1) + (K - queue), K = the number of
// thresholds, so a declared class always outranks every queue of a lower one and, inside a
// class, a lower queue outranks a higher one. Queue 0 (the top) while no thresholds are known,
// for a starving pending job, and for a running job that does not checkpoint: LAS alone never
// preempts a job that would lose all its work (only its declared priority or a quota can).
// A running job that checkpoints is queued by the service it had at its last checkpoint when
// the driver knows it: it is demoted -- and so becomes a victim of its own class -- right after
// it saved, losing little, instead of at any instant between two checkpoints.
// With LAS disabled, the declared priority. Saturates at the int32 range.
int32_t LasPriority(const LasConfig& las, std::span<const double> thresholds_gpu_s,
                    const LasJob& job);

}  // namespace kumo::core
