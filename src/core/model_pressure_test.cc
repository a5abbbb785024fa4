// Binpack leaves GPU models that pending jobs require to those jobs.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using testutil::GpuNode;
using testutil::JobBuilder;
using testutil::MakeProject;
using testutil::WholeGpus;

TEST(ModelPressure, AnyModelJobLeavesTheRequiredModelFree) {
  // nA (A100) comes first in node order and ties with nH (H100) on every other key. The
  // unconstrained job is first in the queue; the second job accepts only A100. A100's pressure:
  // 1000 milli asked of 1000 -> 7 (of 7); H100's: 0. So "any" goes to nH and both start.
  Snapshot s;
  s.nodes = {GpuNode("nA", 1, "A100"), GpuNode("nH", 1, "H100")};
  s.projects = {MakeProject("p")};
  s.jobs = {JobBuilder("any").Tasks(1, WholeGpus(1)).Submit(1),
            JobBuilder("a100").Tasks(1, WholeGpus(1)).Models({"A100"}).Submit(2)};
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
  s.nodes = {GpuNode("nA", 1, "A100"), GpuNode("nH", 1, "H100")};
  s.projects = {MakeProject("p")};
  s.jobs = {JobBuilder("any").Tasks(1, WholeGpus(1)).Submit(1)};
  auto sched = Scheduler::Create({});
  ASSERT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->starts.size(), 1u);
  EXPECT_EQ(d->starts[0].tasks[0].node, "nA");
}

}  // namespace
}  // namespace kumo::core
