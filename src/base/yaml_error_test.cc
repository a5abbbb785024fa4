#include "base/yaml_error.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>

namespace kumo {
namespace {

TEST(YamlErrorTest, FileLineFieldMessage) {
  Status s = YamlError("inventory.yaml", 3, "nodes[0].cpu", "must be positive");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "inventory.yaml:3: nodes[0].cpu: must be positive");
  // No file (an HTTP body): the job spec's API form. No field: about the whole document.
  EXPECT_EQ(YamlError("", 8, "spec.x", "unknown field").message(), "line 8: spec.x: unknown field");
  EXPECT_EQ(YamlError("c.yaml", 1, "", "expected a mapping").message(),
            "c.yaml:1: expected a mapping");
}

TEST(YamlErrorTest, MarksAreZeroBasedAndNullMarksAreLineOne) {
  YAML::Node root = YAML::Load("a: 1\nb: [x, y]\n");
  EXPECT_EQ(YamlError("f.yaml", root["b"].Mark(), "b", "m").message(), "f.yaml:2: b: m");
  EXPECT_EQ(YamlError("f.yaml", YAML::Mark::null_mark(), "", "m").message(), "f.yaml:1: m");
}

TEST(YamlErrorTest, SyntaxErrorsSayInvalidYamlAtTheirLine) {
  try {
    YAML::Load("a: 1\nb: [x, y\n");
    FAIL() << "yaml-cpp accepted an unclosed list";
  } catch (const YAML::Exception& e) {
    Status s = YamlSyntaxError("f.yaml", e);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "f.yaml:" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
}

TEST(YamlErrorTest, InYamlFileMovesTheLineIntoTheFileForm) {
  Status parsed = YamlError("", 4, "nodes", "required field missing");
  EXPECT_EQ(InYamlFile("inv.yaml", parsed).message(), "inv.yaml:4: nodes: required field missing");
  Status other = Status::InvalidArgument("inventory larger than 4 MiB");
  EXPECT_EQ(InYamlFile("inv.yaml", other).message(), "inv.yaml: inventory larger than 4 MiB");
  EXPECT_EQ(InYamlFile("inv.yaml", Status::Internal("line x: no")).message(),
            "inv.yaml: line x: no");
  EXPECT_EQ(InYamlFile("inv.yaml", Status::Internal("line 1: x")).code(), StatusCode::kInternal);
}

TEST(YamlErrorTest, LoadYamlFileNamesTheFileOnEveryError) {
  std::string dir = ::testing::TempDir();
  std::string good = dir + "/yaml-error-good.yaml", bad = dir + "/yaml-error-bad.yaml";
  std::ofstream(good) << "a: 1\n";
  std::ofstream(bad) << "a: [1\n";
  auto loaded = LoadYamlFile(good);
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)["a"].as<int>(), 1);
  auto missing = LoadYamlFile(dir + "/yaml-error-missing.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message().rfind(dir + "/yaml-error-missing.yaml: ", 0), 0u);
  auto broken = LoadYamlFile(bad);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message().find("yaml-error-bad.yaml:"), std::string::npos);
  EXPECT_NE(broken.error().message().find("invalid YAML"), std::string::npos);
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace kumo
