// "drf-predicted" (the rule, the bound and a worked example are in queue_order_predicted.h).
#include "core/queue_order_predicted.h"

#include <algorithm>
#include <limits>
#include <map>

#include "core/queue_order_drf.h"

namespace kumo::core {
namespace internal {

namespace {

// Lower median of the waits of each priority's pending jobs.
std::map<int32_t, double> MedianWaits(const QueueContext& ctx,
                                      const std::vector<QueueEntry>& pending) {
  std::map<int32_t, std::vector<double>> waits;
  for (const QueueEntry& e : pending)
    waits[e.priority].push_back(static_cast<double>(std::max<Seconds>(0, ctx.now - e.submit_time)));
  std::map<int32_t, double> median;
  for (auto& [priority, w] : waits) {
    auto mid = w.begin() + static_cast<std::ptrdiff_t>((w.size() - 1) / 2);
    std::nth_element(w.begin(), mid, w.end());
    median[priority] = *mid;
  }
  return median;
}

}  // namespace

std::vector<double> AgedPredictedWork(const QueueContext& ctx,
                                      const std::vector<QueueEntry>& pending) {
  const std::map<int32_t, double> median = MedianWaits(ctx, pending);
  std::vector<double> out;
  out.reserve(pending.size());
  for (const QueueEntry& e : pending) {
    const double wait = static_cast<double>(std::max<Seconds>(0, ctx.now - e.submit_time));
    const double horizon = ctx.relative_age * median.at(e.priority);
    // Nobody has waited (or ageing is off): the work as predicted.
    const double left = horizon > 0 ? std::max(0.0, 1.0 - wait / horizon) : 1.0;
    if (left == 0) {
      out.push_back(0);
    } else if (e.predicted_runtime >= kNever) {
      out.push_back(std::numeric_limits<double>::infinity());
    } else {
      const double share = WeightedDominantShare(e.request, ctx.capacity, 1.0);
      out.push_back(share * static_cast<double>(e.predicted_runtime) * left);
    }
  }
  return out;
}

}  // namespace internal

std::unique_ptr<QueueOrder> MakeDrfPredictedOrder() {
  return internal::MakeDrfOrder("drf-predicted", &internal::AgedPredictedWork);
}

}  // namespace kumo::core
