// Job CSVs and cluster shapes given by the user, and a run over one: a job larger than the
// cluster is reported unschedulable and every other job completes, under every policy.
#include "sim/job_csv.h"

#include <gtest/gtest.h>

#include "sim/simulator.h"
#include "test/support/temp_dir.h"

namespace kumo::sim {
namespace {

using ::kumo::testing::TempDir;

Trace OnCluster(const char* shape) {
  Trace t;
  SetUniformCluster(*ParseClusterShape(shape), t);
  return t;
}

// The error of reading `csv` on 2 nodes of 8 GPUs ("" when it reads).
std::string ReadError(const std::string& csv) {
  TempDir dir;
  Trace t = OnCluster("2x8");
  const std::string path = dir.Write("jobs.csv", csv);
  Status st = ReadJobCsv(path, t);
  if (st.ok()) return "";
  // Drop the temp dir from the message: tests compare the rest.
  return st.message().substr(st.message().find("jobs.csv"));
}

TEST(ClusterShape, ParsesNxGAndRefusesTheRest) {
  ASSERT_TRUE(ParseClusterShape("8x8").has_value());
  EXPECT_EQ(ParseClusterShape("3x4")->nodes, 3);
  EXPECT_EQ(ParseClusterShape("3x4")->gpus_per_node, 4);
  for (const char* bad : {"", "8", "x8", "8x", "0x8", "8x0", "8x65", "-1x8", "8x8x8", "a.yaml"})
    EXPECT_FALSE(ParseClusterShape(bad).has_value()) << bad;
  Trace t = OnCluster("3x4");
  EXPECT_EQ(t.nodes.size(), 3u);
  EXPECT_EQ(t.GpuCapacityMilli(), 12000);
  EXPECT_EQ(t.topology_levels, (std::vector<std::string>{"spine", "leaf"}));
}

TEST(JobCsv, ReadsRequiredAndOptionalColumnsAndCutsGangsToNodes) {
  TempDir dir;
  Trace t = OnCluster("4x8");
  const std::string path = dir.Write(
      "jobs.csv",
      "submit_s,gpus,duration_s,project,user,max_runtime_s,gpu_model,priority,checkpoint\n"
      "60,20,3600,vision,ann,7200,A100|H100,5,600\n"
      "0,2,30.4,,,,,,\n");
  ASSERT_TRUE(ReadJobCsv(path, t).ok());
  ASSERT_EQ(t.jobs.size(), 2u);
  const SimJob& small = t.jobs[0];  // sorted by submit time
  EXPECT_EQ(small.submit, 0);
  EXPECT_EQ(small.duration, 30);
  EXPECT_EQ(small.project, "default");
  EXPECT_EQ(small.max_runtime, core::kNever);
  EXPECT_FALSE(small.checkpointable);
  ASSERT_EQ(small.groups.size(), 1u);
  EXPECT_EQ(small.GpuMilli(), 2000);
  const SimJob& big = t.jobs[1];
  EXPECT_EQ(big.project, "vision");
  EXPECT_EQ(big.user, "ann");
  EXPECT_EQ(big.max_runtime, 7200);
  EXPECT_EQ(big.priority, 5);
  EXPECT_TRUE(big.checkpointable);
  EXPECT_EQ(big.checkpoint_interval, 600);
  ASSERT_EQ(big.groups.size(), 2u);  // 2 x 8 + 1 x 4
  EXPECT_EQ(big.groups[0].replicas, 2);
  EXPECT_EQ(big.groups[1].resources[core::kGpu], 4000);
  EXPECT_EQ(big.groups[0].gpu_models, (std::vector<std::string>{"A100", "H100"}));
  ASSERT_EQ(t.projects.size(), 2u);
  EXPECT_EQ(t.projects[0].name, "default");
}

TEST(JobCsv, BadInputNamesLineAndColumn) {
  const std::string h = "submit_s,gpus,duration_s\n";
  EXPECT_EQ(ReadError(h + "0,1,10\n0,x,10\n"),
            "jobs.csv:3: gpus: \"x\" is not an integer in 1..1000000");
  EXPECT_EQ(ReadError(h + "0,1,1e18\n"),
            "jobs.csv:2: duration_s: \"1e18\" seconds is more than ten years");
  EXPECT_EQ(ReadError(h + "0,1,0\n"), "jobs.csv:2: duration_s: must be > 0");
  EXPECT_EQ(ReadError(h + "-5,1,10\n"), "jobs.csv:2: submit_s: must be >= 0");
  EXPECT_EQ(ReadError(h + "0,1\n"), "jobs.csv:2: expected 3 fields, got 2");
  EXPECT_EQ(ReadError(h), "jobs.csv: no jobs (only a header)");
  EXPECT_EQ(ReadError("submit_s,gpus\n0,1\n"), "jobs.csv:1: duration_s: required column missing");
  EXPECT_EQ(ReadError("submit_s,gpus,duration_s,colour\n0,1,1,red\n").substr(0, 29),
            "jobs.csv:1: colour: unknown c");
  EXPECT_EQ(ReadError("submit_s,gpus,duration_s,checkpoint\n0,1,1,soon\n"),
            "jobs.csv:2: checkpoint: \"soon\" is not a number (an interval in seconds; 0: does "
            "not checkpoint)");
  EXPECT_EQ(ReadError("submit_s,gpus,duration_s,max_runtime_s\n0,1,1,1e18\n"),
            "jobs.csv:2: max_runtime_s: \"1e18\" seconds is more than ten years");
}

// The acceptance case of issue 15: one gang larger than the cluster. Under every policy the run
// ends, that job is reported unschedulable with the core's sentence, and all others complete.
TEST(JobCsv, JobLargerThanTheClusterIsReportedAndEveryOtherJobCompletes) {
  TempDir dir;
  Trace t = OnCluster("4x8");
  std::string csv = "submit_s,gpus,duration_s\n";
  for (int i = 0; i < 40; ++i)
    csv += std::to_string(i * 30) + "," + std::to_string(1 << (i % 5)) + "," +
           std::to_string(300 + 97 * (i % 7)) + "\n";
  csv += "45,64,600\n";  // 64 GPUs on a 32-GPU cluster: every task fits a node, the gang never
  ASSERT_TRUE(ReadJobCsv(dir.Write("jobs.csv", csv), t).ok());
  t.name = "csv";
  for (const std::string& policy : PolicyNames()) {
    SimConfig c = *NamedPolicy(policy);
    FitTimeScale(t, c);
    auto r = Simulate(t, c);
    ASSERT_TRUE(r.has_value()) << policy << ": " << r.error().message();
    EXPECT_EQ(r->unschedulable, 1) << policy;
    EXPECT_EQ(r->completed, 40) << policy;
    ASSERT_EQ(r->unschedulable_jobs.size(), 1u) << policy;
    EXPECT_EQ(r->unschedulable_jobs[0].id, "job-000042") << policy;
    EXPECT_EQ(r->unschedulable_jobs[0].why,
              "group \"worker\" needs 8 tasks of 8 GPUs at once; the nodes it may use hold at most "
              "4 even when empty")
        << policy;
  }
}

TEST(FitTimeScale, FollowsTheMedianDuration) {
  Trace t = OnCluster("2x8");
  for (core::Seconds d : {60, 120, 180}) {
    SimJob j;
    j.id = std::to_string(d);
    j.duration = d;
    t.jobs.push_back(j);
  }
  SimConfig c;
  FitTimeScale(t, c);
  EXPECT_EQ(c.pass_interval, 1);  // 120 / 360 -> at least 1 s
  EXPECT_EQ(c.period, 10);        // 120 / 12
  for (SimJob& j : t.jobs) j.duration *= 1000;
  FitTimeScale(t, c);
  EXPECT_EQ(c.pass_interval, 10);  // capped: what a production loop does
  EXPECT_EQ(c.period, 300);
}

}  // namespace
}  // namespace kumo::sim
