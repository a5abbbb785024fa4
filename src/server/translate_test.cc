#include "server/translate.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

const std::vector<PriorityClass> kClasses = {{"low", 0, true}, {"system", 10000, false}};

JobRec TwoGroupJob() {
  JobRec job;
  job.id = 12;
  job.project = "vision";
  job.user = "ada";
  job.name = "ddp";
  job.submit_time = 1700000000.5;
  job.submit_dir = "/home/ada/proj";
  job.seed = 42;
  job.attempt = 3;
  job.spec.project = "vision";
  job.spec.priority_class = "system";
  api::TaskGroupSpec ps;
  ps.name = "ps";
  ps.command = {"python3", "ps.py"};
  ps.working_dir = "/srv/ps";
  ps.resources.cpu_millis = 500;
  ps.resources.memory_bytes = 1 << 20;
  api::TaskGroupSpec worker;
  worker.name = "worker";
  worker.replicas = 2;
  worker.command = {"python3", "train.py"};
  worker.env = {{"FOO", "bar"}, {"RANK", "overridden by kumo"}, {"PATH", "/opt/bin"}};
  worker.resources.gpu_milli = 2000;
  worker.resources.gpu_models = {"A100"};
  job.spec.task_groups = {ps, worker};
  job.spec.datasets = {{"mnist-v1-2", 1, "/data/mnist", "sha256:ab"}};
  return job;
}

TEST(TranslateTest, CoreJobCarriesIdentityPriorityAndResources) {
  JobRec job = TwoGroupJob();
  TranslatedJob t = ToCoreJob(job, kClasses, {});
  EXPECT_EQ(t.invalid, "");
  EXPECT_EQ(t.job.id, "12");
  EXPECT_EQ(t.job.project, "vision");
  EXPECT_EQ(t.job.user, "ada");
  EXPECT_EQ(t.job.priority, 10000);
  EXPECT_FALSE(t.job.preemptible);
  EXPECT_EQ(t.job.submit_time, static_cast<core::Seconds>(1700000000.5));
  EXPECT_FALSE(t.job.checkpointable);  // no `checkpoint: {enabled: true}`: restarts from zero
  EXPECT_EQ(t.job.max_runtime, core::kNever);
  ASSERT_EQ(t.job.groups.size(), 2u);
  EXPECT_EQ(t.job.groups[0].name, "ps");
  EXPECT_EQ(t.job.groups[0].replicas, 1);
  EXPECT_EQ(t.job.groups[0].resources[core::kCpu], 500);
  EXPECT_EQ(t.job.groups[0].resources[core::kMemory], 1 << 20);
  EXPECT_EQ(t.job.groups[1].replicas, 2);
  EXPECT_EQ(t.job.groups[1].resources[core::kGpu], 2000);
  EXPECT_EQ(t.job.groups[1].gpu_models, std::vector<std::string>{"A100"});
  job.spec.checkpoint.enabled = true;
  EXPECT_TRUE(ToCoreJob(job, kClasses, {}).job.checkpointable);
}

TEST(TranslateTest, UnknownPriorityClassIsZeroAndPreemptible) {
  JobRec job = TwoGroupJob();
  job.spec.priority_class = "normal";  // not in kClasses
  TranslatedJob t = ToCoreJob(job, kClasses, {});
  EXPECT_EQ(t.job.priority, 0);
  EXPECT_TRUE(t.job.preemptible);
}

TEST(TranslateTest, ExtendedResourcesUseTheInventorysIndex) {
  JobRec job = TwoGroupJob();
  job.spec.task_groups[1].resources.extended = {{"rdma", 1}};
  TranslatedJob t = ToCoreJob(job, kClasses, {"fpga", "rdma"});
  EXPECT_EQ(t.invalid, "");
  EXPECT_EQ(t.job.groups[1].resources[core::kExtended0 + 1], 1);
  EXPECT_EQ(t.job.groups[1].resources[core::kExtended0], 0);
}

TEST(TranslateTest, ExtendedResourceNoNodeOffersMakesTheJobInvalid) {
  JobRec job = TwoGroupJob();
  job.spec.task_groups[1].resources.extended = {{"tpu", 4}};
  TranslatedJob t = ToCoreJob(job, kClasses, {"rdma"});
  EXPECT_EQ(t.invalid, "no node offers extended resource \"tpu\"");
}

TEST(TranslateTest, SelectorsTolerationsTopologyAndRuntime) {
  JobRec job = TwoGroupJob();
  job.spec.node_selector = {{"zone", "a"}};
  job.spec.tolerations = {{"dedicated", "Equal", "ml", "NoExecute"}, {"gpu", "Exists", "", ""}};
  job.spec.topology = {"leaf", true};
  job.spec.max_runtime_s = 7200;
  TranslatedJob t = ToCoreJob(job, kClasses, {});
  ASSERT_EQ(t.job.node_selector.size(), 1u);
  EXPECT_EQ(t.job.node_selector[0].key, "zone");
  EXPECT_EQ(t.job.node_selector[0].value, "a");
  ASSERT_EQ(t.job.tolerations.size(), 2u);
  EXPECT_EQ(t.job.tolerations[0].op, core::Toleration::Operator::kEqual);
  EXPECT_EQ(t.job.tolerations[0].value, "ml");
  EXPECT_EQ(t.job.tolerations[0].effect, core::TaintEffect::kNoExecute);
  EXPECT_EQ(t.job.tolerations[1].op, core::Toleration::Operator::kExists);
  EXPECT_EQ(t.job.tolerations[1].effect, std::nullopt);
  EXPECT_EQ(t.job.topology.level, "leaf");
  EXPECT_EQ(t.job.topology.mode, core::TopologyConstraint::Mode::kRequired);
  EXPECT_EQ(t.job.max_runtime, 7200);

  job.spec.topology.required = false;
  EXPECT_EQ(ToCoreJob(job, kClasses, {}).job.topology.mode,
            core::TopologyConstraint::Mode::kPreferred);
}

LaunchContext Context() {
  return {"/d/jobs/12/attempt-3",
          "/d/jobs/12/checkpoint",
          29500,
          {{"PATH", "/usr/bin"}, {"HOME", "/home/ada"}},
          {},
          {{"mnist-v1-2", "/data/mnist"}}};
}

// The core may list placements in any order: ranks follow (group, replica).
std::vector<core::TaskPlacement> Placements() {
  return {{1, 1, "node-1", {{2, 1000}, {3, 1000}}},
          {0, 0, "node-0", {}},
          {1, 0, "node-0", {{0, 1000}, {1, 1000}}}};
}

TEST(TranslateTest, RanksFollowGroupThenReplica) {
  LaunchPlan plan = ToLaunches(TwoGroupJob(), Placements(), Context());
  ASSERT_EQ(plan.tasks.size(), 3u);
  ASSERT_EQ(plan.launches.size(), 3u);
  EXPECT_EQ(plan.tasks[0].group, 0);
  EXPECT_EQ(plan.tasks[1].group, 1);
  EXPECT_EQ(plan.tasks[1].replica, 0);
  EXPECT_EQ(plan.tasks[2].replica, 1);
  EXPECT_EQ(plan.tasks[2].node, "node-1");
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_EQ(plan.tasks[static_cast<size_t>(rank)].rank, rank);
    EXPECT_EQ(plan.tasks[static_cast<size_t>(rank)].state, TaskState::kRunning);
    EXPECT_EQ(plan.launches[static_cast<size_t>(rank)].env.at("RANK"), std::to_string(rank));
    EXPECT_EQ(plan.launches[static_cast<size_t>(rank)].env.at("WORLD_SIZE"), "3");
  }
  EXPECT_EQ(plan.tasks[2].gpus, (std::vector<core::GpuShare>{{2, 1000}, {3, 1000}}));
}

TEST(TranslateTest, LaunchDirectoriesCommandAndLimits) {
  LaunchPlan plan = ToLaunches(TwoGroupJob(), Placements(), Context());
  const executor::TaskLaunch& ps = plan.launches[0];
  EXPECT_EQ(ps.argv, (std::vector<std::string>{"python3", "ps.py"}));
  EXPECT_EQ(ps.cwd, "/srv/ps");
  EXPECT_EQ(ps.run_dir, "/d/jobs/12/attempt-3/task-0");
  EXPECT_EQ(ps.cpu_millis, 500);
  EXPECT_EQ(ps.memory_bytes, 1 << 20);
  EXPECT_EQ(ps.cgroup_name, "job-12.a3.t0");
  const executor::TaskLaunch& w = plan.launches[2];
  EXPECT_EQ(w.cwd, "/home/ada/proj");  // no workingDir: the submit directory
  EXPECT_EQ(w.run_dir, "/d/jobs/12/attempt-3/task-2");
  EXPECT_EQ(w.cgroup_name, "job-12.a3.t2");
  // Where and what, for an executor that runs the task on the chosen node (Kubernetes).
  EXPECT_EQ(w.node, plan.tasks[2].node);
  EXPECT_EQ(w.gpu_milli, 2000);
  EXPECT_EQ(w.job_id, 12);
  EXPECT_EQ(w.attempt, 3);
  EXPECT_EQ(w.rank, 2);
  EXPECT_EQ(w.grace_period_s, 30);
}

TEST(TranslateTest, EnvironmentOfATask) {
  LaunchPlan plan = ToLaunches(TwoGroupJob(), Placements(), Context());
  const auto& env = plan.launches[2].env;  // worker replica 1 on node-1
  EXPECT_EQ(env.at("HOME"), "/home/ada");  // inherited
  EXPECT_EQ(env.at("PATH"), "/opt/bin");   // the group's env overrides the inherited one
  EXPECT_EQ(env.at("FOO"), "bar");
  EXPECT_EQ(env.at("RANK"), "2");  // kumo's variables override the group's env
  EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), "2,3");
  EXPECT_EQ(env.at("LOCAL_RANK"), "0");
  EXPECT_EQ(env.at("MASTER_ADDR"), "127.0.0.1");
  EXPECT_EQ(env.at("MASTER_PORT"), "29500");
  EXPECT_EQ(env.at("KUMO_JOB"), "12");
  EXPECT_EQ(env.at("KUMO_JOB_NAME"), "ddp");
  EXPECT_EQ(env.at("KUMO_PROJECT"), "vision");
  EXPECT_EQ(env.at("KUMO_ATTEMPT"), "3");
  EXPECT_EQ(env.at("KUMO_CHECKPOINT_DIR"), "/d/jobs/12/checkpoint");
  EXPECT_EQ(env.at("KUMO_OUTPUT_DIR"), "/d/jobs/12/attempt-3/output");
  EXPECT_EQ(env.at("KUMO_SEED"), "42");
  EXPECT_EQ(env.at("KUMO_NODE"), "node-1");
  EXPECT_EQ(env.at("KUMO_TASK_GROUP"), "worker");
  EXPECT_EQ(env.at("KUMO_TASK_INDEX"), "1");
  EXPECT_EQ(env.at("KUMO_DATASET_MNIST_V1_2"), "/data/mnist");  // where the context says
}

TEST(TranslateTest, LocalRankCountsPerNode) {
  LaunchPlan plan = ToLaunches(TwoGroupJob(), Placements(), Context());
  EXPECT_EQ(plan.launches[0].env.at("LOCAL_RANK"), "0");  // node-0
  EXPECT_EQ(plan.launches[1].env.at("LOCAL_RANK"), "1");  // node-0
  EXPECT_EQ(plan.launches[2].env.at("LOCAL_RANK"), "0");  // node-1
  EXPECT_EQ(plan.launches[0].env.at("CUDA_VISIBLE_DEVICES"), "");
}

}  // namespace
}  // namespace kumo::server
