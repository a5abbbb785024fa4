// Which object the cache drops when it needs room. One interface, one file per policy, chosen
// by name ("lru", "s3fifo"); every policy passes eviction_policy_test.cc's contract test.
//
// Policies see only keys and sizes: no I/O, no clock, no threads, so their tests are plain calls.
// The store tells the policy what happened (insert, access, remove) and asks for a victim when
// used + incoming bytes would exceed the capacity; it removes the victim itself.
//
// Thread safety: none; the store calls a policy under its index lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kumo::cache {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // A new object is resident. REQUIRES: `key` is not resident.
  virtual void OnInsert(const std::string& key, uint64_t size_bytes) = 0;
  // A read hit. No-op when `key` is not resident.
  virtual void OnAccess(const std::string& key) = 0;
  // The object was deleted or replaced. No-op when `key` is not resident.
  virtual void OnRemove(const std::string& key) = 0;
  // Picks the next victim and forgets it; nullopt when nothing is resident.
  virtual std::optional<std::string> Evict() = 0;
  virtual size_t resident_count() const = 0;
  virtual std::string_view name() const = 0;
};

// "lru" or "s3fifo"; InvalidArgument for any other name. `capacity_bytes` sizes S3-FIFO's
// small queue (10% of it).
Result<std::unique_ptr<EvictionPolicy>> MakeEvictionPolicy(std::string_view name,
                                                           uint64_t capacity_bytes);

std::unique_ptr<EvictionPolicy> MakeLruPolicy();
std::unique_ptr<EvictionPolicy> MakeS3FifoPolicy(uint64_t capacity_bytes);

}  // namespace kumo::cache
