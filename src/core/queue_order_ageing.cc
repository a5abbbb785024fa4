// Ageing around any queue order (the contract and the argument are in queue_order.h).
//
// Worked example (age_after 600 s, now 1000, priorities equal, DRF inside): pending a@100 (a gang
// of a user with the larger share), b@900, c@950 (small jobs of users with none). DRF alone:
// b, c, a. a has waited 900 s >= 600: aged. Order: a, then b, c as DRF puts them.
#include <algorithm>
#include <memory>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/queue_order.h"

namespace kumo::core {
namespace {

class AgeingOrder final : public QueueOrder {
 public:
  AgeingOrder(std::unique_ptr<QueueOrder> inner, Seconds age_after_s)
      : inner_(std::move(inner)), age_after_s_(age_after_s) {}

  std::string_view name() const override { return inner_->name(); }

  void Begin(const QueueContext& ctx, std::vector<QueueEntry> pending) override {
    aged_.clear();
    inner_priority_.clear();
    inner_left_.clear();
    std::vector<QueueEntry> rest;
    for (QueueEntry& e : pending) {
      if (ctx.now - e.submit_time >= age_after_s_) {
        aged_.push_back(e);
      } else {
        inner_priority_[e.job] = e.priority;
        ++inner_left_[e.priority];
        rest.push_back(std::move(e));
      }
    }
    std::sort(aged_.begin(), aged_.end(), [](const QueueEntry& a, const QueueEntry& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.submit_time != b.submit_time) return a.submit_time < b.submit_time;
      return *a.id < *b.id;
    });
    next_aged_ = 0;
    inner_->Begin(ctx, std::move(rest));
  }

  // Every order returns higher priorities first (the QueueOrder contract), so the inner order's
  // next job has the highest priority among its jobs not yet returned: aged jobs of at least
  // that priority go before it. No look-ahead, so DRF's shares are exact at every step.
  int32_t Next() override {
    if (next_aged_ < aged_.size() &&
        (inner_left_.empty() || aged_[next_aged_].priority >= inner_left_.begin()->first))
      return aged_[next_aged_++].job;
    const int32_t j = inner_->Next();
    if (j >= 0) {
      auto left = inner_left_.find(inner_priority_.at(j));
      if (--left->second == 0) inner_left_.erase(left);
    }
    return j;
  }

  void Admitted(const QueueEntry& entry) override { inner_->Admitted(entry); }

 private:
  std::unique_ptr<QueueOrder> inner_;
  const Seconds age_after_s_;
  std::vector<QueueEntry> aged_;  // by priority (descending), submit time, id
  size_t next_aged_ = 0;
  std::unordered_map<int32_t, int32_t> inner_priority_;  // job -> priority, for inner's jobs
  std::map<int32_t, int32_t, std::greater<>> inner_left_;  // priority -> inner's jobs not returned
};

}  // namespace

std::unique_ptr<QueueOrder> MakeAgeingOrder(std::unique_ptr<QueueOrder> inner,
                                            Seconds age_after_s) {
  return std::make_unique<AgeingOrder>(std::move(inner), age_after_s);
}

}  // namespace kumo::core
