// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface: one call for a whole buffer, or a
// streaming hasher for files and uploads that do not fit in memory.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kumo {

// Lower-case hex of SHA-256(data): 64 characters.
std::string Sha256Hex(std::string_view data);

// Whether `s` is exactly `digits` lower-case hex characters: the form Sha256Hex writes (64) and
// the dataset manifests' XXH3-128 checksums take (32).
bool IsLowerHex(std::string_view s, size_t digits);

// Feed bytes with Update, then read the digest once with FinishHex.
// Not thread-safe; one hasher per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // REQUIRES: called at most once; no Update after it.
  std::string FinishHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kumo
