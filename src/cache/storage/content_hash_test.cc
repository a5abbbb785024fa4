#include "cache/storage/content_hash.h"

#include <gtest/gtest.h>

#include <string>

namespace kumo::cache {
namespace {

// Reference vectors of XXH3-128, seed 0 (xxHash's own sanity-check tables), high half first.
TEST(ContentHash, Xxh3MatchesTheReferenceVectors) {
  EXPECT_EQ(Xxh3Hex(""), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(Xxh3Hex("abc"), "06b05ab6733a618578af5f94892f3950");
}

// A body that arrives in pieces hashes as it would whole, whatever the cut (the streaming
// state crosses XXH3's 240-byte short-input path and its 1 KiB stripes).
TEST(ContentHash, Xxh3StreamedEqualsWhole) {
  std::string bytes(5000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + 7);
  for (size_t cut : {0u, 1u, 239u, 240u, 241u, 1024u, 4999u, 5000u}) {
    Xxh3Hasher h;
    h.Update(std::string_view(bytes).substr(0, cut));
    h.Update(std::string_view(bytes).substr(cut));
    EXPECT_EQ(h.Hex(), Xxh3Hex(bytes)) << "cut at " << cut;
  }
  EXPECT_NE(Xxh3Hex(bytes), Xxh3Hex(bytes.substr(1)));
}

}  // namespace
}  // namespace kumo::cache
