// "fifo": priority, then submit time, then id. Admission does not change the order.
#include "core/queue_order_sorted.h"

namespace kumo::core {

std::unique_ptr<QueueOrder> MakeFifoOrder() {
  return std::make_unique<internal::SortedOrder>(
      "fifo", [](const QueueEntry& a, const QueueEntry& b) {
        if (a.priority != b.priority) return a.priority > b.priority;
        if (a.submit_time != b.submit_time) return a.submit_time < b.submit_time;
        return *a.id < *b.id;
      });
}

}  // namespace kumo::core
