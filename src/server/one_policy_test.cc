// One policy in server and simulator: the simulator's `kumo` is the server's default policy, and
// one config file gives the same policy to `kumo server --config` and `kumo sim --config`.
#include <gtest/gtest.h>

#include "server/policy_config_yaml.h"
#include "server/server_config.h"
#include "sim/simulator.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

const server::ServerConfig kDefaults;

TEST(OnePolicy, SimulatorKumoIsTheServerDefault) {
  auto kumo = sim::NamedPolicy("kumo");
  ASSERT_TRUE(kumo.has_value());
  EXPECT_EQ(kumo->policy_config, kDefaults.policy);
}

constexpr const char* kPolicyYaml = R"(tickSeconds: 0.5
policy:
  queueOrder: fifo
  placement: spread
  backfill: greedy
  backfillDepth: 50
  preemption: [priority]
  preemptForGain: {enabled: true, restartSeconds: 90}
  fillHorizonSeconds: 300
  las:
    enabled: true
    thresholdQuantiles: [0.3, 0.6, 0.95]
    starveFactor: 2
    starveRunQuantile: 0.8
    victimWindowSeconds: 600
    protectAfterRequeues: 2
    predictedRemaining: false
    classBase: 3
    guardQuantile: 0.9
  minRuntime: {fractionOfMedian: 0.1, floorSeconds: 30, maxSeconds: 900}
  history: {windowJobs: 100, minJobs: 5, arrivalWindowJobs: 2000}
  estimates: {quantile: 0.9, window: 8, minSamples: 3}
  ageing: {after: 30m}
  relativeAge: 3
)";

TEST(OnePolicy, OneFileGivesTheSamePolicyToServerAndSimulator) {
  ::kumo::testing::TempDir dir;
  const std::string path = dir.Write("server.yaml", kPolicyYaml);
  auto server = server::LoadServerConfig(path, kDefaults);
  ASSERT_TRUE(server.has_value()) << server.error().message();
  auto sim = server::LoadPolicyFromConfigFile(path);
  ASSERT_TRUE(sim.has_value()) << sim.error().message();
  EXPECT_EQ(server->policy, *sim);
  const core::PolicyConfig& p = *sim;
  EXPECT_EQ(p.scheduler.queue_order, "fifo");
  EXPECT_EQ(p.scheduler.placement, "spread");
  EXPECT_EQ(p.scheduler.backfill, core::BackfillMode::kGreedy);
  EXPECT_EQ(p.scheduler.backfill_depth, 50);
  EXPECT_EQ(p.scheduler.preemption.names, std::vector<std::string>{"priority"});
  EXPECT_EQ(p.scheduler.preempt_for_gain, (core::PreemptionGainConfig{true, 90}));
  EXPECT_EQ(p.scheduler.fill_horizon_s, 300);
  EXPECT_EQ(p.las.threshold_quantiles, (std::vector<double>{0.3, 0.6, 0.95}));
  EXPECT_EQ(p.las.starve_factor, 2);
  EXPECT_EQ(p.las.starve_run_quantile, 0.8);
  EXPECT_EQ(p.las.victim_window_s, 600);
  EXPECT_EQ(p.las.protect_after_requeues, 2);
  EXPECT_FALSE(p.las.predicted_remaining);
  EXPECT_EQ(p.las.class_base, 3);
  EXPECT_EQ(p.las.guard_quantile, 0.9);
  EXPECT_EQ(p.min_runtime, (core::MinRuntimeConfig{0.1, 30, 900}));
  EXPECT_EQ(p.history, (core::ServiceHistoryConfig{100, 2000, 5}));
  EXPECT_EQ(p.estimates.quantile, 0.9);
  EXPECT_EQ(p.estimates.window, 8);
  EXPECT_EQ(p.estimates.min_samples, 3);
  EXPECT_EQ(p.scheduler.relative_age, 3);
  EXPECT_EQ(p.scheduler.age_after_s, 1800);
  // The simulator's ablations are changes to the file's policy.
  auto no_las = sim::NamedPolicy("kumo-no-las", p);
  EXPECT_FALSE(no_las->policy_config.las.enabled);
  EXPECT_EQ(no_las->policy_config.scheduler.placement, "spread");
}

// FILE:LINE: policy.field: message, the same text from both readers.
void ExpectError(const std::string& yaml, const std::string& error) {
  ::kumo::testing::TempDir dir;
  const std::string path = dir.Write("server.yaml", yaml);
  auto server = server::LoadServerConfig(path, kDefaults);
  ASSERT_FALSE(server.has_value()) << yaml;
  EXPECT_EQ(server.error().message(), path + ":" + error);
  auto sim = server::LoadPolicyFromConfigFile(path);
  ASSERT_FALSE(sim.has_value());
  EXPECT_EQ(sim.error().message(), server.error().message());
}

TEST(OnePolicy, BadPolicyNamesTheFieldAndLine) {
  ExpectError("policy:\n  las:\n    thresholdQuantiles: [0.5, 0.4]\n",
              "3: policy.las.thresholdQuantiles[1]: quantiles must increase strictly within "
              "(0, 1)");
  ExpectError("policy:\n  queueOrder: lottery\n",
              "2: policy.queueOrder: unknown queue order \"lottery\" (known: fifo, drf, shortest, "
              "drf-predicted)");
  ExpectError("policy:\n  relativeAge: -1\n", "2: policy.relativeAge: must be >= 0");
  ExpectError("policy:\n  las: {starveRunQuantile: 1}\n",
              "2: policy.las.starveRunQuantile: must be in [0, 1) (0: off)");
  ExpectError("policy:\n  las: {protectAfterRequeues: -1}\n",
              "2: policy.las.protectAfterRequeues: must be >= 0");
  ExpectError("policy:\n  preemptForGain: {restartSeconds: -5}\n",
              "2: policy.preemptForGain.restartSeconds: must be >= 0");
  ExpectError("policy:\n  las: {enable: true}\n", "2: policy.las.enable: unknown field");
  ExpectError("policy:\n  minRuntime: {floorSeconds: 600, maxSeconds: 60}\n",
              "2: policy.minRuntime.maxSeconds: must be >= floorSeconds");
  ExpectError("policy:\n  history:\n    minJobs: 0\n", "3: policy.history.minJobs: must be >= 1");
  ExpectError("policy:\n  preemption: [priority, sometimes]\n",
              "2: policy.preemption: unknown preemption policy \"sometimes\" (known: priority, "
              "reclaim, defragment, fill)");
  // The old top-level keys moved into the section: one way to say each thing.
  ExpectError("queueOrder: fifo\n", "1: queueOrder: unknown field");
}

}  // namespace
}  // namespace kumo::server
