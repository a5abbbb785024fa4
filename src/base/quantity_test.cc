#include "base/quantity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kumo {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMax = INT64_MAX;

// The values Kubernetes gives the same strings (resource.MustParse(s).Value()).
TEST(QuantityBytes, KubernetesMeaning) {
  EXPECT_EQ(ParseBytes("1000"), 1000);
  EXPECT_EQ(ParseBytes("0"), 0);
  EXPECT_EQ(ParseBytes("1k"), 1000);
  EXPECT_EQ(ParseBytes("2M"), 2'000'000);
  EXPECT_EQ(ParseBytes("1G"), 1'000'000'000);
  EXPECT_EQ(ParseBytes("1T"), int64_t{1'000'000'000'000});
  EXPECT_EQ(ParseBytes("1P"), int64_t{1'000'000'000'000'000});
  EXPECT_EQ(ParseBytes("9E"), int64_t{9'000'000'000'000'000'000});
  EXPECT_EQ(ParseBytes("1Ki"), 1024);
  EXPECT_EQ(ParseBytes("512Mi"), int64_t{512} << 20);
  EXPECT_EQ(ParseBytes("2Gi"), int64_t{2} << 30);
  EXPECT_EQ(ParseBytes("3Ti"), int64_t{3} << 40);
  EXPECT_EQ(ParseBytes("1Pi"), int64_t{1} << 50);
  EXPECT_EQ(ParseBytes("7Ei"), int64_t{7} << 60);
  // Fractions are fine when they give whole bytes: 1.5 * 2^30 = 3 * 2^29.
  EXPECT_EQ(ParseBytes("1.5Gi"), int64_t{3} << 29);
  EXPECT_EQ(ParseBytes("0.5k"), 500);
  EXPECT_EQ(ParseBytes("1.000000000000000000000000000000000"), 1);
  EXPECT_EQ(ParseBytes("8589934591Gi"), int64_t{8589934591} << 30);
  EXPECT_EQ(ParseBytes("9223372036854775807"), kMax);
}

TEST(QuantityBytes, RejectsWhatIsNotAWholeByteCount) {
  for (const char* bad : {"", "Gi", "0.5", "1.5", "0.0001k", "1K", "1GB", "1GiB", "1Zi", "1 Gi",
                          " 1", "-1Gi", "-0", "+1", "1e3", "1E3", "500m", ".5Gi", "5.Gi", "1..0",
                          "1.2.3", "0x10", "8589934592Gi", "8Ei", "10E", "9223372036854775808",
                          "99999999999999999999999"}) {
    EXPECT_FALSE(ParseBytes(bad).has_value()) << bad;
  }
}

TEST(QuantityBytes, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(ParseBytes("1K").error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseBytes("1K").error().message(), HasSubstr("\"1K\": unknown size suffix \"K\""));
  EXPECT_THAT(ParseBytes("0.5").error().message(), HasSubstr("not a whole number of bytes"));
  EXPECT_THAT(ParseBytes("-1Gi").error().message(), HasSubstr("must not be negative"));
  EXPECT_THAT(ParseBytes("8Ei").error().message(), HasSubstr("too large"));
  EXPECT_THAT(ParseBytes("x").error().message(), HasSubstr("unknown size suffix \"x\""));
  EXPECT_THAT(ParseBytes("1.2.3").error().message(), HasSubstr("not a number"));
}

TEST(QuantityMilli, CoresAndGpus) {
  EXPECT_EQ(ParseMilli("4"), 4000);
  EXPECT_EQ(ParseMilli("0.5"), 500);
  EXPECT_EQ(ParseMilli("500m"), 500);
  EXPECT_EQ(ParseMilli("1.250"), 1250);
  EXPECT_EQ(ParseMilli("1.000000000000000000000000000000000"), 1000);
  EXPECT_EQ(ParseMilli("0"), 0);
  EXPECT_EQ(ParseMilli("9223372036854775807m"), kMax);
  for (const char* bad : {"", "m", "-1", "+1", "0.0005", "1.5m", ".5", "5.", "1..0", "1e3", "1 ",
                          "9223372036854775808m", "9223372036854776", "1k", "1.2.3", "0x10"}) {
    EXPECT_FALSE(ParseMilli(bad).has_value()) << bad;
  }
  EXPECT_THAT(ParseMilli("0.0005").error().message(), HasSubstr("not a whole number of milli"));
}

TEST(QuantityDuration, UnitsInDescendingOrder) {
  EXPECT_EQ(ParseDurationSeconds("90"), 90);
  EXPECT_EQ(ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(ParseDurationSeconds("30m"), 1800);
  EXPECT_EQ(ParseDurationSeconds("2h"), 7200);
  EXPECT_EQ(ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(ParseDurationSeconds("1d"), 86400);
  EXPECT_EQ(ParseDurationSeconds("0"), 0);
  EXPECT_EQ(ParseDurationSeconds("1d2h3m4s"), 86400 + 7200 + 180 + 4);
  EXPECT_EQ(ParseDurationSeconds("90m"), 5400);
  EXPECT_EQ(ParseDurationSeconds("9223372036854775807"), kMax);
  EXPECT_EQ(ParseDurationSeconds("106751991167300d"), int64_t{106751991167300} * 86400);
  for (const char* bad :
       {"", "500ms", "1m1h", "1h1h", "1h30", "h", "-5", "-5s", "1.5h", "1.5", "90.0", "1.000",
        "0.0", "1.", ".5", "1w", "1 h", "9223372036854775808", "106751991167301d",
        "106751991167300d100000s"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).has_value()) << bad;
  }
  EXPECT_THAT(ParseDurationSeconds("1m1h").error().message(), HasSubstr("in that order"));
  EXPECT_THAT(ParseDurationSeconds("106751991167301d").error().message(), HasSubstr("too long"));
  EXPECT_THAT(ParseDurationSeconds("90.0").error().message(), HasSubstr("whole number"));
  EXPECT_THAT(ParseDurationSeconds("-5").error().message(), HasSubstr("negative"));
}

}  // namespace
}  // namespace kumo
