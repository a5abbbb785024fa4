// Whole-gang feasibility: a job that no empty cluster could hold is Unschedulable with a
// sentence, in a pass (without blocking the queue) and at submit time (WhyNeverFits).
#include "core/feasibility.h"

#include <gtest/gtest.h>

#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace): test builders

// Two leaves of two 8-GPU nodes: 32 GPUs, 64 cores and 512 GiB per node.
Snapshot TwoLeaves() {
  Snapshot s;
  s.topology_levels = {"leaf"};
  s.nodes = {GpuNodeIn("a1", {"leaf-a"}), GpuNodeIn("a2", {"leaf-a"}), GpuNodeIn("b1", {"leaf-b"}),
             GpuNodeIn("b2", {"leaf-b"})};
  s.projects = {MakeProject("p")};
  return s;
}

TEST(GangFeasibility, GangLargerThanTheClusterIsUnschedulableAndBlocksNobody) {
  // 5 tasks of 8 GPUs on four 8-GPU nodes: every task fits a node, the gang never does. Strict
  // FIFO would otherwise make it the head that everyone waits behind.
  Snapshot s = TwoLeaves();
  s.jobs = {JobBuilder("huge").Tasks(5, WholeGpus(8)).Priority(10),
            JobBuilder("small").Tasks(1, WholeGpus(8)).Submit(5)};
  Decisions d = MustSchedule(s, Config("fifo", "binpack", BackfillMode::kNone));
  EXPECT_EQ(ReasonOf(d, "huge"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "huge"),
            "group \"worker\" needs 5 tasks of 8 GPUs at once; the nodes it may use hold at most "
            "4 even when empty");
  EXPECT_NE(FindStart(d, "small"), nullptr) << Dump(d);
}

TEST(GangFeasibility, CountsWhatEachNodeHoldsNotJustTheTotal) {
  // 3 tasks of 6 GPUs: 18 <= 32 GPUs in all, but an 8-GPU node holds one such task: 4 >= 3
  // fits; 5 tasks would not (4 < 5) although 30 <= 32.
  Snapshot s = TwoLeaves();
  s.jobs = {JobBuilder("fits").Tasks(3, WholeGpus(6)), JobBuilder("never").Tasks(5, WholeGpus(6))};
  Decisions d = MustSchedule(s);
  EXPECT_NE(FindStart(d, "fits"), nullptr) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "never"), "Unschedulable") << Dump(d);
}

TEST(GangFeasibility, GangTotalOfCpuNamesTheResource) {
  // Two groups of 3 tasks of 50 cores: each group alone fits (one task per 64-core node,
  // 4 >= 3); together they need 300 cores > 4 x 64 = 256.
  Snapshot s = TwoLeaves();
  s.jobs = {JobBuilder("j").Tasks(3, 0, 50, 1, "a").Tasks(3, 0, 50, 1, "b")};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "j"),
            "needs 300 cores of cpu at once (3 x 0 GPUs + 3 x 0 GPUs); the nodes it may use have "
            "256 cores in all");
}

TEST(GangFeasibility, SelectorsLimitTheNodesThatCount) {
  // Only b1 and b2 carry the label: 3 tasks of 8 GPUs cannot fit on them.
  Snapshot s = TwoLeaves();
  s.nodes[2].labels.push_back(Label{"ib", "true"});
  s.nodes[3].labels.push_back(Label{"ib", "true"});
  s.jobs = {JobBuilder("j").Tasks(3, WholeGpus(8)).Selector("ib", "true"),
            JobBuilder("k").Tasks(2, WholeGpus(8)).Selector("ib", "true")};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_NE(FindStart(d, "k"), nullptr) << Dump(d);
}

TEST(GangFeasibility, RequiredNodeLevelNeedsOneNodeForAllTasks) {
  Snapshot s = TwoLeaves();
  s.jobs = {JobBuilder("j").Tasks(3, WholeGpus(4)).Topology("node", TopologyConstraint::Mode::kRequired),
            JobBuilder("k").Tasks(2, WholeGpus(4)).Topology("node", TopologyConstraint::Mode::kRequired)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "j"),
            "needs all of 3 x 4 GPUs on one node; no node could hold them even when empty");
  EXPECT_NE(FindStart(d, "k"), nullptr) << Dump(d);
}

TEST(GangFeasibility, RequiredLeafCountsTasksPerLeaf) {
  // 2 tasks of 6 GPUs + 1 of 4 = 16 GPUs = one leaf's GPUs, but each node holds one 6-GPU task
  // and then has 2 left: the 4-GPU task has no room in any leaf.
  Snapshot s = TwoLeaves();
  s.jobs = {JobBuilder("j")
                .Tasks(2, WholeGpus(6), 1, 1, "big")
                .Tasks(1, WholeGpus(4), 1, 1, "small")
                .Topology("leaf", TopologyConstraint::Mode::kRequired)};
  Decisions d = MustSchedule(s);
  // The necessary conditions per leaf hold (2 <= 2 big tasks, 2 <= 4 small ones, 16 <= 16
  // GPUs): not provably impossible, so the job waits rather than being called Unschedulable.
  EXPECT_NE(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
}

TEST(WhyNeverFits, NamesTheResourceAtSubmit) {
  Snapshot cluster = TwoLeaves();
  Job gpus = JobBuilder("g").Tasks(1, WholeGpus(16));
  Job memory = JobBuilder("m").Tasks(1, WholeGpus(1), 1, 1000);
  Job gang = JobBuilder("n").Tasks(5, WholeGpus(8));
  Job fine = JobBuilder("f").Tasks(4, WholeGpus(8));
  EXPECT_EQ(WhyNeverFits(cluster, gpus).value_or(""),
            "no node has 16 GPUs for one task of group \"worker\" (4 nodes match its selector and "
            "tolerations)");
  EXPECT_EQ(WhyNeverFits(cluster, memory).value_or(""),
            "no node is big enough for one task of group \"worker\": needs 1000 GiB (largest "
            "node: 512 GiB)");
  EXPECT_NE(WhyNeverFits(cluster, gang), std::nullopt);
  EXPECT_EQ(WhyNeverFits(cluster, fine), std::nullopt);
}

TEST(WhyNeverFits, CordonedNodesStillCountAndRunningJobsDoNot) {
  Snapshot cluster = TwoLeaves();
  for (Node& n : cluster.nodes) n.unschedulable = true;
  cluster.jobs = {JobBuilder("r").Tasks(1, WholeGpus(8)).Running(0).On("a1", Range(0, 8))};
  EXPECT_EQ(WhyNeverFits(cluster, JobBuilder("f").Tasks(4, WholeGpus(8))), std::nullopt);
}

}  // namespace
}  // namespace kumo::core
