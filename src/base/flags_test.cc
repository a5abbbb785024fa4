#include "base/flags.h"

#include <gtest/gtest.h>

namespace kumo {
namespace {

struct Parsed {
  std::string listen = "127.0.0.1:7080";
  int workers = 1;
  bool verbose = false;
};

std::optional<int> Parse(const std::vector<std::string>& args, Parsed* out) {
  CLI::App app("test command", "kumo test");
  app.add_option("--listen", out->listen, "address");
  app.add_option("--workers", out->workers, "threads")->check(CLI::PositiveNumber);
  app.add_flag("--verbose", out->verbose, "more output");
  return ParseFlags(app, args);
}

TEST(ParseFlagsTest, BindsValuesInOrder) {
  Parsed p;
  EXPECT_EQ(Parse({"--listen", "127.0.0.1:0", "--workers=3", "--verbose"}, &p), std::nullopt);
  EXPECT_EQ(p.listen, "127.0.0.1:0");
  EXPECT_EQ(p.workers, 3);
  EXPECT_TRUE(p.verbose);
}

TEST(ParseFlagsTest, DefaultsStayWhenAbsent) {
  Parsed p;
  EXPECT_EQ(Parse({}, &p), std::nullopt);
  EXPECT_EQ(p.listen, "127.0.0.1:7080");
  EXPECT_EQ(p.workers, 1);
}

TEST(ParseFlagsTest, HelpExitsZero) {
  Parsed p;
  testing::internal::CaptureStdout();
  EXPECT_EQ(Parse({"--help"}, &p), 0);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("--workers"), std::string::npos) << out;
}

TEST(ParseFlagsTest, UsageErrorsExitTwoAndNameTheCommand) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"--nope"},
                                       std::vector<std::string>{"--workers", "zero"},
                                       std::vector<std::string>{"--workers", "0"},
                                       std::vector<std::string>{"--listen"}}) {
    Parsed p;
    testing::internal::CaptureStderr();
    EXPECT_EQ(Parse(bad, &p), 2) << bad[0];
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.rfind("kumo test: ", 0), 0u) << err;
  }
}

std::optional<int> ParseGrace(const std::string& value, double* grace) {
  CLI::App app("test command", "kumo test");
  app.add_option("--grace", *grace, "seconds")->check(NonNegative());
  return ParseFlags(app, {"--grace", value});
}

TEST(ParseFlagsTest, NonNegativeQuotesTheBadValue) {
  double grace = 30;
  EXPECT_EQ(ParseGrace("0", &grace), std::nullopt);
  EXPECT_EQ(grace, 0);
  for (const char* bad : {"-1", "x", "1s"}) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseGrace(bad, &grace), 2) << bad;
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--grace: \"" + std::string(bad) + "\" is not a non-negative number"),
              std::string::npos)
        << err;
  }
}

Result<int> ParseDigit(std::string_view v) {
  if (v.size() == 1 && v[0] >= '0' && v[0] <= '9') return v[0] - '0';
  return Error(Status::InvalidArgument("\"" + std::string(v) + "\" is not a digit"));
}

TEST(ParseFlagsTest, ParsesGivesTheParsersError) {
  std::string digit;
  CLI::App app("test command", "kumo test");
  app.add_option("--digit", digit, "one digit")->check(Parses(ParseDigit, "0-9"));
  EXPECT_EQ(ParseFlags(app, {"--digit", "7"}), std::nullopt);
  EXPECT_EQ(digit, "7");
  CLI::App again("test command", "kumo test");
  again.add_option("--digit", digit, "one digit")->check(Parses(ParseDigit, "0-9"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseFlags(again, {"--digit", "x"}), 2);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--digit: \"x\" is not a digit"), std::string::npos) << err;
}

}  // namespace
}  // namespace kumo
