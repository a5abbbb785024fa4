#include "core/queue_order.h"

#include <algorithm>

namespace kumo::core {

double WeightedDominantShare(const ResourceVector& usage, const ResourceVector& capacity,
                             double weight) {
  double dominant = 0.0;
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (capacity[k] <= 0) continue;
    dominant = std::max(dominant, static_cast<double>(usage[k]) / static_cast<double>(capacity[k]));
  }
  return dominant / (weight > 0 ? weight : 1.0);
}

Result<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name) {
  if (name == "fifo") return MakeFifoOrder();
  if (name == "drf") return MakeDrfOrder();
  if (name == "shortest") return MakeShortestOrder();
  if (name == "drf-predicted") return MakeDrfPredictedOrder();
  return Error(Status::InvalidArgument("unknown queue order \"" + std::string(name) +
                                       "\" (known: fifo, drf, shortest, drf-predicted)"));
}

}  // namespace kumo::core
