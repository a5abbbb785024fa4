// RuntimeEstimator: the quantile arithmetic, the fallback chain (user + name, project, class),
// the window, the error it reports; PlannedEnd: limits, estimates and overruns.
#include "core/runtime_estimate.h"

#include <gtest/gtest.h>

namespace kumo::core {
namespace {

EstimateKey Key(const std::string& user, const std::string& name,
                const std::string& project = "p", const std::string& cls = "normal") {
  return EstimateKey{user, project, name, cls};
}

TEST(RuntimeEstimator, HeaderWorkedExample) {
  RuntimeEstimator est;  // quantile 0.5, min_samples 2
  est.Observe(Key("alice", "train"), 100);
  est.Observe(Key("alice", "train"), 300);
  est.Observe(Key("alice", "train"), 200);
  // Sorted 100, 200, 300; nearest rank ceil(0.5 x 3) = 2 -> 200.
  EXPECT_EQ(est.Estimate(Key("alice", "train")), 200);
  // "eval" has no history of its own: the project's three runs give the same median.
  EXPECT_EQ(est.Estimate(Key("alice", "eval")), 200);
}

TEST(RuntimeEstimator, FallsBackFromUserNameToProjectToClassToNothing) {
  RuntimeEstimateConfig cfg;
  cfg.class_default = {{"normal", 3600}};
  RuntimeEstimator est(cfg);
  EXPECT_EQ(est.Estimate(Key("bob", "x")), 3600);  // no history anywhere: the class default
  EXPECT_EQ(est.Estimate(Key("bob", "x", "p", "low")), kNever);  // no default for "low"
  est.Observe(Key("alice", "a"), 50);
  EXPECT_EQ(est.Estimate(Key("bob", "x")), 3600);  // one project run < min_samples
  est.Observe(Key("carol", "c"), 70);
  // Project "p": 50, 70 -> rank ceil(0.5 x 2) = 1 -> 50.
  EXPECT_EQ(est.Estimate(Key("bob", "x")), 50);
  EXPECT_EQ(est.Estimate(Key("bob", "x", "other")), 3600);  // another project: no history
  est.Observe(Key("bob", "x"), 1000);
  est.Observe(Key("bob", "x"), 1200);
  // bob's own "x" runs now decide: 1000, 1200 -> 1000 (the project's would be 70).
  EXPECT_EQ(est.Estimate(Key("bob", "x")), 1000);
  // The same name under another user is not bob's history.
  EXPECT_EQ(est.Estimate(Key("dave", "x")), 70);
}

TEST(RuntimeEstimator, QuantileAndWindow) {
  RuntimeEstimateConfig cfg;
  cfg.quantile = 0.9;
  cfg.window = 4;
  cfg.min_samples = 1;
  RuntimeEstimator est(cfg);
  for (Seconds r : {10, 20, 30, 40}) est.Observe(Key("u", "n"), r);
  EXPECT_EQ(est.Estimate(Key("u", "n")), 40);  // rank ceil(0.9 x 4) = 4
  est.Observe(Key("u", "n"), 5);               // 10 drops out: 20, 30, 40, 5
  est.Observe(Key("u", "n"), 5);               // 20 drops out: 30, 40, 5, 5
  est.Observe(Key("u", "n"), 5);               // 30 drops out: 40, 5, 5, 5
  EXPECT_EQ(est.Estimate(Key("u", "n")), 40);
  est.Observe(Key("u", "n"), 5);  // 5, 5, 5, 5
  EXPECT_EQ(est.Estimate(Key("u", "n")), 5);
}

TEST(RuntimeEstimator, ObserveReportsTheErrorOfTheEstimateBeforeTheRun) {
  RuntimeEstimateConfig cfg;
  cfg.min_samples = 1;
  RuntimeEstimator est(cfg);
  EXPECT_FALSE(est.Observe(Key("u", "n"), 100).has_value());  // nothing to go on yet
  // The estimate was 100 (the one earlier run); this run took 200: |100 - 200| / 200 = 0.5.
  auto err = est.Observe(Key("u", "n"), 200);
  ASSERT_TRUE(err.has_value());
  EXPECT_DOUBLE_EQ(*err, 0.5);
  // Now 100, 200 -> 100; a run of 50: |100 - 50| / 50 = 1.0.
  EXPECT_DOUBLE_EQ(est.Observe(Key("u", "n"), 50).value(), 1.0);
}

TEST(RuntimeEstimator, DisabledEstimatesNothing) {
  RuntimeEstimateConfig cfg;
  cfg.enabled = false;
  cfg.class_default = {{"normal", 60}};
  RuntimeEstimator est(cfg);
  est.Observe(Key("u", "n"), 10);
  est.Observe(Key("u", "n"), 10);
  EXPECT_EQ(est.Estimate(Key("u", "n")), kNever);
}

TEST(PlannedEnd, LimitEstimateOverrunAndNothing) {
  // maxRuntime wins (the job is killed then), never earlier than now.
  EXPECT_EQ(PlannedEnd(/*start=*/100, /*max_runtime=*/50, /*estimate=*/10, /*now=*/120), 150);
  EXPECT_EQ(PlannedEnd(100, 50, kNever, 200), 200);
  // An estimate still ahead: start + estimate.
  EXPECT_EQ(PlannedEnd(100, kNever, 60, 130), 160);
  // Outrun (ran 90 s of an estimated 60): as long again as it has run, from now: 190 + 90.
  EXPECT_EQ(PlannedEnd(100, kNever, 60, 190), 280);
  // Just at its estimate: the job has run 60 s, so 60 s more.
  EXPECT_EQ(PlannedEnd(100, kNever, 60, 160), 220);
  EXPECT_EQ(PlannedEnd(100, kNever, kNever, 130), kNever);
}

}  // namespace
}  // namespace kumo::core
