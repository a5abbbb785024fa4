// SimMetrics: what one simulated run measures, apart from the event loop that drives it.
//
// The loop reports usage changes (a job starts or stops waiting, takes or releases its GPUs),
// advances the metrics' clock before every batch of events, and records each pass; the metrics
// integrate allocation, contention and fairness over time and summarise it all into a SimReport.
// Units: GPU amounts in milli-GPU, times in seconds of virtual time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace kumo::sim {

// Weighted max-min fair shares of `capacity` among projects with `demand` (water-filling):
// no project gets more than it demands, and what it leaves is split among the others by weight.
// Example: capacity 10, demand {2, 20, 20}, weight {1, 1, 2}: project 0 takes its 2, and the
// other 8 split 1:2, so {2, 2.67, 5.33}.
std::vector<double> FairShares(const std::vector<double>& demand, const std::vector<double>& weight,
                               double capacity);

// "1", "2-8", "9-32" or ">32": the gang-size class of a job asking for `gpu_milli` in all.
const char* GangClass(int64_t gpu_milli);

class SimMetrics {
 public:
  // `first_arrival`..`last_arrival` is the arrival window; `project_weights` by project index.
  SimMetrics(core::Seconds first_arrival, core::Seconds last_arrival, double capacity_gpu_milli,
             std::vector<double> project_weights);

  // Usage changes of a job of project index `project` that asks for `gpu_milli` in all.
  void StartsWaiting(int32_t project, int64_t gpu_milli);
  void StopsWaiting(int32_t project, int64_t gpu_milli);
  void Holds(int32_t project, int64_t gpu_milli);
  void Releases(int32_t project, int64_t gpu_milli);

  // Integrates the current usage over [from, to). REQUIRES: to > from.
  void Advance(core::Seconds from, core::Seconds to);
  // A scheduling pass took `pass_ms` of wall time.
  void RecordPassTime(double pass_ms);
  // The queue and allocation after the pass at `now` (the report's time series).
  void Sample(core::Seconds now);
  // Work that did not count, GPU-seconds x 1000 (milli-GPU x s), at time `at` (a preemption
  // throwing work away, a restart's overhead): subtracted from goodput inside the window.
  void Lost(core::Seconds at, double gpu_milli_s);
  // A job that completed (end >= 0).
  void Completed(const JobOutcome& outcome);

  // Fills the report's summary figures (everything but the counters the loop keeps itself).
  void Finish(SimReport& report) const;

  int64_t pending_jobs() const { return pending_jobs_; }
  int64_t allocated_gpu_milli() const { return allocated_; }

 private:
  void AdvanceFairness(double dt);

  const core::Seconds t0_, last_arrival_;
  const double capacity_;
  const std::vector<double> weights_;
  std::vector<double> pending_gpu_, running_gpu_;  // by project, milli-GPU
  int64_t allocated_ = 0, pending_jobs_ = 0;

  double alloc_integral_ = 0, window_alloc_integral_ = 0;     // milli-GPU x s
  double contended_alloc_integral_ = 0, contended_time_ = 0;  // while some job waits
  double jain_integral_ = 0, jain_time_ = 0;                  // Jain index x s, s
  double window_lost_ = 0;                                    // milli-GPU x s
  std::vector<double> pass_ms_;
  std::vector<SeriesPoint> series_;
  std::vector<double> jct_, wait_, queue_, rho_;
  std::map<std::string, std::vector<double>> jct_by_class_, wait_by_class_, queue_by_class_,
      slowdown_;
  core::Seconds last_end_;
};

}  // namespace kumo::sim
