// Least recently used: a list ordered by last insert or hit; the tail is the victim.
// Simple and good for skewed reuse, but one pass over more data than fits (an epoch over a
// dataset larger than the cache) flushes everything hot — S3-FIFO exists for that case.
#include <list>
#include <unordered_map>

#include "cache/storage/eviction_policy.h"

namespace kumo::cache {
namespace {

class LruPolicy final : public EvictionPolicy {
 public:
  void OnInsert(const std::string& key, uint64_t) override {
    order_.push_front(key);
    where_[key] = order_.begin();
  }
  void OnAccess(const std::string& key) override {
    auto it = where_.find(key);
    if (it == where_.end()) return;
    order_.splice(order_.begin(), order_, it->second);  // O(1), allocates nothing
  }
  void OnRemove(const std::string& key) override {
    auto it = where_.find(key);
    if (it == where_.end()) return;
    order_.erase(it->second);
    where_.erase(it);
  }
  std::optional<std::string> Evict() override {
    if (order_.empty()) return std::nullopt;
    std::string victim = std::move(order_.back());
    order_.pop_back();
    where_.erase(victim);
    return victim;
  }
  size_t resident_count() const override { return where_.size(); }
  std::string_view name() const override { return "lru"; }

 private:
  std::list<std::string> order_;  // front: most recent
  std::unordered_map<std::string, std::list<std::string>::iterator> where_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> MakeLruPolicy() { return std::make_unique<LruPolicy>(); }

}  // namespace kumo::cache
