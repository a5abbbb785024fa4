#include "sim/seeds.h"

#include <gtest/gtest.h>

namespace kumo::sim {
namespace {

SimReport Report(const std::string& policy, double mean_jct_s, double goodput) {
  SimReport r;
  r.policy = policy;
  r.jct_s.mean = mean_jct_s;
  r.goodput = goodput;
  return r;
}

const MetricSpread& Find(const PolicySpread& p, const std::string& metric) {
  for (const MetricSpread& m : p.metrics)
    if (m.metric == metric) return m;
  ADD_FAILURE() << "no metric " << metric;
  return p.metrics.front();
}

TEST(Seeds, MedianAndRangePerPolicyAndMetric) {
  // Three seeds: a's mean JCT 30, 10, 20 -> median 20, range 10..30; b's goodput 0.5, 0.7, 0.6.
  std::vector<std::vector<SimReport>> runs = {
      {Report("a", 30, 0.1), Report("b", 1, 0.5)},
      {Report("a", 10, 0.1), Report("b", 1, 0.7)},
      {Report("a", 20, 0.1), Report("b", 1, 0.6)},
  };
  auto spreads = SpreadOverSeeds(runs);
  ASSERT_EQ(spreads.size(), 2u);
  EXPECT_EQ(spreads[0].policy, "a");
  const MetricSpread& jct = Find(spreads[0], "mean_jct_s");
  EXPECT_EQ(jct.median, 20);
  EXPECT_EQ(jct.min, 10);
  EXPECT_EQ(jct.max, 30);
  EXPECT_DOUBLE_EQ(Find(spreads[1], "goodput").median, 0.6);
  // Two seeds: the median is the mean of the two.
  runs.pop_back();
  EXPECT_EQ(Find(SpreadOverSeeds(runs)[0], "mean_jct_s").median, 20);
  // The JSON puts each median where a single-seed report has the value.
  const std::string json = SpreadToJson("t", 1.2, {1, 2}, SpreadOverSeeds(runs));
  EXPECT_NE(json.find("\"a\":{\"mean_jct_s\":20,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"mean_jct_s\":{\"median\":20,\"min\":10,\"max\":30}"), std::string::npos)
      << json;
}

}  // namespace
}  // namespace kumo::sim
