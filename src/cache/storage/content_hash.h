// Content hashes for ETags and file names: XXH64 (seed 0) from Debian's libxxhash-dev, compiled
// inline (XXH_INLINE_ALL) so nothing new is linked.
//
// XXH64 is not a cryptographic hash: an ETag only has to change when the bytes change
// (RFC 9110 §8.8.3), and file names only have to spread keys across directories.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kumo::cache {

uint64_t Xxh64(std::string_view bytes);

// Streaming XXH64 for bodies that arrive in pieces. Not thread-safe.
class ContentHasher {
 public:
  ContentHasher();
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;
  void Update(std::string_view bytes);
  uint64_t Digest() const;

 private:
  void* state_;  // XXH64_state_t*, kept opaque so xxhash.h stays out of this header
};

// 16 lower-case hex digits: Hex64(0xab) == "00000000000000ab".
std::string Hex64(uint64_t v);

}  // namespace kumo::cache
