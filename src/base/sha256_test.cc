#include "base/sha256.h"

#include <gtest/gtest.h>

namespace kumo {
namespace {

// Test vectors from FIPS 180-4's examples (NIST CSRC "SHA256.pdf").
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, StreamingEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 31));
  Sha256 h;
  for (size_t at = 0; at < data.size(); at += 4093) h.Update(std::string_view(data).substr(at, 4093));
  EXPECT_EQ(h.FinishHex(), Sha256Hex(data));
}

}  // namespace
}  // namespace kumo

namespace kumo {
namespace {

TEST(IsLowerHexTest, ExactlyThatManyLowerCaseHexDigits) {
  EXPECT_TRUE(IsLowerHex(Sha256Hex("abc"), 64));
  EXPECT_TRUE(IsLowerHex("0123456789abcdef", 16));
  EXPECT_FALSE(IsLowerHex("0123456789ABCDEF", 16));  // upper case
  EXPECT_FALSE(IsLowerHex("0123456789abcdeg", 16));
  EXPECT_FALSE(IsLowerHex("0123456789abcde", 16));   // one short
  EXPECT_FALSE(IsLowerHex("", 1));
  EXPECT_TRUE(IsLowerHex("", 0));
}

}  // namespace
}  // namespace kumo
