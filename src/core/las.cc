#include "core/las.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kumo::core {

namespace {

// Nearest-rank quantile of sorted values. REQUIRES: !sorted.empty(), 0 < q < 1.
double Quantile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

ServiceHistory::ServiceHistory(const PolicyConfig& policy)
    : las_(policy.las),
      min_runtime_config_(policy.min_runtime),
      history_(policy.history),
      min_runtime_(policy.min_runtime.floor_s) {}

void ServiceHistory::Finished(double attained_gpu_s, double executed_s) {
  attained_gpu_s_.push_back(attained_gpu_s);
  executed_s_.push_back(executed_s);
  ++finished_;
  while (static_cast<int64_t>(attained_gpu_s_.size()) > std::max(1, history_.window_jobs)) {
    attained_gpu_s_.pop_front();
    executed_s_.pop_front();
  }
  Recompute();
}

void ServiceHistory::Recompute() {
  if (static_cast<int64_t>(attained_gpu_s_.size()) < history_.min_jobs) return;
  std::vector<double> sorted(attained_gpu_s_.begin(), attained_gpu_s_.end());
  std::sort(sorted.begin(), sorted.end());
  thresholds_gpu_s_.clear();
  for (double q : las_.threshold_quantiles) {
    // Equal quantiles (many jobs of one size) would make an empty queue: keep them increasing.
    const double t = Quantile(sorted, q);
    const double prev = thresholds_gpu_s_.empty() ? 0 : thresholds_gpu_s_.back();
    thresholds_gpu_s_.push_back(std::max(t, std::nextafter(prev, prev + 1)));
  }
  sorted.assign(executed_s_.begin(), executed_s_.end());
  std::sort(sorted.begin(), sorted.end());
  const double min_run = min_runtime_config_.fraction_of_median * Quantile(sorted, 0.5);
  min_runtime_ = std::clamp(static_cast<Seconds>(min_run), min_runtime_config_.floor_s,
                            std::max(min_runtime_config_.floor_s, min_runtime_config_.max_s));
  if (las_.starve_run_quantile > 0)
    starve_after_s_ = static_cast<Seconds>(Quantile(sorted, las_.starve_run_quantile));
}

namespace {

// Whether `job` has waited too long for its service (LasConfig::starve_factor).
bool Starved(const LasConfig& las, const LasJob& job) {
  if (job.attained_gpu_s <= 0) return false;
  const double requeued_s = static_cast<double>(job.requeued_s);
  const double waits_s = requeued_s + (job.pending ? static_cast<double>(job.pending_s) : 0);
  if (job.starve_after_s >= 0 && (job.pending || job.running) &&
      waits_s > static_cast<double>(job.starve_after_s))
    return true;
  if (las.starve_factor <= 0) return false;
  const double executed_s = job.attained_gpu_s / std::max(1.0, job.gpus);
  if (job.pending)
    return waits_s > las.starve_factor * executed_s;
  return job.running && requeued_s > las.starve_factor / 2 * executed_s;
}

// Whether running `job` may be a LAS victim now (LasConfig::victim_window_s).
bool InVictimWindow(const LasConfig& las, const LasJob& job) {
  if (!job.checkpointable) return false;
  if (las.protect_after_requeues > 0 && job.requeues >= las.protect_after_requeues) return false;
  if (las.victim_window_s <= 0 || job.since_checkpoint_s < 0) return true;
  return job.since_checkpoint_s <= las.victim_window_s;
}

}  // namespace

int32_t LasPriority(const LasConfig& las, std::span<const double> thresholds_gpu_s,
                    const LasJob& job) {
  if (!las.enabled) return job.declared_priority;
  const auto levels = static_cast<int64_t>(las.threshold_quantiles.size());
  int64_t queue = 0;
  if (!(job.running && !InVictimWindow(las, job))) {
    const double service = job.running && job.attained_at_checkpoint_gpu_s >= 0
                               ? job.attained_at_checkpoint_gpu_s
                               : job.attained_gpu_s;
    while (queue < static_cast<int64_t>(thresholds_gpu_s.size()) &&
           service >= thresholds_gpu_s[static_cast<size_t>(queue)])
      ++queue;
  }
  if (Starved(las, job)) queue = 0;
  queue = std::min(queue, levels);
  const int64_t p = int64_t{job.declared_priority} * (levels + 1) + (levels - queue);
  return static_cast<int32_t>(std::clamp<int64_t>(p, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

}  // namespace kumo::core
