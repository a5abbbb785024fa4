#include "core/las.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kumo::core {

namespace {

// Nearest-rank index of quantile q among n values (the sorted position Quantile reads).
size_t QuantileRank(size_t n, double q) {
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  return std::min(n - 1, rank == 0 ? 0 : rank - 1);
}

// Nearest-rank quantile of sorted values. REQUIRES: !sorted.empty(), 0 < q < 1.
double Quantile(const std::vector<double>& sorted, double q) {
  return sorted[QuantileRank(sorted.size(), q)];
}

// A limit or estimate that was given (kNever and non-positive values mean none).
bool Given(Seconds s) { return s > 0 && s < kNever; }

}  // namespace

ServiceHistory::ServiceHistory(const PolicyConfig& policy)
    : las_(policy.las),
      min_runtime_config_(policy.min_runtime),
      history_(policy.history),
      min_runtime_(policy.min_runtime.floor_s) {}

void ServiceHistory::Finished(double attained_gpu_s, double executed_s, Seconds max_runtime_s) {
  const auto window = static_cast<size_t>(std::max(1, history_.window_jobs));
  attained_gpu_s_.push_back(attained_gpu_s);
  executed_s_.push_back(executed_s);
  ++finished_;
  while (attained_gpu_s_.size() > window) {
    attained_gpu_s_.pop_front();
    executed_s_.pop_front();
  }
  if (Given(max_runtime_s)) {
    limit_ratios_.push_back(std::min(1.0, executed_s / static_cast<double>(max_runtime_s)));
    if (limit_ratios_.size() > window) limit_ratios_.pop_front();
    if (limit_ratios_.size() >= static_cast<size_t>(std::max(1, history_.min_jobs))) {
      double sum = 0;
      for (double r : limit_ratios_) sum += r;
      limit_fraction_ = sum / static_cast<double>(limit_ratios_.size());
    }
  }
  Recompute();
}

void ServiceHistory::Arrived(Seconds max_runtime_s) {
  if (!Given(max_runtime_s)) return;
  arrival_limits_s_.push_back(static_cast<double>(max_runtime_s));
  if (arrival_limits_s_.size() > static_cast<size_t>(std::max(1, history_.arrival_window_jobs)))
    arrival_limits_s_.pop_front();
  arrival_quantile_s_.reset();  // read again when the bound is next asked for
}

Seconds ServiceHistory::guard_after_s() const {
  if (!las_.predicted_remaining || las_.guard_quantile <= 0 ||
      arrival_limits_s_.size() < static_cast<size_t>(std::max(1, history_.min_jobs)))
    return -1;
  if (!arrival_quantile_s_) {
    std::vector<double> limits(arrival_limits_s_.begin(), arrival_limits_s_.end());
    const auto rank = limits.begin() + static_cast<std::ptrdiff_t>(
                                           QuantileRank(limits.size(), las_.guard_quantile));
    std::nth_element(limits.begin(), rank, limits.end());
    arrival_quantile_s_ = *rank;
  }
  return static_cast<Seconds>(*arrival_quantile_s_ * limit_fraction_);
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
  const double executed_s = ExecutedSeconds(job.attained_gpu_s, job.gpus);
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

namespace {

// The seconds `job` is predicted to run in all: its limit x limit_fraction, else its estimate;
// -1 when it has neither.
double PredictedRunSeconds(const LasJob& job) {
  if (Given(job.max_runtime_s)) return job.limit_fraction * static_cast<double>(job.max_runtime_s);
  if (Given(job.runtime_estimate_s)) return static_cast<double>(job.runtime_estimate_s);
  return -1;
}

}  // namespace

double PredictedRemainingSeconds(const LasJob& job) {
  const double ran = ExecutedSeconds(job.attained_gpu_s, job.gpus);
  const double predicted = PredictedRunSeconds(job);
  if (predicted < 0) return ran;
  const double left = std::max(predicted - ran, ran);
  if (!Given(job.max_runtime_s)) return left;
  return std::max(0.0, std::min(left, static_cast<double>(job.max_runtime_s) - ran));
}

namespace {

// Classes of predicted remaining time: 1 + floor(log_base(minutes)), 1 under a minute.
constexpr int64_t kRemainingClasses = 40;

int64_t RemainingClass(const LasConfig& las, double remaining_s) {
  const double minutes = std::max(1.0, remaining_s / 60);
  const double c = std::floor(std::log(minutes) / std::log(std::max(1.000001, las.class_base)));
  return std::clamp<int64_t>(1 + static_cast<int64_t>(c), 1, kRemainingClasses);
}

bool Guarded(const LasJob& job, double remaining_s) {
  return job.guard_after_s >= 0 &&
         static_cast<double>(job.age_s) + remaining_s >= static_cast<double>(job.guard_after_s);
}

// The queue under LasConfig::predicted_remaining, 0 the top. A running job with a prediction
// was started in its order and is not stopped for it; one without is a victim as under LAS.
int64_t PredictedQueue(const LasConfig& las, const LasJob& job) {
  if (job.running &&
      (PredictedRunSeconds(job) >= 0 || !job.checkpointable || !InVictimWindow(las, job)))
    return 0;
  const double remaining_s = PredictedRemainingSeconds(job);
  return Guarded(job, remaining_s) ? 0 : RemainingClass(las, remaining_s);
}

int32_t Saturate(int64_t p) {
  return static_cast<int32_t>(std::clamp<int64_t>(p, std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

}  // namespace

bool MayReserve(const LasConfig& las, const LasJob& job) {
  if (!las.enabled || !las.predicted_remaining || job.guard_after_s < 0) return true;
  return Guarded(job, PredictedRemainingSeconds(job));
}

int32_t LasPriority(const LasConfig& las, std::span<const double> thresholds_gpu_s,
                    const LasJob& job) {
  if (!las.enabled) return job.declared_priority;
  if (las.predicted_remaining)
    return Saturate(int64_t{job.declared_priority} * (kRemainingClasses + 1) +
                    (kRemainingClasses - PredictedQueue(las, job)));
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
  return Saturate(int64_t{job.declared_priority} * (levels + 1) + (levels - queue));
}

}  // namespace kumo::core
