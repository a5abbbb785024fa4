#include "core/runtime_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace kumo::core {

// Nearest rank: the smallest runtime with at least `quantile` of the runs at or below it.
std::optional<Seconds> RuntimeEstimator::Quantile(const Runtimes* runs) const {
  if (runs == nullptr || runs->size() < static_cast<size_t>(std::max(1, config_.min_samples)))
    return std::nullopt;
  std::vector<Seconds> sorted(runs->begin(), runs->end());
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(config_.quantile * static_cast<double>(sorted.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size())));
  return std::max<Seconds>(1, sorted[i - 1]);
}

Seconds RuntimeEstimator::Estimate(const EstimateKey& key) const {
  if (!config_.enabled) return kNever;
  auto user_name = by_user_name_.find({key.user, key.name});
  if (auto q = Quantile(user_name == by_user_name_.end() ? nullptr : &user_name->second)) return *q;
  auto project = by_project_.find(key.project);
  if (auto q = Quantile(project == by_project_.end() ? nullptr : &project->second)) return *q;
  auto d = config_.class_default.find(key.priority_class);
  return d == config_.class_default.end() ? kNever : d->second;
}

void RuntimeEstimator::Push(Runtimes& runs, Seconds runtime_s) const {
  runs.push_back(runtime_s);
  while (runs.size() > static_cast<size_t>(std::max(1, config_.window))) runs.pop_front();
}

std::optional<double> RuntimeEstimator::Observe(const EstimateKey& key, Seconds runtime_s) {
  runtime_s = std::max<Seconds>(1, runtime_s);
  const Seconds before = Estimate(key);
  Push(by_user_name_[{key.user, key.name}], runtime_s);
  Push(by_project_[key.project], runtime_s);
  if (before >= kNever) return std::nullopt;
  return static_cast<double>(std::llabs(before - runtime_s)) / static_cast<double>(runtime_s);
}

Seconds PlannedEnd(Seconds start, Seconds max_runtime, Seconds estimate, Seconds now) {
  if (max_runtime < kNever) return std::max(now, start + max_runtime);
  if (estimate >= kNever) return kNever;
  if (start + estimate > now) return start + estimate;
  return now + std::max<Seconds>(1, now - start);
}

}  // namespace kumo::core
