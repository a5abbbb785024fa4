#include "sim/metrics.h"

#include <algorithm>
#include <utility>

namespace kumo::sim {

using core::Seconds;

std::vector<double> FairShares(const std::vector<double>& demand, const std::vector<double>& weight,
                               double capacity) {
  const size_t n = demand.size();
  std::vector<double> share(n, 0.0);
  std::vector<bool> done(n, false);
  double left = capacity;
  for (size_t round = 0; round < n && left > 1e-9; ++round) {
    double wsum = 0;
    for (size_t i = 0; i < n; ++i)
      if (!done[i] && demand[i] > 0) wsum += weight[i];
    if (wsum <= 0) break;
    bool capped = false;
    for (size_t i = 0; i < n; ++i) {
      if (done[i] || demand[i] <= 0) continue;
      double offer = left * weight[i] / wsum;
      if (share[i] + offer >= demand[i]) {
        left -= demand[i] - share[i];
        share[i] = demand[i];
        done[i] = true;
        capped = true;
      }
    }
    if (!capped) {
      for (size_t i = 0; i < n; ++i)
        if (!done[i] && demand[i] > 0) share[i] += left * weight[i] / wsum;
      left = 0;
    }
  }
  return share;
}

const char* GangClass(int64_t gpu_milli) {
  if (gpu_milli <= 1000) return "1";
  if (gpu_milli <= 8000) return "2-8";
  if (gpu_milli <= 32000) return "9-32";
  return ">32";
}

SimMetrics::SimMetrics(Seconds first_arrival, Seconds last_arrival, double capacity_gpu_milli,
                       std::vector<double> project_weights)
    : t0_(first_arrival),
      last_arrival_(last_arrival),
      capacity_(capacity_gpu_milli),
      weights_(std::move(project_weights)),
      pending_gpu_(weights_.size(), 0),
      running_gpu_(weights_.size(), 0),
      last_end_(first_arrival) {}

void SimMetrics::StartsWaiting(int32_t project, int64_t gpu_milli) {
  ++pending_jobs_;
  pending_gpu_[project] += static_cast<double>(gpu_milli);
}

void SimMetrics::StopsWaiting(int32_t project, int64_t gpu_milli) {
  --pending_jobs_;
  pending_gpu_[project] -= static_cast<double>(gpu_milli);
}

void SimMetrics::Holds(int32_t project, int64_t gpu_milli) {
  allocated_ += gpu_milli;
  running_gpu_[project] += static_cast<double>(gpu_milli);
}

void SimMetrics::Releases(int32_t project, int64_t gpu_milli) {
  allocated_ -= gpu_milli;
  running_gpu_[project] -= static_cast<double>(gpu_milli);
}

void SimMetrics::Advance(Seconds from, Seconds to) {
  const double dt = static_cast<double>(to - from);
  const double allocated = static_cast<double>(allocated_);
  alloc_integral_ += allocated * dt;
  if (pending_jobs_ > 0) {
    contended_alloc_integral_ += allocated * dt;
    contended_time_ += dt;
  }
  // Over the arrival window (the same for every policy): [first arrival, last arrival].
  const double w0 = static_cast<double>(std::max(from, t0_));
  const double w1 = static_cast<double>(std::min(to, last_arrival_));
  if (w1 > w0) window_alloc_integral_ += allocated * (w1 - w0);
  // Fairness: only while some job waits.
  if (pending_jobs_ > 0) AdvanceFairness(dt);
}

// Jain's index of the projects' allocation relative to their fair shares, (Σx)² / (k Σx²) with
// x = allocated / fair share over the k projects that want GPUs: 1 when every project has its
// share. Sampled only while at least two projects want GPUs.
void SimMetrics::AdvanceFairness(double dt) {
  const size_t np = weights_.size();
  std::vector<double> demand(np);
  int active = 0;
  for (size_t p = 0; p < np; ++p) {
    demand[p] = pending_gpu_[p] + running_gpu_[p];
    active += demand[p] > 0;
  }
  if (active < 2) return;
  std::vector<double> share = FairShares(demand, weights_, capacity_);
  double sx = 0, sxx = 0;
  int k = 0;
  for (size_t p = 0; p < np; ++p) {
    if (demand[p] <= 0 || share[p] <= 0) continue;
    double x = running_gpu_[p] / share[p];
    sx += x;
    sxx += x * x;
    ++k;
  }
  if (k > 0 && sxx > 0) {
    jain_integral_ += (sx * sx) / (k * sxx) * dt;
    jain_time_ += dt;
  }
}

void SimMetrics::RecordPassTime(double pass_ms) { pass_ms_.push_back(pass_ms); }

void SimMetrics::Sample(Seconds now) {
  series_.push_back(SeriesPoint{now, pending_jobs_, allocated_});
}

void SimMetrics::Lost(Seconds at, double gpu_milli_s) {
  if (at >= t0_ && at <= last_arrival_) window_lost_ += gpu_milli_s;
}

void SimMetrics::Completed(const JobOutcome& o) {
  const double jct = static_cast<double>(o.end - o.submit);
  const double wait = static_cast<double>(o.first_start - o.submit);
  const char* size = GangClass(o.gpu_milli);
  jct_.push_back(jct);
  wait_.push_back(wait);
  queue_.push_back(static_cast<double>(o.queued));
  if (o.fair_alone_s > 0) rho_.push_back(jct / o.fair_alone_s);
  jct_by_class_[size].push_back(jct);
  wait_by_class_[size].push_back(wait);
  queue_by_class_[size].push_back(static_cast<double>(o.queued));
  slowdown_[o.project].push_back(jct / static_cast<double>(std::max<Seconds>(1, o.duration)));
  last_end_ = std::max(last_end_, o.end);
}

void SimMetrics::Finish(SimReport& rep) const {
  rep.jct_s = Summarize(jct_);
  rep.wait_s = Summarize(wait_);
  rep.queue_s = Summarize(queue_);
  for (const auto& [k, v] : queue_by_class_) rep.queue_by_class[k] = Summarize(v);
  const Distribution rho = Summarize(rho_);
  rep.ftf_rho_mean = rho.mean;
  rep.ftf_rho_max = rho_.empty() ? 0 : *std::max_element(rho_.begin(), rho_.end());
  for (const auto& [k, v] : jct_by_class_) rep.jct_by_class[k] = Summarize(v);
  for (const auto& [k, v] : wait_by_class_) rep.wait_by_class[k] = Summarize(v);
  for (const auto& [k, v] : slowdown_) rep.slowdown_by_project[k] = Summarize(v).mean;
  rep.makespan_s = last_end_ - t0_;
  rep.gpu_allocation_makespan =
      rep.makespan_s > 0 ? alloc_integral_ / (capacity_ * static_cast<double>(rep.makespan_s)) : 0;
  rep.gpu_allocation_contended = contended_time_ > 0
                                     ? contended_alloc_integral_ / (capacity_ * contended_time_)
                                     : rep.gpu_allocation_makespan;
  rep.gpu_allocation =
      last_arrival_ > t0_
          ? window_alloc_integral_ / (capacity_ * static_cast<double>(last_arrival_ - t0_))
          : rep.gpu_allocation_makespan;
  rep.goodput = last_arrival_ > t0_ ? (window_alloc_integral_ - window_lost_) /
                                         (capacity_ * static_cast<double>(last_arrival_ - t0_))
                                   : rep.gpu_allocation;
  rep.contended_hours = contended_time_ / 3600.0;
  rep.jain_fairness = jain_time_ > 0 ? jain_integral_ / jain_time_ : 1.0;
  rep.passes = static_cast<int64_t>(pass_ms_.size());
  const Distribution pass = Summarize(pass_ms_);
  rep.pass_ms_mean = pass.mean;
  rep.pass_ms_p99 = pass.p99;
  rep.series = series_;
}

}  // namespace kumo::sim
