#include "bind_record.h"

#include <algorithm>

namespace kumo::bench {

BindRecord::BindRecord(int pods, int group_size)
    : group_size_(group_size), created_s_(pods, -1), bound_s_(pods, -1), ended_s_(pods, -1) {}

void BindRecord::ObserveCreated(int index, double t_s) {
  if (index >= 0 && index < static_cast<int>(created_s_.size())) created_s_[index] = t_s;
}

void BindRecord::Observe(int index, bool bound, bool ended, double t_s) {
  if (index < 0 || index >= static_cast<int>(bound_s_.size())) return;
  // An ended pod was bound (KWOK only runs bound pods), even if the bind event was missed.
  if ((bound || ended) && bound_s_[index] < 0) {
    bound_s_[index] = t_s;
    ++bound_count_;
  }
  if (ended && ended_s_[index] < 0) {
    ended_s_[index] = t_s;
    ++ended_count_;
  }
}

int BindRecord::PartialPodsOfGroup(int group, double partial_grace_s) const {
  auto first = bound_s_.begin() + group * group_size_;
  std::vector<double> binds;
  for (auto it = first; it != first + group_size_; ++it)
    if (*it >= 0) binds.push_back(*it);
  std::sort(binds.begin(), binds.end());
  int partial = 0;
  for (double b : binds) {
    auto bound_by = std::upper_bound(binds.begin(), binds.end(), b + partial_grace_s);
    if (bound_by - binds.begin() < group_size_) ++partial;
  }
  return partial;
}

LoadSummary BindRecord::Summarize(double partial_grace_s) const {
  LoadSummary s;
  s.pods = static_cast<int>(bound_s_.size());
  s.bound = bound_count_;
  s.ended = ended_count_;
  for (double b : bound_s_) {
    if (b < 0) continue;
    s.first_bind_s = s.first_bind_s < 0 ? b : std::min(s.first_bind_s, b);
    s.last_bind_s = std::max(s.last_bind_s, b);
  }
  for (double e : ended_s_) s.last_end_s = std::max(s.last_end_s, e);
  if (group_size_ > 0) {
    for (int g = 0; g < s.pods / group_size_; ++g) {
      int partial = PartialPodsOfGroup(g, partial_grace_s);
      s.partial_pods += partial;
      s.partial_groups += partial > 0;
    }
  }
  return s;
}

std::vector<SecondCounts> BindRecord::PerSecond() const {
  std::vector<SecondCounts> rows;
  auto count = [&](const std::vector<double>& times, int SecondCounts::*field) {
    for (double t : times) {
      if (t < 0) continue;
      size_t second = static_cast<size_t>(t);
      while (rows.size() <= second) rows.push_back({static_cast<int>(rows.size())});
      ++(rows[second].*field);
    }
  };
  count(created_s_, &SecondCounts::created);
  count(bound_s_, &SecondCounts::bound);
  count(ended_s_, &SecondCounts::ended);
  return rows;
}

}  // namespace kumo::bench
