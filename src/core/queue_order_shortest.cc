// "shortest": priority, then the shortest maxRuntime first (jobs without one last), then submit
// time, then id -- shortest-job-first on the user's estimate. Given true runtimes it is the
// non-preemptive SJF bound the simulator compares against (sim's "sjf-oracle"; Tiresias, Gu et
// al., NSDI'19, compares with such an oracle). Admission does not change the order.
#include "core/queue_order_sorted.h"

namespace kumo::core {

std::unique_ptr<QueueOrder> MakeShortestOrder() {
  return std::make_unique<internal::SortedOrder>(
      "shortest", [](const QueueEntry& a, const QueueEntry& b) {
        if (a.priority != b.priority) return a.priority > b.priority;
        if (a.max_runtime != b.max_runtime) return a.max_runtime < b.max_runtime;
        if (a.submit_time != b.submit_time) return a.submit_time < b.submit_time;
        return *a.id < *b.id;
      });
}

}  // namespace kumo::core
