// SortedOrder: a queue order fixed when the pass begins, by one comparison of entries;
// admissions change nothing (internal to the core: "fifo" and "shortest" are two of them).
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

#include "core/queue_order.h"

namespace kumo::core::internal {

class SortedOrder final : public QueueOrder {
 public:
  // `less`: a strict weak order that puts higher priority first and breaks every tie (by id).
  using Less = bool (*)(const QueueEntry&, const QueueEntry&);
  SortedOrder(std::string_view name, Less less) : name_(name), less_(less) {}

  std::string_view name() const override { return name_; }

  void Begin(const QueueContext&, std::vector<QueueEntry> pending) override {
    entries_ = std::move(pending);
    std::sort(entries_.begin(), entries_.end(), less_);
    next_ = 0;
  }

  int32_t Next() override {
    if (next_ >= entries_.size()) return -1;
    return entries_[next_++].job;
  }

  void Admitted(const QueueEntry&) override {}

 private:
  std::string_view name_;
  Less less_;
  std::vector<QueueEntry> entries_;
  size_t next_ = 0;
};

}  // namespace kumo::core::internal
