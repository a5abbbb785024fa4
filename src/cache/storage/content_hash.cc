#include "cache/storage/content_hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace kumo::cache {
namespace {
// The 128-bit digest as 32 lower-case hex digits, high half first (XXH128's canonical order).
std::string Hex128(XXH128_hash_t h) { return Hex64(h.high64) + Hex64(h.low64); }
}  // namespace

uint64_t Xxh64(std::string_view bytes) { return XXH64(bytes.data(), bytes.size(), 0); }

ContentHasher::ContentHasher() : state_(XXH64_createState()) {
  XXH64_reset(static_cast<XXH64_state_t*>(state_), 0);
}
ContentHasher::~ContentHasher() { XXH64_freeState(static_cast<XXH64_state_t*>(state_)); }
void ContentHasher::Update(std::string_view bytes) {
  XXH64_update(static_cast<XXH64_state_t*>(state_), bytes.data(), bytes.size());
}
uint64_t ContentHasher::Digest() const {
  return XXH64_digest(static_cast<const XXH64_state_t*>(state_));
}

Xxh3Hasher::Xxh3Hasher() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}
Xxh3Hasher::~Xxh3Hasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void Xxh3Hasher::Update(std::string_view bytes) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
}
std::string Xxh3Hasher::Hex() const {
  return Hex128(XXH3_128bits_digest(static_cast<const XXH3_state_t*>(state_)));
}

std::string Xxh3Hex(std::string_view bytes) {
  return Hex128(XXH3_128bits(bytes.data(), bytes.size()));
}

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 0xf];
  return s;
}

}  // namespace kumo::cache
