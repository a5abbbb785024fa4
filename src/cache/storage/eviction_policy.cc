#include "cache/storage/eviction_policy.h"

namespace kumo::cache {

Result<std::unique_ptr<EvictionPolicy>> MakeEvictionPolicy(std::string_view name,
                                                           uint64_t capacity_bytes) {
  if (name == "lru") return MakeLruPolicy();
  if (name == "s3fifo") return MakeS3FifoPolicy(capacity_bytes);
  return Error(Status::InvalidArgument("unknown eviction policy \"" + std::string(name) +
                                       "\" (want lru or s3fifo)"));
}

}  // namespace kumo::cache
