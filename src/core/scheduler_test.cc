// Scheduler: whole passes, each expectation computed by hand (the comment above each test says
// how).
//
// Unless a test says otherwise: 8-GPU nodes (A100, NVLink groups 0-3 and 4-7, 64 cores, 512 GiB),
// one project "p" without quotas, one user, every task asks 1 core and 1 GiB besides its GPUs,
// default config (drf, binpack, EASY backfill, preemption on).
#include "core/scheduler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/test_util.h"
#include "workload/demo.h"
#include "workload/synthetic.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)
using Mode = TopologyConstraint::Mode;
using Op = Toleration::Operator;

const char kNoReservation[] =
    "; no reservation possible: the jobs in its way have no maxRuntime or runtime estimate";

// `count` empty 8-GPU nodes n0, n1, ..., project "p", now = `now`.
Snapshot Cluster(int count, Seconds now = 0) {
  Snapshot s;
  s.now = now;
  for (int i = 0; i < count; ++i) s.nodes.push_back(GpuNode("n" + std::to_string(i)));
  s.projects = {MakeProject("p")};
  return s;
}

SchedulerConfig Greedy() { return Config("drf", "binpack", BackfillMode::kGreedy); }

// =============================================================================================
// Gangs

TEST(Gang, AllOrNothing) {
  // n0 empty; n1 has 8 GPUs free but only 10 cores (a CPU job holds 54). "gang" = 2 tasks x
  // (8 GPUs, 30 cores). The aggregates look fine (16 GPUs, 74 cores free, two nodes with 8 whole
  // GPUs), task 0 goes to n0, task 1 fits nowhere: the gang must not start, and n0 must be
  // released again: "eight" (8 GPUs, 30 cores, submitted later) can only use n0, and gets it.
  Snapshot s = Cluster(2);
  s.jobs = {JobBuilder("cpu").Tasks(1, 0, 54).Running(0).On("n1", {}),
            JobBuilder("gang").Tasks(2, WholeGpus(8), 30).Submit(0),
            JobBuilder("eight").Tasks(1, WholeGpus(8), 30).Submit(1)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Started(d), std::vector<std::string>{"eight"}) << Dump(d);
  EXPECT_EQ(FindStart(d, "gang"), nullptr);
  ASSERT_NE(FindStart(d, "eight"), nullptr);
  EXPECT_EQ(Describe(FindStart(d, "eight")->tasks), "n0[0 1 2 3 4 5 6 7]");
  // 16 GPUs are free, but only n0 can take an 8-GPU, 30-core task.
  EXPECT_EQ(ReasonOf(d, "gang"), "Fragmented");
  EXPECT_EQ(
      MessageOf(d, "gang"),
      std::string(
          "needs 2 x 8 GPUs; 16 GPUs are free in total but not in usable pieces: 1 node(s) can "
          "take a task of 8 GPUs") +
          kNoReservation);
  EXPECT_TRUE(d.reservations.empty());
}

TEST(Gang, IdenticalShapeIsRetriedAfterTheClusterChanged) {
  // Guards the per-pass cache of failed gang shapes: a failure may only be reused while the
  // cluster state is unchanged.
  // Greedy gang placement is not monotone: a gang that fails on a cluster can fit once something
  // else has started, so a later job of the same shape must be tried again.
  //   n0: GPUs 0-1 busy (6 free, 63 cores free); n1: 8 GPUs free but only 10 cores (54 busy).
  //   X = task A (6 GPUs, 1 core) + task B (2 GPUs, 30 cores); queue (fifo): x1, y, x2.
  //   x1: A -> n0 (0 whole left beats n1's 2); B: n0 has no GPU left, n1 only 10 cores -> fails.
  //   y (1 GPU): n0 (5 whole left vs 7) on the tightest NVLink group with room: GPU 2.
  //   x2: A no longer fits on n0 (5 free) -> n1 (no group has 6: GPUs 0-5);
  //       B -> n0 (62 cores), group 1 (4 free): GPUs 4 5. x2 starts.
  Snapshot s = Cluster(2);
  auto x = [](const std::string& id, Seconds t) {
    return JobBuilder(id)
        .Tasks(1, WholeGpus(6), 1, 1, "a")
        .Tasks(1, WholeGpus(2), 30, 1, "b")
        .Submit(t);
  };
  s.jobs = {RunningJob("r0", "n0", {0, 1}),
            JobBuilder("cpu").Tasks(1, 0, 54).Running(0).On("n1", {}), x("x1", 1),
            JobBuilder("y").Tasks(1, WholeGpus(1)).Submit(2), x("x2", 3)};
  Decisions d = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(ReasonOf(d, "x1"), "Fragmented") << Dump(d);
  ASSERT_EQ(Started(d), (std::vector<std::string>{"y", "x2"})) << Dump(d);
  EXPECT_EQ(Describe(d.starts[0].tasks), "n0[2]");
  EXPECT_EQ(Describe(d.starts[1].tasks), "n1[0 1 2 3 4 5], n0[4 5]");
}

TEST(Gang, AllGroupsOrNone) {
  // A launcher (CPU only, fits anywhere) + 2 workers x 8 GPUs, on two nodes of which one has
  // 4 GPUs busy: the workers do not fit, so the launcher does not start either.
  Snapshot s = Cluster(2);
  s.jobs = {RunningJob("r", "n1", Range(0, 4)),
            JobBuilder("job").Tasks(1, 0, 4, 1, "launcher").Tasks(2, WholeGpus(8), 1, 1, "worker")};
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  // 12 GPUs free < 16 requested.
  EXPECT_EQ(ReasonOf(d, "job"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "job"),
            "needs 16 GPUs (1 x 0 GPUs + 2 x 8 GPUs); 12 GPUs free on the 2 nodes it may use");
}

TEST(Gang, MultiGroupPlacementListsEveryTaskInGroupOrder) {
  // launcher (CPU only) + 2 workers x 4 GPUs on one empty node. Tasks are placed largest first,
  // but reported in (group, replica) order: launcher, worker 0 (group 0), worker 1 (group 1).
  Snapshot s = Cluster(1);
  s.jobs = {JobBuilder("job").Tasks(1, 0, 4, 1, "launcher").Tasks(2, WholeGpus(4), 1, 1, "worker")};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "job"), nullptr) << Dump(d);
  const auto& t = FindStart(d, "job")->tasks;
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].group, 0);
  EXPECT_EQ(t[1].group, 1);
  EXPECT_EQ(t[1].index, 0);
  EXPECT_EQ(t[2].group, 1);
  EXPECT_EQ(t[2].index, 1);
  EXPECT_EQ(Describe(t), "n0[], n0[0 1 2 3], n0[4 5 6 7]");
}

// =============================================================================================
// Node selectors, taints, tolerations, cordons

TEST(Constraints, NodeSelectorNeedsEveryLabel) {
  // n0 {zone=a, tier=gold}, n1 {zone=b, tier=gold}; both empty. Without a selector binpack's tie
  // would pick n0.
  Snapshot base = Cluster(0);
  base.nodes = {NodeBuilder("n0").Gpus(8).Label("zone", "a").Label("tier", "gold"),
                NodeBuilder("n1").Gpus(8).Label("zone", "b").Label("tier", "gold")};
  Snapshot s = base;
  s.jobs = {JobBuilder("any").Tasks(1, WholeGpus(1))};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "any"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "any")->tasks), "n0[0]");

  s = base;
  s.jobs = {
      JobBuilder("b-gold").Tasks(1, WholeGpus(1)).Selector("tier", "gold").Selector("zone", "b")};
  d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "b-gold"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "b-gold")->tasks), "n1[0]");

  // zone=a matches n0 but tier=silver matches nothing: no node has both.
  s = base;
  s.jobs = {JobBuilder("a-silver")
                .Tasks(1, WholeGpus(1))
                .Selector("zone", "a")
                .Selector("tier", "silver")};
  d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "a-silver"), "Unschedulable");
  EXPECT_EQ(MessageOf(d, "a-silver"),
            "no node matches the node selector and tolerations of group \"worker\" (0 of 2 nodes)");
}

TEST(Constraints, SelectorCountsOnlyMatchingNodesWhenShort) {
  // n0 {zone=a} empty, n1 {zone=b} with 4 GPUs busy. An 8-GPU task for zone=b: 12 GPUs are free
  // in the cluster but only 4 on the one node it may use.
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").Gpus(8).Label("zone", "a"),
             NodeBuilder("n1").Gpus(8).Label("zone", "b")};
  s.jobs = {RunningJob("r", "n1", Range(0, 4)),
            JobBuilder("j").Tasks(1, WholeGpus(8)).Selector("zone", "b")};
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "j"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "j"), "needs 8 GPUs (1 x 8 GPUs); 4 GPUs free on the 1 nodes it may use");
}

TEST(Constraints, NoScheduleTaintsAndTolerations) {
  // n0 has taint dedicated=infra:NoSchedule, n1 none; both empty. A 1-GPU job goes to n0 (node
  // order) exactly when it tolerates the taint, else to n1.
  struct Case {
    const char* name;
    std::vector<Toleration> tolerations;
    const char* node;
  };
  const std::vector<Case> cases = {
      {"none", {}, "n1"},
      {"equal-any-effect", {{"dedicated", Op::kEqual, "infra", std::nullopt}}, "n0"},
      {"equal-noschedule", {{"dedicated", Op::kEqual, "infra", TaintEffect::kNoSchedule}}, "n0"},
      {"equal-wrong-value", {{"dedicated", Op::kEqual, "batch", std::nullopt}}, "n1"},
      {"equal-wrong-effect",
       {{"dedicated", Op::kEqual, "infra", TaintEffect::kPreferNoSchedule}},
       "n1"},
      {"exists-key", {{"dedicated", Op::kExists, "", std::nullopt}}, "n0"},
      {"exists-other-key", {{"gpu", Op::kExists, "", std::nullopt}}, "n1"},
      {"exists-everything", {{"", Op::kExists, "", std::nullopt}}, "n0"},
  };
  for (const Case& c : cases) {
    Snapshot s = Cluster(0);
    s.nodes = {NodeBuilder("n0").Gpus(8).Taint("dedicated", "infra", TaintEffect::kNoSchedule),
               NodeBuilder("n1").Gpus(8)};
    Job j = JobBuilder("j").Tasks(1, WholeGpus(1));
    j.tolerations = c.tolerations;
    s.jobs = {j};
    Decisions d = MustSchedule(s);
    ASSERT_NE(FindStart(d, "j"), nullptr) << c.name << "\n" << Dump(d);
    EXPECT_EQ(FindStart(d, "j")->tasks[0].node, c.node) << c.name;
  }
}

TEST(Constraints, NoExecuteRepelsLikeNoSchedule) {
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").Gpus(8).Taint("maint", "", TaintEffect::kNoExecute),
             NodeBuilder("n1").Gpus(8)};
  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(1))};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n1[0]");
}

TEST(Constraints, EveryNodeTaintedIsUnschedulable) {
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").Gpus(8).Taint("a", "1", TaintEffect::kNoSchedule),
             NodeBuilder("n1").Gpus(8).Taint("b", "1", TaintEffect::kNoExecute)};
  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(1)).Tolerate("a", Op::kEqual, "1")};
  Decisions d = MustSchedule(s);
  // Tolerating a=1 opens n0.
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[0]");
  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(1))};
  d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "j"),
            "no node matches the node selector and tolerations of group \"worker\" (0 of 2 nodes)");
}

TEST(Constraints, PreferNoScheduleIsOnlyAPreference) {
  // n0 (PreferNoSchedule taint) has GPUs 0-3 busy: binpack would pick it (3 whole left after a
  // 1-GPU task, vs 7 on n1). The untolerated taint makes it the last choice: n1 GPU 0.
  // Tolerated, n0 wins again: GPU 4 (group 1 is the only group with room).
  // With n1 full, the job still goes to n0: a preference, not a rule.
  auto snap = [](bool n1_full, bool tolerate) {
    Snapshot s = Cluster(0);
    s.nodes = {NodeBuilder("n0").Gpus(8).Taint("spot", "yes", TaintEffect::kPreferNoSchedule),
               NodeBuilder("n1").Gpus(8)};
    s.jobs = {RunningJob("r0", "n0", Range(0, 4))};
    if (n1_full) s.jobs.push_back(RunningJob("r1", "n1", Range(0, 8)));
    JobBuilder j("j");
    j.Tasks(1, WholeGpus(1));
    if (tolerate) j.Tolerate("spot", Op::kExists, "");
    s.jobs.push_back(j);
    return s;
  };
  Decisions d = MustSchedule(snap(false, false));
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n1[0]");
  d = MustSchedule(snap(false, true));
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[4]");
  d = MustSchedule(snap(true, false));
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[4]");
}

TEST(Constraints, CordonedNodesTakeNoNewTasks) {
  // n0 and n2 are cordoned (n0 empty: binpack's tie would pick it; n2 runs "stays", which is no
  // error); n1 has GPUs 0-3 busy.
  //   two (2 GPUs)   -> n1, GPUs 4 5.
  //   eight (8 GPUs) -> cannot start: only n1's remaining 2 GPUs count as free (1 node it may use).
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").Gpus(8).Cordoned(), NodeBuilder("n1").Gpus(8),
             NodeBuilder("n2").Gpus(8).Cordoned()};
  s.jobs = {RunningJob("r", "n1", Range(0, 4)), RunningJob("stays", "n2", Range(0, 2)),
            JobBuilder("two").Tasks(1, WholeGpus(2)).Submit(0),
            JobBuilder("eight").Tasks(1, WholeGpus(8)).Submit(1)};
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_EQ(Started(d), std::vector<std::string>{"two"}) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "two")->tasks), "n1[4 5]");
  EXPECT_EQ(ReasonOf(d, "eight"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "eight"),
            "needs 8 GPUs (1 x 8 GPUs); 2 GPUs free on the 1 nodes it may use");
}

// =============================================================================================
// GPU models

TEST(GpuModels, OnlyAcceptedModels) {
  // n0 has 8 V100, n1 8 A100 (n0 first in node order).
  Snapshot base = Cluster(0);
  base.nodes = {GpuNode("n0", 8, "V100"), GpuNode("n1", 8, "A100")};
  struct Case {
    std::vector<std::string> models;
    const char* expect;
  };
  for (const Case& c : std::vector<Case>{{{"A100"}, "n1[0 1]"},          // only n1
                                         {{"V100", "A100"}, "n0[0 1]"},  // either: node order
                                         {{}, "n0[0 1]"}}) {             // any
    Snapshot s = base;
    s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(2)).Models(c.models)};
    Decisions d = MustSchedule(s);
    ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "j")->tasks), c.expect);
  }
  Snapshot s = base;
  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(1)).Models({"H100"})};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "j"),
            "no node has 1 GPU of model H100 for one task of group \"worker\" (2 nodes match its "
            "selector and "
            "tolerations)");
}

TEST(GpuModels, MixedNodeUsesOnlyMatchingGpus) {
  // One node: GPUs 0-3 V100 (NVLink group 0), 4-7 A100 (group 1).
  //   2 x A100 whole           -> 4 5
  //   a 500-milli share of A100 -> GPU 4 (the first A100; no A100 is shared yet)
  //   5 x A100 in one task     -> Unschedulable: the node has only 4 A100.
  Node mixed = NodeBuilder("n0").Gpus(4, "V100").Gpus(4, "A100");
  Snapshot s = Cluster(0);
  s.nodes = {mixed};
  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(2)).Models({"A100"})};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[4 5]");

  s.jobs = {JobBuilder("j").Tasks(1, 500).Models({"A100"})};
  d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[4:500]");

  s.jobs = {JobBuilder("j").Tasks(1, WholeGpus(5)).Models({"A100"})};
  d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "j"),
            "no node has 5 GPUs of model A100 for one task of group \"worker\" (1 nodes match its "
            "selector and "
            "tolerations)");
}

TEST(GpuModels, BusyMatchingGpusMeanWaiting) {
  // n0: 8 A100 with 6 busy; n1: 8 V100 empty. 4 x A100 wanted: V100s do not count as free.
  Snapshot s = Cluster(0);
  s.nodes = {GpuNode("n0", 8, "A100"), GpuNode("n1", 8, "V100")};
  s.jobs = {RunningJob("r", "n0", Range(0, 6)),
            JobBuilder("j").Tasks(1, WholeGpus(4)).Models({"A100"})};
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "j"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "j"), "needs 4 GPUs (1 x 4 GPUs); 2 GPUs free on the 2 nodes it may use");
}

// =============================================================================================
// Topology

// Leaves "leaf-a" {n0, n1} and "leaf-b" {n2, n3}; GPUs 0-3 busy on n0, n2 and n3.
// Free: leaf-a 4 + 8 = 12 GPUs, leaf-b 4 + 4 = 8 GPUs, 20 in all.
Snapshot Leaves() {
  Snapshot s;
  s.topology_levels = {"leaf"};
  s.nodes = {GpuNodeIn("n0", {"leaf-a"}), GpuNodeIn("n1", {"leaf-a"}), GpuNodeIn("n2", {"leaf-b"}),
             GpuNodeIn("n3", {"leaf-b"})};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r0", "n0", Range(0, 4)), RunningJob("r2", "n2", Range(0, 4)),
            RunningJob("r3", "n3", Range(0, 4))};
  return s;
}

TEST(Topology, RequiredLeafTooFragmentedWaitsWithTopology) {
  // 4 x 4 GPUs = 16 GPUs in one leaf: 20 free in all, but the largest free leaf (a) has 12.
  Snapshot s = Leaves();
  s.jobs.push_back(JobBuilder("req").Tasks(4, WholeGpus(4)).Topology("leaf", Mode::kRequired));
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "req"), "Topology");
  EXPECT_EQ(MessageOf(d, "req"), "needs 16 GPUs in one leaf; the largest free leaf has 12 GPUs");
}

TEST(Topology, PreferredLeafFallsBackToTheCluster) {
  // Same gang, leaf only preferred: no leaf can hold it, so the whole cluster is used. Binpack
  // takes the fullest block (one per leaf here) that can hold each task:
  //   task 0: leaf-b (8 free < 12) -> n2 and n3 tie (4 free each) -> n2 GPUs 4-7
  //   task 1: leaf-b still has 4 -> n3 GPUs 4-7
  //   task 2: leaf-b full; leaf-a -> n0 (0 whole left) over n1 (4 left) -> n0 GPUs 4-7
  //   task 3: n1, both NVLink groups have 4: group 0 -> GPUs 0-3
  Snapshot s = Leaves();
  s.jobs.push_back(JobBuilder("pref").Tasks(4, WholeGpus(4)).Topology("leaf", Mode::kPreferred));
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "pref"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "pref")->tasks),
            "n2[4 5 6 7], n3[4 5 6 7], n0[4 5 6 7], n1[0 1 2 3]");
}

TEST(Topology, RequiredLeafBinpackTakesTheFullestLeafThatFits) {
  // 2 x 4 GPUs in one leaf: both leaves can (a: 12 free, b: 8 free, two nodes with 4 whole).
  // binpack: fullest first -> leaf-b: n2 GPUs 4-7, n3 GPUs 4-7.
  // spread: emptiest first -> leaf-a: task 0 to n1 (8 whole free vs 4) on group 0; task 1 then
  //         ties n0 and n1 (0 whole left either way) -> node order: n0 GPUs 4-7.
  Snapshot s = Leaves();
  s.jobs.push_back(JobBuilder("req").Tasks(2, WholeGpus(4)).Topology("leaf", Mode::kRequired));
  Decisions bin = MustSchedule(s);
  ASSERT_NE(FindStart(bin, "req"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "req")->tasks), "n2[4 5 6 7], n3[4 5 6 7]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "req"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "req")->tasks), "n1[0 1 2 3], n0[4 5 6 7]");
}

TEST(Topology, RequiredNodeLevel) {
  // 2 x 4 GPUs on one node: only n1 has 8 free. Binpack tries n0, n2, n3 first (fuller) and
  // backs out of each: n1, group 0 then group 1.
  Snapshot s = Leaves();
  s.jobs.push_back(JobBuilder("one-node").Tasks(2, WholeGpus(4)).Topology("node", Mode::kRequired));
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "one-node"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "one-node")->tasks), "n1[0 1 2 3], n1[4 5 6 7]");

  // With n1 half busy too, no node has 8 free: Topology (16 free in all).
  s = Leaves();
  s.jobs.push_back(RunningJob("r1", "n1", Range(0, 4)));
  s.jobs.push_back(JobBuilder("one-node").Tasks(2, WholeGpus(4)).Topology("node", Mode::kRequired));
  d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "one-node"), "Topology");
  EXPECT_EQ(MessageOf(d, "one-node"),
            "needs 8 GPUs on one node; the node with most free has 4 GPUs");
}

TEST(Topology, PreferredNodeFallsBack) {
  // Every node has exactly 4 GPUs free (r1 added on n1): 2 x 4 GPUs cannot share a node, so the
  // preference is dropped. Both leaves have 8 free (tie: the first, leaf-a); n0 and n1 tie too
  // (node order): task 0 -> n0 GPUs 4-7; leaf-a is then the fuller block: task 1 -> n1 GPUs 4-7.
  Snapshot s = Leaves();
  s.jobs.push_back(RunningJob("r1", "n1", Range(0, 4)));
  s.jobs.push_back(JobBuilder("pref").Tasks(2, WholeGpus(4)).Topology("node", Mode::kPreferred));
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "pref"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "pref")->tasks), "n0[4 5 6 7], n1[4 5 6 7]");
}

TEST(Topology, RequiredDomainLargerThanAnyIsUnschedulable) {
  // 3 x 8 = 24 GPUs in one leaf; each leaf has 16 GPUs in all, even empty.
  Snapshot s = Leaves();
  s.jobs.push_back(JobBuilder("huge").Tasks(3, WholeGpus(8)).Topology("leaf", Mode::kRequired));
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "huge"), "Unschedulable") << Dump(d);
  EXPECT_EQ(MessageOf(d, "huge"),
            "needs 24 GPUs within one leaf; the largest leaf has 16 GPUs in all");
}

TEST(Topology, NodesOfALeafNeedNotBeContiguousInTheInput) {
  // Input order a1 (leaf a), b1 (leaf b), a2 (leaf a); b1 has 4 GPUs busy. 2 x 8 GPUs, leaf
  // required: only leaf a can (16 free) -> a1 and a2.
  Snapshot s;
  s.topology_levels = {"leaf"};
  s.nodes = {GpuNodeIn("a1", {"a"}), GpuNodeIn("b1", {"b"}), GpuNodeIn("a2", {"a"})};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r", "b1", Range(0, 4)),
            JobBuilder("g").Tasks(2, WholeGpus(8)).Topology("leaf", Mode::kRequired)};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "g"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "g")->tasks), "a1[0 1 2 3 4 5 6 7], a2[0 1 2 3 4 5 6 7]");
}

TEST(Topology, SpineAndLeaf) {
  // Two levels: spine s1 = {leaf l1: n0, n1; leaf l2: n2, n3}, spine s2 = {leaf l3: n4, n5}.
  // n0, n1 are full; n2, n3, n4, n5 empty.
  //   three (3 x 8 GPUs, spine required): s1 and s2 have 16 GPUs free each (< 24): Topology.
  //   two (2 x 8 GPUs, spine required): both spines can; they tie on free GPUs (16), and binpack
  //     then takes the one with less free cpu: s2 (128 cores) over s1 (4 x 64 - 2 = 254): n4, n5.
  Snapshot s;
  s.topology_levels = {"spine", "leaf"};
  s.nodes = {GpuNodeIn("n0", {"s1", "l1"}), GpuNodeIn("n1", {"s1", "l1"}),
             GpuNodeIn("n2", {"s1", "l2"}), GpuNodeIn("n3", {"s1", "l2"}),
             GpuNodeIn("n4", {"s2", "l3"}), GpuNodeIn("n5", {"s2", "l3"})};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r0", "n0", Range(0, 8)), RunningJob("r1", "n1", Range(0, 8)),
            JobBuilder("three").Tasks(3, WholeGpus(8)).Topology("spine", Mode::kRequired).Submit(0),
            JobBuilder("two").Tasks(2, WholeGpus(8)).Topology("spine", Mode::kRequired).Submit(1)};
  Decisions d = MustSchedule(s, Greedy());
  EXPECT_EQ(ReasonOf(d, "three"), "Topology") << Dump(d);
  EXPECT_EQ(MessageOf(d, "three"),
            "needs 24 GPUs in one spine; the largest free spine has 16 GPUs");
  ASSERT_NE(FindStart(d, "two"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "two")->tasks), "n4[0 1 2 3 4 5 6 7], n5[0 1 2 3 4 5 6 7]");
}

// =============================================================================================
// Quotas

Project WithMaxGpus(const std::string& name, int64_t gpus) {
  Project p = MakeProject(name);
  p.max[kGpu] = WholeGpus(gpus);
  return p;
}

TEST(Quota, MaxRefusesWithProjectAndResource) {
  // Max 8 GPUs, 6 running; 4 more would make 10 > 8, although n1 is empty.
  Snapshot s = Cluster(2);
  s.projects = {WithMaxGpus("p", 8)};
  s.jobs = {RunningJob("r", "n0", Range(0, 6)), JobBuilder("j").Tasks(1, WholeGpus(4))};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "j"), "QuotaMax");
  EXPECT_EQ(
      MessageOf(d, "j"),
      "project \"p\" would exceed its max gpu quota: 6 GPUs in use + 4 GPUs requested > 8 GPUs");
}

TEST(Quota, MaxCountsJobsAdmittedEarlierInThePassAndAllowsExactlyMax) {
  // Max 6 GPUs, nothing running. j1 (4) starts: 4 <= 6. j2 (4): 4 + 4 = 8 > 6 -> QuotaMax.
  // j3 (2): 4 + 2 = 6 <= 6 -> starts.
  Snapshot s = Cluster(2);
  s.projects = {WithMaxGpus("p", 6)};
  s.jobs = {JobBuilder("j1").Tasks(1, WholeGpus(4)).Submit(1),
            JobBuilder("j2").Tasks(1, WholeGpus(4)).Submit(2),
            JobBuilder("j3").Tasks(1, WholeGpus(2)).Submit(3)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Started(d), (std::vector<std::string>{"j1", "j3"})) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "j2"), "QuotaMax");
  EXPECT_EQ(
      MessageOf(d, "j2"),
      "project \"p\" would exceed its max gpu quota: 4 GPUs in use + 4 GPUs requested > 6 GPUs");
}

TEST(Quota, MaxCountsTerminatingJobs) {
  // Max 6 GPUs; a terminating job still holds 4.
  Snapshot s = Cluster(2);
  s.projects = {WithMaxGpus("p", 6)};
  s.jobs = {JobBuilder("t").Tasks(1, WholeGpus(4)).Terminating(0).On("n0", Range(0, 4)),
            JobBuilder("j").Tasks(1, WholeGpus(4))};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(ReasonOf(d, "j"), "QuotaMax") << Dump(d);
  EXPECT_EQ(
      MessageOf(d, "j"),
      "project \"p\" would exceed its max gpu quota: 4 GPUs in use + 4 GPUs requested > 6 GPUs");
}

TEST(Quota, MaxOnCpuAndExtendedResources) {
  // cpu: max 10 cores; a 16-core CPU-only job. Extended "mncore": max 2; a job wanting 3.
  Snapshot s = Cluster(0);
  s.extended_resources = {"mncore"};
  s.nodes = {NodeBuilder("n0").Gpus(8).Extended(0, 8)};
  Project p = MakeProject("p");
  p.max[kCpu] = Cores(10);
  p.max[kExtended0] = 2;
  s.projects = {p};
  ResourceVector mn = ResourceVector::Of(Cores(1), GiB(1), 0);
  mn[kExtended0] = 3;
  s.jobs = {JobBuilder("cpu").Tasks(1, 0, 16), JobBuilder("mn").TasksOf(1, mn)};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(MessageOf(d, "cpu"),
            "project \"p\" would exceed its max cpu quota: 0 cores in use + 16 cores requested > "
            "10 cores");
  EXPECT_EQ(MessageOf(d, "mn"),
            "project \"p\" would exceed its max mncore quota: 0 in use + 3 requested > 2");
}

TEST(Quota, MaxIsPerProject) {
  // "small" is at its max of 2 GPUs; "big" has none: only small's job waits.
  Snapshot s = Cluster(1);
  s.projects = {WithMaxGpus("small", 2), MakeProject("big")};
  s.jobs = {RunningJob("r", "n0", Range(0, 2)).Project("small"),
            JobBuilder("s", "small").Tasks(1, WholeGpus(1)),
            JobBuilder("b", "big").Tasks(1, WholeGpus(1))};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Started(d), std::vector<std::string>{"b"}) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "s"), "QuotaMax");
}

// =============================================================================================
// Unschedulable and invalid jobs

TEST(Unschedulable, NoNodeCouldEverHoldATask) {
  Snapshot s = Cluster(2);
  s.jobs = {JobBuilder("gpus").Tasks(1, WholeGpus(16)),
            JobBuilder("cpu").Tasks(1, WholeGpus(1), 128),
            JobBuilder("mem").Tasks(1, 0, 1, 1024, "")};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "gpus"), "Unschedulable");
  EXPECT_EQ(MessageOf(d, "gpus"),
            "no node has 16 GPUs for one task of group \"worker\" (2 nodes match its selector and "
            "tolerations)");
  EXPECT_EQ(ReasonOf(d, "cpu"), "Unschedulable");
  EXPECT_EQ(MessageOf(d, "cpu"),
            "no node is big enough for one task of group \"worker\": needs 128 cores (largest "
            "node: 64 cores)");
  // An unnamed group is named by its index.
  EXPECT_EQ(ReasonOf(d, "mem"), "Unschedulable");
  EXPECT_EQ(
      MessageOf(d, "mem"),
      "no node is big enough for one task of group 0: needs 1024 GiB (largest node: 512 GiB)");
}

TEST(Constraints, ExtendedResourcesOnlyWhereThereAreSome) {
  // Extended resource slot 0 = "mncore": n0 has none, n1 has 4.
  //   2 mncore -> n1 (n0 would win the tie otherwise).
  //   8 mncore -> no node has that many: Unschedulable, in whole units.
  Snapshot s = Cluster(0);
  s.extended_resources = {"mncore"};
  s.nodes = {NodeBuilder("n0").Gpus(8), NodeBuilder("n1").Gpus(8).Extended(0, 4)};
  ResourceVector two = ResourceVector::Of(Cores(1), GiB(1), 0);
  two[kExtended0] = 2;
  ResourceVector eight = two;
  eight[kExtended0] = 8;
  s.jobs = {JobBuilder("two").TasksOf(1, two), JobBuilder("eight").TasksOf(1, eight)};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "two"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "two")->tasks), "n1[]");
  EXPECT_EQ(ReasonOf(d, "eight"), "Unschedulable");
  EXPECT_EQ(MessageOf(d, "eight"),
            "no node is big enough for one task of group \"worker\": needs 8 (largest node: 4)");
}

TEST(Unschedulable, UnnamedGroupsAreNamedByTheirOwnIndex) {
  // Regression: the memo of static verdicts was keyed without the group index, so b was told
  // "group 1".
  // Job a: group 0 "x" (CPU only, fine) + an unnamed group 1 of 16 GPUs per task.
  // Job b: a single unnamed group 0 of the same shape. Each message names its own group:
  // "group 1" for a, "group 0" for b.
  Snapshot s = Cluster(2);
  s.jobs = {JobBuilder("a").Tasks(1, 0, 1, 1, "x").Tasks(1, WholeGpus(16), 1, 1, "").Submit(1),
            JobBuilder("b").Tasks(1, WholeGpus(16), 1, 1, "").Submit(2)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(
      MessageOf(d, "a"),
      "no node has 16 GPUs for one task of group 1 (2 nodes match its selector and tolerations)")
      << Dump(d);
  EXPECT_EQ(
      MessageOf(d, "b"),
      "no node has 16 GPUs for one task of group 0 (2 nodes match its selector and tolerations)")
      << Dump(d);
}

TEST(Invalid, BadSpecsWaitWithTheFieldNamedAndDoNotFailThePass) {
  Snapshot s = Cluster(1);
  Job no_groups = JobBuilder("no-groups");
  Job neg = JobBuilder("negative").Tasks(1, WholeGpus(1));
  neg.groups[0].resources[kMemory] = -1;
  s.jobs = {JobBuilder("unknown-project", "nope").Tasks(1, WholeGpus(1)),
            no_groups,
            JobBuilder("zero-replicas").Tasks(0, WholeGpus(1)),
            JobBuilder("second-group").Tasks(1, 0).Tasks(-1, WholeGpus(1)),
            neg,
            JobBuilder("gpu-1500").Tasks(1, 1500),
            JobBuilder("bad-level").Tasks(1, WholeGpus(1)).Topology("rack", Mode::kRequired),
            JobBuilder("ok").Tasks(1, WholeGpus(1))};
  Decisions d = MustSchedule(s);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"unknown-project", "spec.project: unknown project \"nope\""},
      {"no-groups", "spec.tasks: a job needs at least one task group"},
      {"zero-replicas", "spec.tasks[0].replicas: must be >= 1"},
      {"second-group", "spec.tasks[1].replicas: must be >= 1"},
      {"negative", "spec.tasks[0].resources: negative request"},
      {"gpu-1500",
       "spec.tasks[0].resources.gpu: 1500 milli-GPU is neither a share of one GPU (< 1000) nor "
       "whole GPUs"},
      {"bad-level", "spec.topology.level: unknown level \"rack\""},
  };
  for (const auto& [job, message] : expected) {
    EXPECT_EQ(ReasonOf(d, job), "Invalid") << job << "\n" << Dump(d);
    EXPECT_EQ(MessageOf(d, job), message) << job;
  }
  // The valid job starts; invalid jobs are not part of the queue order.
  EXPECT_EQ(Started(d), std::vector<std::string>{"ok"}) << Dump(d);
  EXPECT_EQ(d.order, std::vector<std::string>{"ok"});
  EXPECT_EQ(d.waiting.size(), expected.size());
}

TEST(Invalid, WholeGpuMultiplesAndSharesAreValid) {
  // 999 milli (a share), 1000 and 2000 (whole GPUs) are all valid.
  Snapshot s = Cluster(1);
  s.jobs = {JobBuilder("share").Tasks(1, 999).Submit(0), JobBuilder("one").Tasks(1, 1000).Submit(1),
            JobBuilder("two").Tasks(1, 2000).Submit(2)};
  Decisions d = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(Started(d), (std::vector<std::string>{"share", "one", "two"})) << Dump(d);
  // binpack: the share breaks GPU 0; whole GPUs then come from the tightest group with room:
  // group 0 has 3 left -> GPU 1, then GPUs 2 3.
  EXPECT_EQ(Describe(d.starts[0].tasks), "n0[0:999]");
  EXPECT_EQ(Describe(d.starts[1].tasks), "n0[1]");
  EXPECT_EQ(Describe(d.starts[2].tasks), "n0[2 3]");
}

// =============================================================================================
// Snapshot errors and configuration errors

Status ScheduleError(const Snapshot& s) {
  auto sched = Scheduler::Create({});
  EXPECT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  EXPECT_FALSE(d.has_value());
  return d.has_value() ? Status::Ok() : d.error();
}

TEST(SnapshotErrors, DuplicateNode) {
  Snapshot s = Cluster(2);
  s.nodes.push_back(GpuNode("n0"));
  Status st = ScheduleError(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "duplicate node name \"n0\"");
}

TEST(SnapshotErrors, RunningTaskOnUnknownNode) {
  Snapshot s = Cluster(1);
  s.jobs = {RunningJob("r", "ghost", {0})};
  Status st = ScheduleError(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "job \"r\": task on unknown node \"ghost\"");
}

TEST(SnapshotErrors, RunningTaskOnUnknownGpu) {
  Snapshot s = Cluster(1);
  s.jobs = {RunningJob("r", "n0", {9})};
  Status st = ScheduleError(s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "job \"r\": task on node \"n0\" uses unknown GPU 9");
}

TEST(SnapshotErrors, PlacementNamesAMissingGroup) {
  Snapshot s = Cluster(1);
  Job r = RunningJob("r", "n0", {0});
  r.placements[0].group = 3;
  s.jobs = {r};
  EXPECT_EQ(ScheduleError(s).message(), "job \"r\": task placement names group 3 of 1");
}

TEST(SnapshotErrors, DuplicateJobAndProject) {
  Snapshot s = Cluster(1);
  s.jobs = {JobBuilder("j").Tasks(1, 0), JobBuilder("j").Tasks(1, 0)};
  EXPECT_EQ(ScheduleError(s).message(), "duplicate job id \"j\"");
  s = Cluster(1);
  s.projects.push_back(MakeProject("p"));
  EXPECT_EQ(ScheduleError(s).message(), "duplicate project name \"p\"");
}

TEST(SnapshotErrors, BadProjectWeight) {
  Snapshot s = Cluster(1);
  s.projects[0].weight = 0;
  EXPECT_EQ(ScheduleError(s).message(), "project \"p\": weight must be > 0");
}

TEST(SnapshotErrors, TopologyMismatchAndReservedLevelNames) {
  Snapshot s = Cluster(1);
  s.topology_levels = {"leaf"};
  EXPECT_EQ(ScheduleError(s).message(),
            "node \"n0\": topology has 0 entries, the snapshot declares 1 levels");
  s = Cluster(1);
  s.topology_levels = {"node"};
  s.nodes[0].topology = {"x"};
  EXPECT_EQ(ScheduleError(s).message(), "topology level name \"node\" is reserved or empty");
}

TEST(SnapshotErrors, DuplicateGpuIndexAndEmptyNodeName) {
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").AddGpu(0, "A100", 0).AddGpu(0, "A100", 0)};
  EXPECT_EQ(ScheduleError(s).message(), "node \"n0\": duplicate GPU index 0");
  s.nodes = {NodeBuilder("")};
  EXPECT_EQ(ScheduleError(s).message(), "nodes[0].name is empty");
}

TEST(ConfigErrors, UnknownNamesAndBadSizes) {
  auto order = Scheduler::Create(Config("lifo"));
  ASSERT_FALSE(order.has_value());
  EXPECT_EQ(order.error().message(), "unknown queue order \"lifo\" (known: fifo, drf, shortest, drf-predicted)");
  SchedulerConfig c;
  c.block_size = 0;
  EXPECT_FALSE(Scheduler::Create(c).has_value());
  c = {};
  c.max_domain_attempts = 0;
  EXPECT_FALSE(Scheduler::Create(c).has_value());
  EXPECT_EQ(ParseBackfillMode("easy").value(), BackfillMode::kEasy);
  EXPECT_EQ(ParseBackfillMode("none").value(), BackfillMode::kNone);
  EXPECT_EQ(ParseBackfillMode("greedy").value(), BackfillMode::kGreedy);
  EXPECT_EQ(ParseBackfillMode("conservative").error().message(),
            "unknown backfill mode \"conservative\" (known: none, greedy, easy)");
  EXPECT_STREQ(BackfillModeName(BackfillMode::kGreedy), "greedy");
}

// =============================================================================================
// Preemption by priority

TEST(Preemption, LowerPriorityVictim) {
  // One full node: "low" (priority 0, GPUs 0-3) and "mid" (priority 5, GPUs 4-7). "high"
  // (priority 10) needs 4 GPUs. Both are candidates; cheapest first is the lowest priority: low.
  // Its 4 GPUs are enough, so it is the only victim, and high waits for it to exit.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 4)), RunningJob("mid", "n0", Range(4, 8)).Priority(5),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "low");
  EXPECT_EQ(d.preemptions[0].preemptor, "high");
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kPriority);
  EXPECT_EQ(d.preemptions[0].message, "preempted by job \"high\" (priority 10 > 0)");
  EXPECT_TRUE(d.starts.empty());
  EXPECT_EQ(ReasonOf(d, "high"), "WaitingForPreemption");
  EXPECT_EQ(MessageOf(d, "high"), "preempting 1 job(s) (low); starts when they have exited");
}

TEST(Preemption, UnnecessaryVictimsAreDropped) {
  // n0: "a" (priority 0, GPUs 0-3) + "c" (priority 2, GPUs 4-7); n1: "big" (priority 1, all 8).
  // "high" (priority 10) needs 8 GPUs on one node. Cheapest first: a (4 free GPUs on n0: no
  // fit), then big (n1 empty: fits). a did not help: dropped. One victim: big.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("a", "n0", Range(0, 4)), RunningJob("c", "n0", Range(4, 8)).Priority(2),
            RunningJob("big", "n1", Range(0, 8)).Priority(1),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"big"}) << Dump(d);
  EXPECT_EQ(MessageOf(d, "high"), "preempting 1 job(s) (big); starts when they have exited");
}

TEST(Preemption, SeveralVictimsWhenNeeded) {
  // One node: low1 (priority 0, GPUs 0-3), low2 (priority 1, GPUs 4-7). high needs all 8.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low1", "n0", Range(0, 4)),
            RunningJob("low2", "n0", Range(4, 8)).Priority(1),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), (std::vector<std::string>{"low1", "low2"})) << Dump(d);
  EXPECT_EQ(MessageOf(d, "high"), "preempting 2 job(s) (low1, low2); starts when they have exited");
}

TEST(Preemption, CheapestVictimByLostWork) {
  // now = 1000; two full nodes, both victims priority 0, same project.
  //   va on n0: started 100, not checkpointable      -> loses 1000 - 100 = 900 s of work
  //   vb on n1: started 0, checkpointed at t=950     -> loses 1000 - 950 =  50 s
  // vb is cheaper although it has run longer.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("va", "n0", Range(0, 8), 100),
            RunningJob("vb", "n1", Range(0, 8), 0).Checkpointed(950),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"vb"}) << Dump(d);

  // A checkpoint time on a job that is not checkpointable is ignored: vb loses 1000 s > 900.
  s.jobs = {RunningJob("va", "n0", Range(0, 8), 100),
            RunningJob("vb", "n1", Range(0, 8), 0).LastCheckpoint(950),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"va"}) << Dump(d);
}

TEST(Preemption, PriorityBeforeLostWork) {
  // Lowest priority first, even if it has lost more work: "old" (priority 0, 1000 s) over
  // "fresh" (priority 1, started just now at 990).
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("fresh", "n0", Range(0, 8), 990).Priority(1),
            RunningJob("old", "n1", Range(0, 8), 0),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"old"}) << Dump(d);
}

TEST(Preemption, MinRuntimeRespected) {
  // now = 1000. "young" (priority 0, started 900, minRuntime 3600) has run 100 s: protected.
  // "old" (priority 1, started 0, minRuntime 1000) has run exactly 1000 s: may go. -> old.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("young", "n0", Range(0, 8), 900).MinRuntime(3600),
            RunningJob("old", "n1", Range(0, 8), 0).Priority(1).MinRuntime(1000),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"old"}) << Dump(d);

  // Only the young job: nothing can be preempted.
  s.jobs = {RunningJob("young", "n0", Range(0, 8), 900).MinRuntime(3600),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  s.nodes.pop_back();
  d = MustSchedule(s, Greedy());
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "high"), "InsufficientCapacity");
}

TEST(Preemption, MayPreemptFalse) {
  // As in LowerPriorityVictim, but high's class has preemptionPolicy Never.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 4)), RunningJob("mid", "n0", Range(4, 8)).Priority(5),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10).MayPreempt(false)};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "high"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "high"),
            std::string("needs 4 GPUs (1 x 4 GPUs); 0 GPUs free on the 1 nodes it may use") +
                kNoReservation);
}

TEST(Preemption, PreemptibleFalse) {
  // low is not preemptible: the next candidate, mid (priority 5), is the victim.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 4)).Preemptible(false),
            RunningJob("mid", "n0", Range(4, 8)).Priority(5),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(Victims(d), std::vector<std::string>{"mid"}) << Dump(d);
  EXPECT_EQ(d.preemptions[0].message, "preempted by job \"high\" (priority 10 > 5)");
}

TEST(Preemption, DisabledByConfig) {
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 8)),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  SchedulerConfig c;
  c.preemption = false;
  Decisions d = MustSchedule(s, c);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "high"), "InsufficientCapacity");
}

TEST(Preemption, NotIfThePreemptorCouldNotFitAnyway) {
  // n0: "low" (priority 0), n1: "top" (priority 20). "high" (priority 10) needs 2 x 8 GPUs.
  // Only low is a candidate; without it there are 8 free GPUs, not 16: nobody is preempted.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 8)), RunningJob("top", "n1", Range(0, 8)).Priority(20),
            JobBuilder("high").Tasks(2, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "high"), "InsufficientCapacity");
}

TEST(Preemption, EqualPriorityInTheSameProjectIsNotPreempted) {
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("peer", "n0", Range(0, 8)), JobBuilder("j").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TEST(Preemption, OnlyVictimsOnNodesThePreemptorMayUse) {
  // n0 {zone=a}: "low" (priority 0); n1 {zone=b}: "low2" (priority 1). high wants zone=b:
  // low is cheaper but useless; low2 is the victim.
  Snapshot s = Cluster(0, 1000);
  s.nodes = {NodeBuilder("n0").Gpus(8).Label("zone", "a"),
             NodeBuilder("n1").Gpus(8).Label("zone", "b")};
  s.jobs = {RunningJob("low", "n0", Range(0, 8)), RunningJob("low2", "n1", Range(0, 8)).Priority(1),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10).Selector("zone", "b")};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"low2"}) << Dump(d);
}

TEST(Preemption, EachPreemptorGetsItsOwnVictims) {
  // now = 1000. n0: l1 (priority 0, started 0), n1: l2 (priority 0, started 100). h1 and h2
  // (priority 10, 8 GPUs each; h1 submitted first).
  //   h1: cheapest is l2 (900 s lost < 1000 s) -> l2.
  //   h2: l2's GPUs are promised to h1 and l2 is no longer a candidate -> l1.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("l1", "n0", Range(0, 8), 0), RunningJob("l2", "n1", Range(0, 8), 100),
            JobBuilder("h1").Tasks(1, WholeGpus(8)).Priority(10).Submit(1),
            JobBuilder("h2").Tasks(1, WholeGpus(8)).Priority(10).Submit(2)};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 2u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "l2");
  EXPECT_EQ(d.preemptions[0].preemptor, "h1");
  EXPECT_EQ(d.preemptions[1].victim, "l1");
  EXPECT_EQ(d.preemptions[1].preemptor, "h2");
  EXPECT_EQ(ReasonOf(d, "h1"), "WaitingForPreemption");
  EXPECT_EQ(ReasonOf(d, "h2"), "WaitingForPreemption");
}

TEST(Preemption, VictimThatStrandsNoGpus) {
  // now = 1000. n0: "big" (8 GPUs, started 900: 100 s lost). n1: "small" (GPUs 0-3, started 0:
  // 1000 s lost) next to "keep" (GPUs 4-7, priority 20). "high" needs 4 GPUs. big loses less
  // work, but preempting it would leave 4 of its GPUs idle; small's GPUs are used whole.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("big", "n0", Range(0, 8), 900), RunningJob("small", "n1", Range(0, 4), 0),
            RunningJob("keep", "n1", Range(4, 8)).Priority(20),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"small"}) << Dump(d);
}

TEST(Preemption, VictimNextToIdleGpus) {
  // now = 1000. n0: "whole" (8 GPUs, started 900: 100 s lost). n1: "half" (GPUs 0-3, started 0:
  // 1000 s lost), GPUs 4-7 idle. "high" needs 8 GPUs on one node: preempting half gives it n1
  // with 4 GPUs preempted instead of 8, and puts the idle ones to use.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("whole", "n0", Range(0, 8), 900), RunningJob("half", "n1", Range(0, 4), 0),
            JobBuilder("high").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"half"}) << Dump(d);
}

TEST(Preemption, StrandingRanksAfterPriority) {
  // As VictimThatStrandsNoGpus, but small has priority 1: lower priority goes first even if it
  // strands GPUs -> big.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("big", "n0", Range(0, 8), 900),
            RunningJob("small", "n1", Range(0, 4), 0).Priority(1),
            RunningJob("keep", "n1", Range(4, 8)).Priority(20),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"big"}) << Dump(d);
}

TEST(Preemption, LostWorkCountsGpus) {
  // now = 1000. "high" needs 2 x 4 GPUs. n0: "a" (8 GPUs, started 700: 300 s x 8 GPUs lost).
  // n1: "b" (GPUs 0-3, started 500: 500 s x 4 GPUs), GPUs 4-7 idle. Either alone makes room and
  // strands nothing; b loses less work in GPU-seconds although it has run longer.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("a", "n0", Range(0, 8), 700), RunningJob("b", "n1", Range(0, 4), 500),
            JobBuilder("high").Tasks(2, WholeGpus(4)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"b"}) << Dump(d);
}

TEST(Preemption, PreemptedResourcesAreKeptForThePreemptor) {
  // After high preempts low (GPUs 0-3), "later" (priority 5, 4 GPUs) finds nothing: low's GPUs are
  // promised to high, and mid (priority 5) is not lower than later.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {RunningJob("low", "n0", Range(0, 4)), RunningJob("mid", "n0", Range(4, 8)).Priority(5),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10),
            JobBuilder("later").Tasks(1, WholeGpus(4)).Priority(5)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"low"}) << Dump(d);
  EXPECT_TRUE(d.starts.empty());
  EXPECT_EQ(ReasonOf(d, "high"), "WaitingForPreemption");
  EXPECT_EQ(ReasonOf(d, "later"), "InsufficientCapacity");
}

// =============================================================================================
// Defragmentation: moving a small job off a node so that a bigger one fits

// n0: "a" (GPUs 0-3, checkpointed at 900) and 4 idle GPUs; n1: "keep" (GPUs 0-3, priority 20)
// and 4 idle GPUs. "big" (8 GPUs, a's priority, so it cannot preempt a) fits nowhere.
Snapshot HolesScenario() {
  Snapshot s = Cluster(2, 1000);
  s.jobs = {RunningJob("a", "n0", Range(0, 4), 0).Checkpointed(900),
            RunningJob("keep", "n1", Range(0, 4), 0).Priority(20),
            JobBuilder("big").Tasks(1, WholeGpus(8))};
  return s;
}

TEST(Defragment, SmallJobMovesToIdleGpusToMakeRoom) {
  Snapshot s = HolesScenario();
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "a");
  EXPECT_EQ(d.preemptions[0].preemptor, "big");
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kDefragment);
  EXPECT_STREQ(PreemptionReasonName(d.preemptions[0].reason), "Defragment");
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "big"), "WaitingForPreemption");
  EXPECT_EQ(MessageOf(d, "big"),
            "moving job \"a\" to idle GPUs elsewhere to make room; starts when it has exited");

  // The driver's side: a has exited and is requeued, big is nominated. big takes n0 whole, a the
  // idle GPUs of n1.
  for (Job& j : s.jobs) {
    if (j.id == "a") {
      j.phase = JobPhase::kPending;
      j.placements.clear();
    }
    if (j.id == "big") j.nominated = true;
  }
  d = MustSchedule(s);
  ASSERT_EQ(Started(d), (std::vector<std::string>{"big", "a"})) << Dump(d);
  EXPECT_EQ(d.starts[0].tasks[0].node, "n0");
  EXPECT_EQ(d.starts[1].tasks[0].node, "n1");
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TEST(Defragment, OnlyJobsThatCheckpointMove) {
  Snapshot s = HolesScenario();
  s.jobs[0].checkpointable = false;
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TEST(Defragment, NotWithoutADestination) {
  // keep takes all of n1: a could only go back where it is.
  Snapshot s = HolesScenario();
  s.jobs[1] = RunningJob("keep", "n1", Range(0, 8), 0).Priority(20);
  SchedulerConfig c;
  c.preemption = {"priority", "reclaim", "defragment"};
  Decisions d = MustSchedule(s, c);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  // With the default list, "fill" stops it instead (it saved 100 s ago; 8 GPUs work for its 4).
  d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kFill);
  EXPECT_STREQ(PreemptionReasonName(d.preemptions[0].reason), "Fill");
}

TEST(Defragment, NotWithPreemptionOff) {
  SchedulerConfig c;
  c.preemption = false;
  Decisions d = MustSchedule(HolesScenario(), c);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

// =============================================================================================
// Reclaim of guaranteed quota, and priority across projects

// n0, n1 (+ n2 if three). Projects A and B, guaranteed gA and gB GPUs. now = 1000.
Snapshot TwoProjects(int nodes, int64_t g_a, int64_t g_b) {
  Snapshot s = Cluster(nodes, 1000);
  s.projects = {MakeProject("A", 1.0, g_a), MakeProject("B", 1.0, g_b)};
  return s;
}

TEST(Reclaim, UnderGuaranteePreemptsABorrowersEqualPriorityJob) {
  // A and B are guaranteed 8 GPUs each. B runs b1 (n0, started 0) and b2 (n1, started 100):
  // in (priority, start) order the running sums are 8 <= 8 (b1 in guarantee), 16 > 8 (b2
  // borrowing). A's a1 (priority 0, 8 GPUs) keeps A within its guarantee (0 + 8 <= 8): it may
  // reclaim b2, of equal priority. b1 is in guarantee and untouchable, although it would be the
  // cheaper victim (checkpointed at 990: 10 s lost vs b2's 900 s).
  Snapshot s = TwoProjects(2, 8, 8);
  s.jobs = {RunningJob("b1", "n0", Range(0, 8), 0).Project("B").Checkpointed(990),
            RunningJob("b2", "n1", Range(0, 8), 100).Project("B"),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "b2");
  EXPECT_EQ(d.preemptions[0].preemptor, "a1");
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kReclaim);
  EXPECT_EQ(
      d.preemptions[0].message,
      "project \"A\" reclaims its guaranteed quota for job \"a1\" from borrowing project \"B\"");
  EXPECT_EQ(ReasonOf(d, "a1"), "WaitingForPreemption");
  EXPECT_EQ(MessageOf(d, "a1"), "preempting 1 job(s) (b2); starts when they have exited");
}

TEST(Reclaim, NeverAnInGuaranteeJobOfAnotherProject) {
  // Same, but a1 may only use n0 (zone=a), where b1 runs in guarantee; b2 borrows on n1, which
  // a1 cannot use. Nothing is preempted.
  Snapshot s = TwoProjects(0, 8, 8);
  s.nodes = {NodeBuilder("n0").Gpus(8).Label("zone", "a"),
             NodeBuilder("n1").Gpus(8).Label("zone", "b")};
  s.jobs = {RunningJob("b1", "n0", Range(0, 8), 0).Project("B"),
            RunningJob("b2", "n1", Range(0, 8), 100).Project("B"),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8)).Selector("zone", "a")};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "a1"), "InsufficientCapacity");
}

TEST(Reclaim, BorrowingIsTheTailByPriorityThenStart) {
  // B guaranteed 8: b-hi (priority 5, started 100) comes before b-lo (priority 0, started 0) in
  // (priority desc, start) order, so b-hi is in guarantee and b-lo is borrowing -> victim b-lo.
  Snapshot s = TwoProjects(2, 8, 8);
  s.jobs = {RunningJob("b-lo", "n0", Range(0, 8), 0).Project("B"),
            RunningJob("b-hi", "n1", Range(0, 8), 100).Project("B").Priority(5),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"b-lo"}) << Dump(d);
  ASSERT_EQ(d.preemptions.size(), 1u);
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kReclaim);
}

TEST(Reclaim, OnlyWhileThePreemptorStaysWithinItsGuarantee) {
  // A (guaranteed 8) already runs a0 (8 GPUs): a1 would take it to 16 > 8, so it may not
  // reclaim b2 (B borrowing on n2), and equal priority rules out priority preemption.
  Snapshot s = TwoProjects(3, 8, 8);
  s.jobs = {RunningJob("a0", "n0", Range(0, 8)).Project("A"),
            RunningJob("b1", "n1", Range(0, 8), 0).Project("B"),
            RunningJob("b2", "n2", Range(0, 8), 100).Project("B"),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TEST(Reclaim, NotAHigherPriorityBorrower) {
  // b2 borrows but has priority 5 > a1's 0: reclaim only takes priority <= the preemptor's.
  Snapshot s = TwoProjects(2, 8, 8);
  s.jobs = {RunningJob("b1", "n0", Range(0, 8), 0).Project("B").Priority(5),
            RunningJob("b2", "n1", Range(0, 8), 100).Project("B").Priority(5),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TEST(PriorityAcrossProjects, MostOverQuotaProjectFirst) {
  // 4 nodes = 32 GPUs, now = 1000. A (no guarantee) has a1 (priority 10, 8 GPUs) pending.
  //   B (guaranteed 8): b1 on n0 (in guarantee), b2 on n1 (borrowing, started 500: 500 s lost)
  //   C (no guarantee): c1 on n2 (started 0: 1000 s lost), c2 on n3 (started 100: 900 s lost)
  // Candidates (all priority 0): b2, c1, c2. Over quota: B (16 - 8)/32 = 0.25, C 16/32 = 0.5.
  // Most over quota first -> C's jobs; of those the least work lost -> c2 (b2 would lose less,
  // but B is less over its quota).
  Snapshot s = Cluster(4, 1000);
  s.projects = {MakeProject("A"), MakeProject("B", 1.0, 8), MakeProject("C")};
  s.jobs = {RunningJob("b1", "n0", Range(0, 8), 0).Project("B"),
            RunningJob("b2", "n1", Range(0, 8), 500).Project("B"),
            RunningJob("c1", "n2", Range(0, 8), 0).Project("C"),
            RunningJob("c2", "n3", Range(0, 8), 100).Project("C"),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  EXPECT_EQ(Victims(d), std::vector<std::string>{"c2"}) << Dump(d);
}

TEST(PriorityAcrossProjects, OnlyBorrowingJobs) {
  // A has no guarantee; B is guaranteed 8 and runs b1 (in guarantee) and b2 (borrowing).
  // a1 (priority 10) preempts by priority -- only the borrowing b2, although b1 is cheaper.
  Snapshot s = TwoProjects(2, 0, 8);
  s.jobs = {RunningJob("b1", "n0", Range(0, 8), 0).Project("B").Checkpointed(990),
            RunningJob("b2", "n1", Range(0, 8), 100).Project("B"),
            JobBuilder("a1", "A").Tasks(1, WholeGpus(8)).Priority(10)};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "b2");
  EXPECT_EQ(d.preemptions[0].reason, PreemptionReason::kPriority);
  EXPECT_EQ(d.preemptions[0].message,
            "preempted by job \"a1\" (priority 10 > 0); its project is above its guaranteed quota");

  // B guaranteed 16: both in guarantee; priority does not eat into another project's guarantee.
  s.projects[1] = MakeProject("B", 1.0, 16);
  d = MustSchedule(s);
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

// =============================================================================================
// Terminating jobs

TEST(Terminating, ResourcesGoToTheFirstJobThatFitsAfterTheyExit) {
  // n0: "t" is terminating on GPUs 0-3, "r" runs on 4-7 (no maxRuntime). Queue:
  //   big (8 GPUs): even after t exits only 4 are free -> InsufficientCapacity, no reservation.
  //   fits (4 GPUs): fits once t has exited -> WaitingForTermination; t's GPUs are kept for it.
  //   also (4 GPUs): t's GPUs are taken -> InsufficientCapacity.
  Snapshot s = Cluster(1, 1000);
  s.jobs = {JobBuilder("t").Tasks(1, WholeGpus(4)).Terminating(0).On("n0", Range(0, 4)),
            RunningJob("r", "n0", Range(4, 8)), JobBuilder("big").Tasks(1, WholeGpus(8)).Submit(1),
            JobBuilder("fits").Tasks(1, WholeGpus(4)).Submit(2),
            JobBuilder("also").Tasks(1, WholeGpus(4)).Submit(3)};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_TRUE(d.preemptions.empty());
  EXPECT_EQ(ReasonOf(d, "big"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "big"),
            std::string("needs 8 GPUs (1 x 8 GPUs); 0 GPUs free on the 1 nodes it may use") +
                kNoReservation);
  EXPECT_EQ(ReasonOf(d, "fits"), "WaitingForTermination");
  EXPECT_EQ(MessageOf(d, "fits"),
            "fits once terminating jobs have exited; their resources are kept for it");
  EXPECT_EQ(ReasonOf(d, "also"), "InsufficientCapacity");
}

TEST(Terminating, FreeResourcesStartNowInstead) {
  // n0 full of a terminating job, n1 empty: the job starts now on n1 instead of waiting.
  Snapshot s = Cluster(2, 1000);
  s.jobs = {JobBuilder("t").Tasks(1, WholeGpus(8)).Terminating(0).On("n0", Range(0, 8)),
            JobBuilder("j").Tasks(1, WholeGpus(8))};
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n1[0 1 2 3 4 5 6 7]");
}

// =============================================================================================
// Reservation and backfill

// now = 100. n0: r1 (8 GPUs, ends 0 + 1000), n1: r2 (GPUs 0-3, ends 2000), n2: r3 (8 GPUs, ends
// 5000), n3 empty. Free now: n1 4 + n3 8 = 12 GPUs, one whole node. Queue (fifo):
//   big   2 x 8 GPUs, maxRuntime 3600   t=1
//   long  1 x 8 GPUs, maxRuntime 3600   t=2
//   short 1 x 8 GPUs, maxRuntime  900   t=3  (100 + 900 = 1000: ends by the reservation)
//   free4 1 x 4 GPUs, no maxRuntime     t=4
//   big2  2 x 8 GPUs, maxRuntime 3600   t=5
Snapshot BackfillScenario() {
  Snapshot s = Cluster(4, 100);
  s.jobs = {RunningJob("r1", "n0", Range(0, 8)).MaxRuntime(1000),
            RunningJob("r2", "n1", Range(0, 4)).MaxRuntime(2000),
            RunningJob("r3", "n2", Range(0, 8)).MaxRuntime(5000),
            JobBuilder("big").Tasks(2, WholeGpus(8)).MaxRuntime(3600).Submit(1),
            JobBuilder("long").Tasks(1, WholeGpus(8)).MaxRuntime(3600).Submit(2),
            JobBuilder("short").Tasks(1, WholeGpus(8)).MaxRuntime(900).Submit(3),
            JobBuilder("free4").Tasks(1, WholeGpus(4)).Submit(4),
            JobBuilder("big2").Tasks(2, WholeGpus(8)).MaxRuntime(3600).Submit(5)};
  return s;
}

TEST(Backfill, EasyReservesAndBackfills) {
  // big cannot start (one whole node free, needs two). Releases: t=1000 (r1: n0 whole) ->
  // n0 + n3 hold big: the reservation is at t=1000 on n0 and n3 (tie -> node order: n0 first).
  // On n0 everything needed is released by then (no hold); on n3 nothing is, so n3's 8 GPUs
  // are held.
  //   long:  would run to 100 + 3600 > 1000 and needs n3's held GPUs -> WouldDelayReservation.
  //   short: ends at 1000 <= 1000, may use held GPUs -> starts on n3, backfilled.
  //   free4: no maxRuntime, but n1's GPUs 4-7 are not held -> starts, backfilled.
  //   big2:  only one reservation per pass -> InsufficientCapacity.
  Decisions d = MustSchedule(BackfillScenario(), Config("fifo"));
  ASSERT_EQ(d.reservations.size(), 1u) << Dump(d);
  EXPECT_EQ(d.reservations[0].job, "big");
  EXPECT_EQ(d.reservations[0].start_time, 1000);
  EXPECT_EQ(Describe(d.reservations[0].tasks), "n0[0 1 2 3 4 5 6 7], n3[0 1 2 3 4 5 6 7]");
  EXPECT_EQ(ReasonOf(d, "big"), "Reserved");
  EXPECT_EQ(MessageOf(d, "big"),
            "needs 16 GPUs (2 x 8 GPUs); 12 GPUs free on the 4 nodes it may use; reserved to start "
            "in 15m when running jobs reach their maxRuntime or estimate");

  EXPECT_EQ(ReasonOf(d, "long"), "WouldDelayReservation");
  EXPECT_EQ(MessageOf(d, "long"),
            "fits now, but would delay job \"big\" reserved to start in 15m (its maxRuntime "
            "ends after that)");

  ASSERT_EQ(Started(d), (std::vector<std::string>{"short", "free4"}));
  EXPECT_TRUE(d.starts[0].backfilled);
  EXPECT_EQ(Describe(d.starts[0].tasks), "n3[0 1 2 3 4 5 6 7]");
  EXPECT_TRUE(d.starts[1].backfilled);
  EXPECT_EQ(Describe(d.starts[1].tasks), "n1[4 5 6 7]");

  EXPECT_EQ(ReasonOf(d, "big2"), "InsufficientCapacity");
  EXPECT_EQ(d.order, (std::vector<std::string>{"big", "long", "short", "free4", "big2"}));
}

TEST(Backfill, DiagnosisAfterABackfillUsedTheHeldGpus) {
  // Regression: the pass's total of held resources was not lowered when a short job used held
  // GPUs, so frag was told "InsufficientCapacity ... 0 GPUs free".
  // The EASY scenario plus n4, whose GPUs 0-3 run "forever" (no maxRuntime). Queue (fifo):
  // big (2 x 8), short (1 x 8, ends by the reservation), frag (1 x 8, maxRuntime 3600).
  //   big:   reserved at t=1000 on n0 and n3 (as in EasyReservesAndBackfills); n3's 8 GPUs held.
  //   short: backfills onto n3, using up all of the held GPUs: nothing is held any more.
  //   frag:  free now are n1 GPUs 4-7 and n4 GPUs 4-7: 8 GPUs in total, none held, but no node
  //          has 8 -> Fragmented, "8 GPUs are free in total".
  Snapshot s = Cluster(5, 100);
  s.jobs = {RunningJob("r1", "n0", Range(0, 8)).MaxRuntime(1000),
            RunningJob("r2", "n1", Range(0, 4)).MaxRuntime(2000),
            RunningJob("r3", "n2", Range(0, 8)).MaxRuntime(5000),
            RunningJob("forever", "n4", Range(0, 4)),
            JobBuilder("big").Tasks(2, WholeGpus(8)).MaxRuntime(3600).Submit(1),
            JobBuilder("short").Tasks(1, WholeGpus(8)).MaxRuntime(900).Submit(3),
            JobBuilder("frag").Tasks(1, WholeGpus(8)).MaxRuntime(3600).Submit(4)};
  Decisions d = MustSchedule(s, Config("fifo"));
  ASSERT_EQ(d.reservations.size(), 1u) << Dump(d);
  EXPECT_EQ(Describe(d.reservations[0].tasks), "n0[0 1 2 3 4 5 6 7], n3[0 1 2 3 4 5 6 7]");
  ASSERT_EQ(Started(d), std::vector<std::string>{"short"}) << Dump(d);
  EXPECT_EQ(Describe(d.starts[0].tasks), "n3[0 1 2 3 4 5 6 7]");
  EXPECT_EQ(ReasonOf(d, "frag"), "Fragmented") << Dump(d);
  EXPECT_EQ(MessageOf(d, "frag"),
            "needs 1 x 8 GPUs; 8 GPUs are free in total but not in usable pieces: 0 node(s) can "
            "take a task of 8 "
            "GPUs");
}

TEST(Backfill, TerminatingResourcesPromisedToAnotherJobDoNotCountAsReleased) {
  // Regression: holds once subtracted every released job's request, counting T's cores (already
  // promised to W) as released; nothing was held and L started, delaying big.
  // One CPU-only node of 128 cores, now = 0:
  //   T terminating, 32 cores; R running, 16 cores, ends at 500; P running, 48 cores, forever.
  //   Free now: 128 - 96 = 32 cores.
  // Queue (fifo):
  //   W  (48 cores): does not fit now (32); fits once T exits (32 + 32) -> WaitingForTermination,
  //      taking T's 32 cores and 16 of the free ones. Free now: 16.
  //   big (32 cores): not now (16), not after exits either (T's cores are W's). At t=500 R's 16
  //      are released: 16 + 16 = 32 -> reserved at t=500. Of what it needs (32), only R's 16 are
  //      released there by then (T's go to W): the 16 cores free now must be held.
  //   L  (16 cores, no maxRuntime): would take the 16 held cores and still run at t=500, leaving
  //      big 16 < 32 -> must wait: WouldDelayReservation.
  Snapshot s = Cluster(0);
  s.nodes = {NodeBuilder("n0").Cpu(128)};
  s.jobs = {JobBuilder("T").Tasks(1, 0, 32).Terminating(0).On("n0", {}),
            JobBuilder("R").Tasks(1, 0, 16).Running(0).MaxRuntime(500).On("n0", {}),
            JobBuilder("P").Tasks(1, 0, 48).Running(0).On("n0", {}),
            JobBuilder("W").Tasks(1, 0, 48).Submit(1),
            JobBuilder("big").Tasks(1, 0, 32).MaxRuntime(100).Submit(2),
            JobBuilder("L").Tasks(1, 0, 16).Submit(3)};
  Decisions d = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(ReasonOf(d, "W"), "WaitingForTermination") << Dump(d);
  ASSERT_EQ(d.reservations.size(), 1u) << Dump(d);
  EXPECT_EQ(d.reservations[0].job, "big");
  EXPECT_EQ(d.reservations[0].start_time, 500);
  EXPECT_EQ(FindStart(d, "L"), nullptr) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "L"), "WouldDelayReservation");
}

TEST(Backfill, NoMaxRuntimeMeansItCouldRunPastTheReservation) {
  // A job without maxRuntime that needs held GPUs: would delay the reservation, and says why.
  Snapshot s = BackfillScenario();
  s.jobs[4] = JobBuilder("long").Tasks(1, WholeGpus(8)).Submit(2);  // no maxRuntime
  Decisions d = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(ReasonOf(d, "long"), "WouldDelayReservation") << Dump(d);
  EXPECT_EQ(MessageOf(d, "long"),
            "fits now, but would delay job \"big\" reserved to start in 15m (it has no "
            "maxRuntime, so it could "
            "run past that)");
}

TEST(Backfill, ReservationAtTheEarliestFeasibleRelease) {
  // now = 150, every GPU busy. Releases (start + maxRuntime): t=200 (r_d: half of n3), t=300
  // (r_a: n0), t=700 (r_b: n1), t=5000 (r_c: n2), t=6000 (r_e: other half of n3).
  // big (2 x 8 GPUs) first fits at t=700, on n0 and n1 (n3 is only half free then).
  Snapshot s = Cluster(4, 150);
  s.jobs = {RunningJob("r_a", "n0", Range(0, 8)).MaxRuntime(300),
            RunningJob("r_b", "n1", Range(0, 8), 100).MaxRuntime(600),
            RunningJob("r_c", "n2", Range(0, 8)).MaxRuntime(5000),
            RunningJob("r_d", "n3", Range(0, 4)).MaxRuntime(200),
            RunningJob("r_e", "n3", Range(4, 8)).MaxRuntime(6000),
            JobBuilder("big").Tasks(2, WholeGpus(8)).MaxRuntime(100)};
  Decisions d = MustSchedule(s);
  ASSERT_EQ(d.reservations.size(), 1u) << Dump(d);
  EXPECT_EQ(d.reservations[0].start_time, 700);
  EXPECT_EQ(Describe(d.reservations[0].tasks), "n0[0 1 2 3 4 5 6 7], n1[0 1 2 3 4 5 6 7]");
  EXPECT_EQ(MessageOf(d, "big"),
            "needs 16 GPUs (2 x 8 GPUs); 0 GPUs free on the 4 nodes it may use; reserved to start "
            "in 9m 10s when running jobs reach their maxRuntime or estimate");
}

TEST(Backfill, NoReservationWhenBlockersHaveNoMaxRuntime) {
  // The only job in big's way has no maxRuntime: no reservation, nothing held, and the job behind
  // it starts normally (not as a backfill).
  Snapshot s = Cluster(2);
  s.jobs = {RunningJob("forever", "n0", Range(0, 8)),
            JobBuilder("big").Tasks(2, WholeGpus(8)).Submit(1),
            JobBuilder("next").Tasks(1, WholeGpus(8)).MaxRuntime(3600).Submit(2)};
  Decisions d = MustSchedule(s);
  EXPECT_TRUE(d.reservations.empty()) << Dump(d);
  EXPECT_EQ(ReasonOf(d, "big"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "big"),
            std::string("needs 16 GPUs (2 x 8 GPUs); 8 GPUs free on the 2 nodes it may use") +
                kNoReservation);
  ASSERT_NE(FindStart(d, "next"), nullptr);
  EXPECT_FALSE(FindStart(d, "next")->backfilled);
  EXPECT_EQ(Describe(FindStart(d, "next")->tasks), "n1[0 1 2 3 4 5 6 7]");
}

TEST(Backfill, NoneBlocksEverythingBehindTheFirstBlockedJob) {
  Decisions d = MustSchedule(BackfillScenario(), Config("fifo", "binpack", BackfillMode::kNone));
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_EQ(ReasonOf(d, "big"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "big"),
            "needs 16 GPUs (2 x 8 GPUs); 12 GPUs free on the 4 nodes it may use");
  for (const char* job : {"long", "short", "free4", "big2"}) {
    EXPECT_EQ(ReasonOf(d, job), "BehindBlockedJob") << job;
    EXPECT_EQ(MessageOf(d, job), "waits behind job \"big\" (strict queue order, no backfill)")
        << job;
  }
}

TEST(Backfill, GreedySkipsBlockedJobsWithoutAReservation) {
  // No reservation: long takes n3 at once (not a backfill: there is nothing to backfill around),
  // short then finds only n1's 4 GPUs, free4 takes those.
  Decisions d = MustSchedule(BackfillScenario(), Config("fifo", "binpack", BackfillMode::kGreedy));
  EXPECT_TRUE(d.reservations.empty()) << Dump(d);
  ASSERT_EQ(Started(d), (std::vector<std::string>{"long", "free4"}));
  EXPECT_FALSE(d.starts[0].backfilled);
  EXPECT_EQ(Describe(d.starts[0].tasks), "n3[0 1 2 3 4 5 6 7]");
  EXPECT_FALSE(d.starts[1].backfilled);
  EXPECT_EQ(Describe(d.starts[1].tasks), "n1[4 5 6 7]");
  EXPECT_EQ(ReasonOf(d, "big"), "InsufficientCapacity");
  EXPECT_EQ(ReasonOf(d, "short"), "InsufficientCapacity");
  EXPECT_EQ(MessageOf(d, "short"),
            "needs 8 GPUs (1 x 8 GPUs); 4 GPUs free on the 4 nodes it may use");
}

TEST(Backfill, HoldIsWhatTheReservationNeedsBeyondWhatIsReleased) {
  // now = 0. n0: ra on GPUs 0-3 (ends 500), GPUs 4-7 free; n1: rc on all 8 (ends 500).
  // big (2 x 8 GPUs) cannot start now; at t=500 n0 and n1 are whole: reserved on n0 and n1.
  // n0 needs 8 GPUs of which ra releases 0-3 by then: GPUs 4-7 (free now) are held.
  // n1 is entirely released by then: nothing held there.
  //   long4  (4 GPUs, maxRuntime 3600: runs past 500) -> WouldDelayReservation.
  //   short4 (4 GPUs, maxRuntime 400: ends at 400 <= 500) -> starts on n0 GPUs 4-7, backfilled.
  Snapshot s = Cluster(2, 0);
  s.jobs = {RunningJob("ra", "n0", Range(0, 4)).MaxRuntime(500),
            RunningJob("rc", "n1", Range(0, 8)).MaxRuntime(500),
            JobBuilder("big").Tasks(2, WholeGpus(8)).MaxRuntime(3600).Submit(1),
            JobBuilder("long4").Tasks(1, WholeGpus(4)).MaxRuntime(3600).Submit(2),
            JobBuilder("short4").Tasks(1, WholeGpus(4)).MaxRuntime(400).Submit(3)};
  Decisions d = MustSchedule(s, Config("fifo"));
  ASSERT_EQ(d.reservations.size(), 1u) << Dump(d);
  EXPECT_EQ(d.reservations[0].start_time, 500);
  EXPECT_EQ(Describe(d.reservations[0].tasks), "n0[0 1 2 3 4 5 6 7], n1[0 1 2 3 4 5 6 7]");
  EXPECT_EQ(MessageOf(d, "big"),
            "needs 16 GPUs (2 x 8 GPUs); 4 GPUs free on the 2 nodes it may use; reserved to start "
            "in 8m 20s when running jobs reach their maxRuntime or estimate");
  EXPECT_EQ(ReasonOf(d, "long4"), "WouldDelayReservation");
  ASSERT_EQ(Started(d), std::vector<std::string>{"short4"});
  EXPECT_TRUE(d.starts[0].backfilled);
  EXPECT_EQ(Describe(d.starts[0].tasks), "n0[4 5 6 7]");
}

// =============================================================================================
// Determinism

void ExpectSameTwice(const Snapshot& s, const SchedulerConfig& c) {
  auto sched = Scheduler::Create(c);
  ASSERT_TRUE(sched.has_value());
  auto a = sched->Schedule(s);
  auto b = sched->Schedule(s);
  auto other = Scheduler::Create(c);
  ASSERT_TRUE(other.has_value());
  auto e = other->Schedule(s);
  ASSERT_TRUE(a.has_value() && b.has_value() && e.has_value());
  EXPECT_EQ(Dump(*a), Dump(*b));
  EXPECT_EQ(Dump(*a), Dump(*e));
}

TEST(Determinism, SameInputSameDecisions) {
  std::vector<Snapshot> snaps = {BackfillScenario(), Leaves(), workload::DemoSnapshot()};
  {
    workload::ClusterShape shape;
    shape.nodes = 96;
    Snapshot s = workload::MakeCluster(shape);
    workload::WorkloadShape w;
    w.seed = 7;
    w.projects = 6;
    w.pending_pods = 400;
    w.max_gang_pods = 16;
    workload::AddWorkload(s, w);
    s.now = 5000;
    snaps.push_back(std::move(s));
  }
  for (const Snapshot& s : snaps)
    for (const char* order : {"drf", "fifo"})
      for (const char* placement : {"binpack", "spread"})
        for (BackfillMode b : {BackfillMode::kEasy, BackfillMode::kGreedy, BackfillMode::kNone}) {
          SCOPED_TRACE(std::string(order) + "/" + placement + "/" + BackfillModeName(b));
          ExpectSameTwice(s, Config(order, placement, b));
        }
}

// Everything but the waiting explanations: what `explain = false` must leave unchanged.
std::string Actions(const Decisions& d) {
  Decisions copy = d;
  copy.waiting.clear();
  return Dump(copy);
}

TEST(Determinism, ExplainOnlyChangesExplanations) {
  std::vector<Snapshot> snaps = {BackfillScenario(), Leaves(), workload::DemoSnapshot()};
  for (size_t i = 0; i < snaps.size(); ++i)
    for (BackfillMode b : {BackfillMode::kEasy, BackfillMode::kGreedy, BackfillMode::kNone}) {
      SchedulerConfig quiet = Config("drf", "binpack", b);
      quiet.explain = false;
      Decisions loud = MustSchedule(snaps[i], Config("drf", "binpack", b));
      Decisions q = MustSchedule(snaps[i], quiet);
      EXPECT_EQ(Actions(q), Actions(loud)) << "snapshot " << i << " " << BackfillModeName(b);
      // Every pending job that does not start is still explained, once.
      EXPECT_EQ(q.waiting.size(), loud.waiting.size())
          << "snapshot " << i << " " << BackfillModeName(b);
    }
}

TEST(Determinism, QuietExplanationsAreCoarse) {
  // explain = false: reasons that need no diagnosis stay (Reserved, QuotaMax, Unschedulable,
  // Invalid, BehindBlockedJob, WaitingFor*); capacity reasons become InsufficientCapacity.
  SchedulerConfig quiet = Config("fifo");
  quiet.explain = false;
  Decisions d = MustSchedule(BackfillScenario(), quiet);
  EXPECT_EQ(ReasonOf(d, "big"), "Reserved") << Dump(d);
  EXPECT_EQ(ReasonOf(d, "long"), "InsufficientCapacity");  // WouldDelayReservation when explained
  EXPECT_EQ(MessageOf(d, "long"), "");
  EXPECT_EQ(Started(d), (std::vector<std::string>{"short", "free4"}));
}

TEST(Determinism, BlockSizeIsOnlyAnImplementationDetail) {
  // Node blocks only speed the search up; with a single domain and binpack, 1-node blocks vs one
  // big block must not change which node a task gets when the fullest node is in a later block.
  Snapshot s = Cluster(3);
  s.jobs = {RunningJob("r2", "n2", Range(0, 6)), JobBuilder("j").Tasks(1, WholeGpus(2))};
  for (int32_t block : {1, 2, 32}) {
    SchedulerConfig c;
    c.block_size = block;
    Decisions d = MustSchedule(s, c);
    ASSERT_NE(FindStart(d, "j"), nullptr) << "block_size " << block << "\n" << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n2[6 7]") << "block_size " << block;
  }
}

// Disabled: documents a finding rather than a settled contract (see the report). SchedulerConfig
// calls block_size "an implementation detail for speed", and binpack promises "the fullest node
// that fits"; but a task goes to the best node of the best-fit *block* (judged on the block's
// total free GPUs), so the block size changes the answer:
//   n0: 2 GPUs free, n1: 8 free, n2: 3 free; a 2-GPU task. Fullest node that fits: n0 (0 left).
//   block_size 2: blocks {n0, n1} (10 free) and {n2} (3 free): the fuller block is {n2} -> n2.
// Run with --gtest_also_run_disabled_tests.
TEST(Determinism, BlockSizeDoesNotChangeWhichNodeBinpackFills) {
  Snapshot s = Cluster(3);
  s.jobs = {RunningJob("r0", "n0", Range(0, 6)), RunningJob("r2", "n2", Range(0, 5)),
            JobBuilder("j").Tasks(1, WholeGpus(2))};
  for (int32_t block : {1, 2, 32}) {
    SchedulerConfig c;
    c.block_size = block;
    Decisions d = MustSchedule(s, c);
    ASSERT_NE(FindStart(d, "j"), nullptr) << "block_size " << block << "\n" << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[6 7]") << "block_size " << block;
  }
}

}  // namespace
}  // namespace kumo::core
