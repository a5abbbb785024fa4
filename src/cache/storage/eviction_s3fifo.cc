// S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP'23).
//
// Three FIFO queues: a small one S (10% of the capacity) that every new object enters, a main
// one M, and a ghost queue G of keys recently evicted from S (no data). Most objects are used
// once ("one-hit wonders"); S drops them quickly without disturbing M:
//   - a hit only bumps a 2-bit counter (freq = min(freq + 1, 3)); nothing moves, so a hit is
//     cheap and a scan cannot reorder anything;
//   - evicting from S: the tail moves to M if it was read while in S, else it is evicted and
//     its key remembered in G;
//   - evicting from M: the tail is reinserted at the head with freq - 1 while freq > 0
//     (CLOCK-like), else evicted;
//   - a new object whose key is in G goes straight to M (it was evicted from S too early).
// We evict from S while S holds ≥ 10% of the capacity, else from M (Algorithm 1 of the paper).
//
// Worked example, capacity 100 one-byte objects: 20 hot objects are inserted and each read
// once; a scan then inserts 500 objects read never. When the cache fills, S's tail is a hot
// object (freq 1) → moved to M; after the 20 hot ones have moved, S holds only scan objects
// (freq 0), S ≥ 10 bytes, so every eviction takes a scan object from S. The 20 hot objects
// stay in M through the whole scan; LRU would have evicted them after 80 inserts.
//
// Sizes are in bytes, so S's share is 10% of bytes, not of objects. G holds at most as many
// keys as there are resident objects (the paper sizes G like M).
#include <algorithm>
#include <list>
#include <unordered_map>

#include "cache/storage/eviction_policy.h"

namespace kumo::cache {
namespace {

class S3FifoPolicy final : public EvictionPolicy {
 public:
  explicit S3FifoPolicy(uint64_t capacity_bytes) : small_target_bytes_(capacity_bytes / 10) {}

  void OnInsert(const std::string& key, uint64_t size_bytes) override {
    Entry e;
    e.size_bytes = size_bytes;
    auto ghost = ghost_where_.find(key);
    if (ghost != ghost_where_.end()) {
      ghost_.erase(ghost->second);
      ghost_where_.erase(ghost);
      e.in_main = true;
      main_.push_front(key);
      e.pos = main_.begin();
      main_bytes_ += size_bytes;
    } else {
      small_.push_front(key);
      e.pos = small_.begin();
      small_bytes_ += size_bytes;
    }
    entries_.emplace(key, e);
  }

  void OnAccess(const std::string& key) override {
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.freq < 3) ++it->second.freq;
  }

  void OnRemove(const std::string& key) override {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (e.in_main) {
      main_.erase(e.pos);
      main_bytes_ -= e.size_bytes;
    } else {
      small_.erase(e.pos);
      small_bytes_ -= e.size_bytes;
    }
    entries_.erase(it);
  }

  std::optional<std::string> Evict() override {
    // Terminates: each pass moves an object S→M (S shrinks) or lowers a freq in M (bounded by 3
    // per object) or evicts.
    while (!small_.empty() || !main_.empty()) {
      if (!small_.empty() && (small_bytes_ >= small_target_bytes_ || main_.empty())) {
        std::string key = std::move(small_.back());
        small_.pop_back();
        Entry& e = entries_.at(key);
        small_bytes_ -= e.size_bytes;
        if (e.freq > 0) {
          e.freq = 0;
          e.in_main = true;
          main_.push_front(key);
          e.pos = main_.begin();
          main_bytes_ += e.size_bytes;
          continue;
        }
        entries_.erase(key);
        RememberGhost(key);
        return key;
      }
      std::string key = std::move(main_.back());
      main_.pop_back();
      Entry& e = entries_.at(key);
      if (e.freq > 0) {
        --e.freq;
        main_.push_front(key);
        e.pos = main_.begin();
        continue;
      }
      main_bytes_ -= e.size_bytes;
      entries_.erase(key);
      return key;
    }
    return std::nullopt;
  }

  size_t resident_count() const override { return entries_.size(); }
  std::string_view name() const override { return "s3fifo"; }

 private:
  struct Entry {
    uint64_t size_bytes = 0;
    uint8_t freq = 0;  // 0..3
    bool in_main = false;
    std::list<std::string>::iterator pos;
  };

  void RememberGhost(const std::string& key) {
    ghost_.push_front(key);
    ghost_where_[key] = ghost_.begin();
    size_t limit = std::max<size_t>(entries_.size(), 1);
    while (ghost_.size() > limit) {
      ghost_where_.erase(ghost_.back());
      ghost_.pop_back();
    }
  }

  const uint64_t small_target_bytes_;
  std::list<std::string> small_, main_, ghost_;  // front: newest
  uint64_t small_bytes_ = 0, main_bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, std::list<std::string>::iterator> ghost_where_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> MakeS3FifoPolicy(uint64_t capacity_bytes) {
  return std::make_unique<S3FifoPolicy>(capacity_bytes);
}

}  // namespace kumo::cache
