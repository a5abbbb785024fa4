// "fifo": priority, then submit time, then id. Admission does not change the order.
#include <algorithm>

#include "core/queue_order.h"

namespace kumo::core {
namespace {

class FifoOrder final : public QueueOrder {
 public:
  std::string_view name() const override { return "fifo"; }

  void Begin(const QueueContext&, std::vector<QueueEntry> pending) override {
    entries_ = std::move(pending);
    std::sort(entries_.begin(), entries_.end(), [](const QueueEntry& a, const QueueEntry& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.submit_time != b.submit_time) return a.submit_time < b.submit_time;
      return *a.id < *b.id;
    });
    next_ = 0;
  }

  int32_t Next() override {
    if (next_ >= entries_.size()) return -1;
    return entries_[next_++].job;
  }

  void Admitted(const QueueEntry&) override {}

 private:
  std::vector<QueueEntry> entries_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<QueueOrder> MakeFifoOrder() { return std::make_unique<FifoOrder>(); }

}  // namespace kumo::core
