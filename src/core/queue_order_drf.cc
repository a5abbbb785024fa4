// "drf": priority, then weighted dominant-resource fair share across projects, then users'
// dominant shares within the project, then submit time, then id. The order inside one user's
// queue is a parameter (queue_order_drf.h): "drf-predicted" ranks it by aged predicted work.
//
// Worked example (capacity 64 GPUs; projects a (weight 1) and b (weight 3), GPU-only jobs):
//   a uses 8 GPUs -> share 8/64/1 = 0.125;  b uses 12 GPUs -> share 12/64/3 = 0.0625.
//   b's job is considered first. If it takes 8 more GPUs, b's share becomes 20/64/3 = 0.104,
//   still below a's, so b goes first again; after another 8 it is 28/64/3 = 0.146 > 0.125 and
//   a's job is next. Shares are updated after every admission in the pass.
#include <algorithm>
#include <map>

#include "core/queue_order_drf.h"

namespace kumo::core {
namespace {

class DrfOrder final : public QueueOrder {
 public:
  DrfOrder(std::string_view name, internal::UserQueueKeys keys) : name_(name), keys_(keys) {}

  std::string_view name() const override { return name_; }

  void Begin(const QueueContext& ctx, std::vector<QueueEntry> pending) override {
    ctx_ = ctx;
    levels_.clear();
    std::vector<Item> items;
    std::vector<double> keys =
        keys_ == nullptr ? std::vector<double>(pending.size(), 0.0) : keys_(ctx, pending);
    for (size_t i = 0; i < pending.size(); ++i) items.push_back(Item{pending[i], keys[i]});
    // Group by priority (descending), project, user; each user's jobs by key, submit time, id.
    std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
      const QueueEntry& a = x.entry;
      const QueueEntry& b = y.entry;
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.project != b.project) return a.project < b.project;
      if (a.user != b.user) return a.user < b.user;
      return Earlier(x, y);
    });
    for (const Item& item : items) {
      const QueueEntry& e = item.entry;
      if (levels_.empty() || levels_.back().priority != e.priority) {
        levels_.push_back(Level{e.priority, {}});
      }
      Level& level = levels_.back();
      if (level.projects.empty() || level.projects.back().project != e.project) {
        level.projects.push_back(ProjectQueue{e.project, {}});
      }
      ProjectQueue& pq = level.projects.back();
      if (pq.users.empty() || pq.users.back().user != e.user) {
        pq.users.push_back(UserQueue{e.user, {}, 0});
      }
      pq.users.back().jobs.push_back(item);
    }
    level_ = 0;
  }

  int32_t Next() override {
    while (level_ < levels_.size()) {
      Level& level = levels_[level_];
      ProjectQueue* best = nullptr;
      double best_share = 0;
      for (ProjectQueue& pq : level.projects) {
        if (pq.Empty()) continue;
        double share = ProjectShare(pq.project);
        if (best == nullptr || share < best_share) {  // ties: lower project index (stable)
          best = &pq;
          best_share = share;
        }
      }
      if (best == nullptr) {
        ++level_;
        continue;
      }
      UserQueue* best_user = nullptr;
      double best_user_share = 0;
      for (UserQueue& uq : best->users) {
        if (uq.next >= uq.jobs.size()) continue;
        double share = WeightedDominantShare(ctx_.user_usage[uq.user], ctx_.capacity, 1.0);
        const Item& head = uq.jobs[uq.next];
        if (best_user == nullptr || share < best_user_share ||
            (share == best_user_share && Earlier(head, best_user->jobs[best_user->next]))) {
          best_user = &uq;
          best_user_share = share;
        }
      }
      return best_user->jobs[best_user->next++].entry.job;
    }
    return -1;
  }

  void Admitted(const QueueEntry& e) override {
    ctx_.project_usage[e.project] += e.request;
    ctx_.user_usage[e.user] += e.request;
  }

 private:
  struct Item {
    QueueEntry entry;
    double key;  // rank inside the user's queue, lower first
  };
  struct UserQueue {
    int32_t user;
    std::vector<Item> jobs;
    size_t next;
  };
  struct ProjectQueue {
    int32_t project;
    std::vector<UserQueue> users;
    bool Empty() const {
      for (const UserQueue& u : users)
        if (u.next < u.jobs.size()) return false;
      return true;
    }
  };
  struct Level {
    int32_t priority;
    std::vector<ProjectQueue> projects;
  };

  static bool Earlier(const Item& x, const Item& y) {
    if (x.key != y.key) return x.key < y.key;
    if (x.entry.submit_time != y.entry.submit_time)
      return x.entry.submit_time < y.entry.submit_time;
    return *x.entry.id < *y.entry.id;
  }

  double ProjectShare(int32_t project) const {
    return WeightedDominantShare(ctx_.project_usage[project], ctx_.capacity,
                                 ctx_.project_weight[project]);
  }

  std::string_view name_;
  internal::UserQueueKeys keys_;
  QueueContext ctx_;
  std::vector<Level> levels_;
  size_t level_ = 0;
};

}  // namespace

std::unique_ptr<QueueOrder> MakeDrfOrder() { return internal::MakeDrfOrder("drf", nullptr); }

namespace internal {
std::unique_ptr<QueueOrder> MakeDrfOrder(std::string_view name, UserQueueKeys keys) {
  return std::make_unique<DrfOrder>(name, keys);
}
}  // namespace internal

}  // namespace kumo::core
