// The `estimates:` and `ageing:` sections: values read into the core's structs, errors with
// file, line and field, and a bad section changes nothing.
#include "server/estimates_config.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

const char kFile[] = "policy.yaml";

TEST(EstimatesConfig, ReadsEveryField) {
  core::RuntimeEstimateConfig c;
  YAML::Node v = YAML::Load(
      "enabled: true\nquantile: 0.75\nwindow: 8\nminSamples: 3\n"
      "classDefaults: {normal: 1h, low: 90}\n");
  ASSERT_TRUE(LoadEstimatesConfig(kFile, v, "estimates", &c).ok());
  EXPECT_TRUE(c.enabled);
  EXPECT_DOUBLE_EQ(c.quantile, 0.75);
  EXPECT_EQ(c.window, 8);
  EXPECT_EQ(c.min_samples, 3);
  EXPECT_EQ(c.class_default,
            (std::map<std::string, core::Seconds>{{"normal", 3600}, {"low", 90}}));
}

TEST(EstimatesConfig, ErrorsNameFileLineAndFieldAndChangeNothing) {
  core::RuntimeEstimateConfig c;
  c.window = 5;
  auto err = [&](const std::string& yaml) {
    Status s = LoadEstimatesConfig(kFile, YAML::Load(yaml), "policy.estimates", &c);
    EXPECT_FALSE(s.ok()) << yaml;
    return s.message();
  };
  EXPECT_EQ(err("window: 9\nquantile: 1.5\n"),
            "policy.yaml:2: policy.estimates.quantile: must be in (0, 1]");
  EXPECT_EQ(err("windw: 9\n"), "policy.yaml:1: policy.estimates.windw: unknown field");
  EXPECT_EQ(err("window: 0\n"), "policy.yaml:1: policy.estimates.window: must be in 1..1000");
  EXPECT_EQ(err("classDefaults: {normal: soon}\n"),
            "policy.yaml:1: policy.estimates.classDefaults.normal: a duration > 0, e.g. 90, 30m, "
            "1h");
  EXPECT_EQ(err("window: 2\nminSamples: 3\n"),
            "policy.yaml:1: policy.estimates.minSamples: must not exceed window");
  EXPECT_NE(err("quantile: [1]\n").find("policy.yaml:1: policy.estimates"), std::string::npos);
  EXPECT_EQ(err("[1, 2]"), "policy.yaml:1: policy.estimates: expected a mapping");
  EXPECT_EQ(c.window, 5);  // every failed read left the struct as it was
}

TEST(AgeingConfig, ReadsDurationOrOff) {
  core::Seconds after = core::kNever;
  ASSERT_TRUE(LoadAgeingConfig(kFile, YAML::Load("after: 30m"), "ageing", &after).ok());
  EXPECT_EQ(after, 1800);
  ASSERT_TRUE(LoadAgeingConfig(kFile, YAML::Load("after: off"), "ageing", &after).ok());
  EXPECT_EQ(after, core::kNever);
  Status bad = LoadAgeingConfig(kFile, YAML::Load("after: 0"), "ageing", &after);
  EXPECT_EQ(bad.message(), "policy.yaml:1: ageing.after: a duration > 0, e.g. 90, 30m, 1h");
  Status unknown = LoadAgeingConfig(kFile, YAML::Load("afterSeconds: 5"), "ageing", &after);
  EXPECT_EQ(unknown.message(), "policy.yaml:1: ageing.afterSeconds: unknown field");
  EXPECT_EQ(after, core::kNever);
}

}  // namespace
}  // namespace kumo::server
