#include "server/result_metrics.h"

#include <gtest/gtest.h>

#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

TEST(ReadMetrics, ObjectMissingAndBadFiles) {
  ::kumo::testing::TempDir dir;
  EXPECT_TRUE(ReadMetrics(dir.Path("")).is_null());
  dir.Write("metrics.json", R"({"loss": 0.25, "acc": 0.9})");
  EXPECT_EQ(ReadMetrics(dir.Path("")), nlohmann::json({{"loss", 0.25}, {"acc", 0.9}}));
  dir.Write("metrics.json", "[1, 2]");
  EXPECT_EQ(ReadMetrics(dir.Path(""))["error"], "metrics.json is not a JSON object");
  dir.Write("metrics.json", "{\"loss\": ");
  EXPECT_EQ(ReadMetrics(dir.Path(""))["error"], "metrics.json is not a JSON object");
  dir.Write("metrics.json", "{\"x\": \"" + std::string(kMaxMetricsBytes, 'a') + "\"}");
  EXPECT_NE(ReadMetrics(dir.Path(""))["error"].get<std::string>().find("at most 1 MiB"),
            std::string::npos);
}

}  // namespace
}  // namespace kumo::server
