// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI'16, §3.4) over the cache's members: an immutable lookup table of kTableSize
// (a prime, 65,537) entries, each naming the member that owns the keys hashing to it.
//
// Construction (§3.4, "Pseudocode 1"): every member i gets a preference list
// permutation[i][j] = (offset_i + j * skip_i) mod M, with offset = h1(name) mod M and
// skip = h2(name) mod (M - 1) + 1 (M prime, so every skip visits every slot). Members take turns
// claiming the next free slot of their own list until the table is full, so each member owns
// either floor(M/N) or ceil(M/N) entries (balance by construction), and removing a member mostly
// hands its entries to others while the rest keep theirs (minimal disruption is approximate, not
// exact: §3.4 trades a little disruption for perfect balance).
//
// Members are ordered by name before building, so the table depends only on the set of names,
// not on the order of the member file. The table is immutable: the control side builds a new one
// and swaps it in through MaglevRouter (an atomic shared_ptr), the request path only loads it.
//
// Thread safety: MaglevTable is immutable after Build (any thread may Lookup); MaglevRouter's
// Load/Swap may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kumo::cache {

struct Member {
  std::string name;     // unique, e.g. "node-3"
  std::string address;  // host:port, used verbatim in redirects
};

class MaglevTable {
 public:
  static constexpr uint32_t kTableSize = 65537;  // prime (§3.4: M must be prime, M >> N)

  // InvalidArgument on an empty name, a duplicate name or an empty address. An empty list gives
  // an empty table (Lookup answers -1).
  static Result<std::shared_ptr<const MaglevTable>> Build(std::vector<Member> members);

  // The owning member's index into members(), or -1 when there are no members.
  int Lookup(std::string_view key) const { return LookupHash(KeyHash(key)); }
  // The same as Lookup(bucket + "/" + key), without building the string.
  int LookupObject(std::string_view bucket, std::string_view key) const {
    return LookupHash(ObjectHash(bucket, key));
  }
  int LookupHash(uint64_t hash) const {
    return entries_.empty() ? -1 : entries_[hash % kTableSize];
  }

  const std::vector<Member>& members() const { return members_; }  // sorted by name
  const std::vector<int32_t>& entries() const { return entries_; }
  // Index of the member called `name`, or -1.
  int IndexOf(std::string_view name) const;

  static uint64_t KeyHash(std::string_view key);
  static uint64_t ObjectHash(std::string_view bucket, std::string_view key);

 private:
  MaglevTable() = default;
  std::vector<Member> members_;
  std::vector<int32_t> entries_;  // kTableSize entries, or none
};

// What the request path asks: who owns a key, and is it me. Built by the control side.
struct ClusterView {
  std::shared_ptr<const MaglevTable> table;
  int self = -1;  // index of this node in table->members(), -1 when it is not a member
  uint64_t generation = 0;
};

// The hot path's handle on the current view: Load() is one atomic shared_ptr load; Swap()
// publishes a new view (readers holding the old one keep it alive until they drop it).
class MaglevRouter {
 public:
  std::shared_ptr<const ClusterView> Load() const { return view_.load(std::memory_order_acquire); }
  void Swap(std::shared_ptr<const ClusterView> view) {
    view_.store(std::move(view), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const ClusterView>> view_;
};

// Parses a member file: YAML (`members: [{name: a, address: "h:p"}, ...]`) or plain lines of
// `name host:port` ('#' starts a comment, blank lines skipped). InvalidArgument names the line.
Result<std::vector<Member>> ParseMemberList(std::string_view text);

}  // namespace kumo::cache
