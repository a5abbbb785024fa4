// Content hashes for ETags and file names: XXH64 (seed 0) from Debian's libxxhash-dev, compiled
// inline (XXH_INLINE_ALL) so nothing new is linked.
//
// XXH64 is not a cryptographic hash: an ETag only has to change when the bytes change
// (RFC 9110 §8.8.3), and file names only have to spread keys across directories.
//
// XXH3-128 is the dataset manifests' fast checksum (api/dataset_manifest.h): a pull checks
// every object with it instead of SHA-256 — ~0.1 s of CPU per GiB instead of ~0.7 — while the
// cache checked the SHA-256 once, when the object was uploaded (docs/datasets.md). Like XXH64
// it catches corruption, not an adversary.
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

// Streaming XXH3-128 (seed 0). Not thread-safe.
class Xxh3Hasher {
 public:
  Xxh3Hasher();
  ~Xxh3Hasher();
  Xxh3Hasher(const Xxh3Hasher&) = delete;
  Xxh3Hasher& operator=(const Xxh3Hasher&) = delete;
  void Update(std::string_view bytes);
  // 32 lower-case hex digits, the high 64 bits first (XXH128_canonical_t's byte order).
  std::string Hex() const;

 private:
  void* state_;  // XXH3_state_t*
};

// Xxh3Hasher's Hex of `bytes`.
std::string Xxh3Hex(std::string_view bytes);

// 16 lower-case hex digits: Hex64(0xab) == "00000000000000ab".
std::string Hex64(uint64_t v);

}  // namespace kumo::cache
