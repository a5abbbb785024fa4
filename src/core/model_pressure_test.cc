// Binpack leaves GPU models that pending jobs require to those jobs.
#include <gtest/gtest.h>

#include "core/scheduler.h"

namespace kumo::core {
namespace {

Node OneGpuNode(const std::string& name, const std::string& model) {
  Node n;
  n.name = name;
  n.allocatable = ResourceVector::Of(16'000, 64LL << 30, 0);
  n.gpus.push_back(Gpu{0, model, 0});
  return n;
}

Job OneGpuJob(const std::string& id, Seconds submit, std::vector<std::string> models) {
  Job j;
  j.id = id;
  j.project = "p";
  j.user = "u";
  j.submit_time = submit;
  TaskGroup g;
  g.replicas = 1;
  g.resources = ResourceVector::Of(1000, 1LL << 30, 1000);
  g.gpu_models = std::move(models);
  j.groups.push_back(g);
  return j;
}

TEST(ModelPressure, AnyModelJobLeavesTheRequiredModelFree) {
  // nA (A100) comes first in node order and ties with nH (H100) on every other key. The
  // unconstrained job is first in the queue; the second job accepts only A100. A100's pressure:
  // 1000 milli asked of 1000 -> 7 (of 7); H100's: 0. So "any" goes to nH and both start.
  Snapshot s;
  s.nodes = {OneGpuNode("nA", "A100"), OneGpuNode("nH", "H100")};
  s.projects.push_back(Project{"p", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  s.jobs = {OneGpuJob("any", 1, {}), OneGpuJob("a100", 2, {"A100"})};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  auto sched = Scheduler::Create(cfg);
  ASSERT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->starts.size(), 2u);
  EXPECT_EQ(d->starts[0].job, "any");
  EXPECT_EQ(d->starts[0].tasks[0].node, "nH");
  EXPECT_EQ(d->starts[1].job, "a100");
  EXPECT_EQ(d->starts[1].tasks[0].node, "nA");
}

TEST(ModelPressure, NoConstrainedDemandKeepsNodeOrder) {
  // Without any model-constrained pending job there is no pressure: the tie goes to node order.
  Snapshot s;
  s.nodes = {OneGpuNode("nA", "A100"), OneGpuNode("nH", "H100")};
  s.projects.push_back(Project{"p", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  s.jobs = {OneGpuJob("any", 1, {})};
  auto sched = Scheduler::Create({});
  ASSERT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->starts.size(), 1u);
  EXPECT_EQ(d->starts[0].tasks[0].node, "nA");
}

}  // namespace
}  // namespace kumo::core
