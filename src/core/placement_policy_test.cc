// PlacementPolicy: the scoring contract of binpack and spread (lower is better, in the sense each
// one documents), and what the policies do to whole passes: which node, which GPUs.
#include "core/placement_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

// ---------------------------------------------------------------------------------------------
// Scoring contract

struct BinpackType {
  static std::unique_ptr<PlacementPolicy> Make() { return MakeBinpackPolicy(); }
  static constexpr const char* kName = "binpack";
  static constexpr bool kPacks = true;
};
struct SpreadType {
  static std::unique_ptr<PlacementPolicy> Make() { return MakeSpreadPolicy(); }
  static constexpr const char* kName = "spread";
  static constexpr bool kPacks = false;
};

template <typename T>
class PlacementPolicyContract : public ::testing::Test {};
struct PolicyNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using AllPolicies = ::testing::Types<BinpackType, SpreadType>;
TYPED_TEST_SUITE(PlacementPolicyContract, AllPolicies, PolicyNames);

NodeFit Fit(int32_t whole_free_after, int64_t milli_free_after, int64_t cpu_permille_after) {
  NodeFit f;
  f.gpus_total = 8;
  f.task_uses_gpu = true;
  f.whole_free_after = whole_free_after;
  f.gpu_milli_free_after = milli_free_after;
  f.cpu_free_after_permille = cpu_permille_after;
  return f;
}

// Every combination of extreme and middle values of every field the policies read.
std::vector<NodeFit> Corners() {
  std::vector<NodeFit> out;
  for (bool prefer_no : {false, true})
    for (bool uses_gpu : {false, true})
      for (int32_t gpus_total : {0, 8})
        for (bool breaks : {false, true})
          for (int32_t whole : {0, 7, 63})
            for (int64_t milli : {0, 500, 65535})
              for (int64_t cpu : {0, 512, 1023}) {
                NodeFit f;
                f.prefer_no_schedule = prefer_no;
                f.task_uses_gpu = uses_gpu;
                f.gpus_total = gpus_total;
                f.breaks_whole_gpu = breaks;
                f.whole_free_after = whole;
                f.gpu_milli_free_after = milli;
                f.cpu_free_after_permille = cpu;
                out.push_back(f);
              }
  return out;
}

TYPED_TEST(PlacementPolicyContract, NameAndFactory) {
  auto p = TypeParam::Make();
  EXPECT_EQ(p->name(), TypeParam::kName);
  EXPECT_EQ(p->PacksDomains(), TypeParam::kPacks);
  auto by_name = MakePlacementPolicy(TypeParam::kName);
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ((*by_name)->name(), TypeParam::kName);
}

TYPED_TEST(PlacementPolicyContract, UntoleratedPreferNoScheduleIsTheLastChoice) {
  // Most significant for both: any node without the taint beats any node with it.
  auto p = TypeParam::Make();
  const std::vector<NodeFit> fits = Corners();
  for (const NodeFit& tainted : fits) {
    if (!tainted.prefer_no_schedule) continue;
    for (const NodeFit& clean : fits) {
      if (clean.prefer_no_schedule) continue;
      ASSERT_GT(p->Score(tainted), p->Score(clean));
    }
  }
}

TYPED_TEST(PlacementPolicyContract, CpuOnlyTaskAvoidsGpuNodes) {
  // Next most significant: a CPU-only task scores worse on a node with GPUs than on one
  // without, whatever else differs (same PreferNoSchedule state).
  auto p = TypeParam::Make();
  const std::vector<NodeFit> fits = Corners();
  for (const NodeFit& gpu_node : fits) {
    if (gpu_node.task_uses_gpu || gpu_node.gpus_total == 0) continue;
    for (const NodeFit& cpu_node : fits) {
      if (cpu_node.task_uses_gpu || cpu_node.gpus_total != 0) continue;
      if (cpu_node.prefer_no_schedule != gpu_node.prefer_no_schedule) continue;
      ASSERT_GT(p->Score(gpu_node), p->Score(cpu_node));
    }
  }
}

TYPED_TEST(PlacementPolicyContract, FreeResourcesScoredInTheDocumentedSense) {
  // binpack: fewer whole GPUs / milli-GPU / cpu left is better (lower). spread: more is better.
  auto p = TypeParam::Make();
  auto better = [&](const NodeFit& a, const NodeFit& b) { return p->Score(a) < p->Score(b); };
  const bool packs = TypeParam::kPacks;
  EXPECT_EQ(better(Fit(1, 4000, 500), Fit(5, 4000, 500)), packs);  // whole GPUs left
  EXPECT_EQ(better(Fit(5, 4000, 500), Fit(1, 4000, 500)), !packs);
  EXPECT_EQ(better(Fit(2, 2500, 500), Fit(2, 2900, 500)), packs);  // milli-GPU left
  EXPECT_EQ(better(Fit(2, 2900, 500), Fit(2, 2500, 500)), !packs);
  EXPECT_EQ(better(Fit(2, 2500, 100), Fit(2, 2500, 900)), packs);  // cpu left
  EXPECT_EQ(better(Fit(2, 2500, 900), Fit(2, 2500, 100)), !packs);
  // Equal fits score equal (ties are broken by node order, outside the policy).
  EXPECT_EQ(p->Score(Fit(3, 3000, 300)), p->Score(Fit(3, 3000, 300)));
}

TYPED_TEST(PlacementPolicyContract, WholeGpusOutweighMilliOutweighCpu) {
  // Significance: whole GPUs left > milli-GPU left > cpu left, at the extremes of the lesser ones.
  auto p = TypeParam::Make();
  if (TypeParam::kPacks) {
    EXPECT_LT(p->Score(Fit(0, 65535, 1023)), p->Score(Fit(1, 0, 0)));
    EXPECT_LT(p->Score(Fit(4, 100, 1023)), p->Score(Fit(4, 101, 0)));
  } else {
    EXPECT_LT(p->Score(Fit(1, 0, 0)), p->Score(Fit(0, 65535, 1023)));
    EXPECT_LT(p->Score(Fit(4, 101, 0)), p->Score(Fit(4, 100, 1023)));
  }
}

TEST(BinpackPolicy, BreakingAWholeGpuForAShareIsWorse) {
  // A share that breaks a whole GPU scores worse than one joining a shared GPU, even when
  // breaking would leave no whole GPU free and joining would leave 63.
  auto p = MakeBinpackPolicy();
  NodeFit join = Fit(63, 65535, 1023);
  NodeFit breaks = Fit(0, 0, 0);
  breaks.breaks_whole_gpu = true;
  EXPECT_LT(p->Score(join), p->Score(breaks));
}

TEST(SpreadPolicy, IgnoresBreakingWholeGpus) {
  auto p = MakeSpreadPolicy();
  NodeFit join = Fit(3, 3500, 500);
  NodeFit breaks = join;
  breaks.breaks_whole_gpu = true;
  EXPECT_EQ(p->Score(join), p->Score(breaks));
}

TEST(PlacementPolicyFactory, UnknownNameIsAnError) {
  auto p = MakePlacementPolicy("random");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.error().message(),
            "unknown placement policy \"random\" (known: binpack, spread, bestfit)");
  auto s = Scheduler::Create(Config("drf", "random"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Whole passes

Snapshot OneProject(std::vector<Node> nodes, std::vector<Job> jobs) {
  Snapshot s;
  s.nodes = std::move(nodes);
  s.projects = {MakeProject("p")};
  s.jobs = std::move(jobs);
  return s;
}

TEST(Placement, BinpackFillsTheFullestNodeSpreadTheEmptiest) {
  // n0: 6 of 8 GPUs busy, n1: empty, n2: 4 busy. A 2-GPU task leaves
  //   n0: 0 whole GPUs free, n1: 6, n2: 2.
  // binpack -> n0, on its two free GPUs 6 and 7 (both NVLink group 1).
  // spread  -> n1; both of n1's groups have 4 free, the roomiest-first tie goes to group 0: 0, 1.
  Snapshot s = OneProject({GpuNode("n0"), GpuNode("n1"), GpuNode("n2")},
                          {RunningJob("r0", "n0", Range(0, 6)), RunningJob("r2", "n2", Range(0, 4)),
                           JobBuilder("j").Tasks(1, WholeGpus(2))});
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "j"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "j")->tasks), "n0[6 7]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "j"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "j")->tasks), "n1[0 1]");
}

TEST(Placement, GangOfSmallTasksBinpackStaysOnOneNodeSpreadAlternates) {
  // Two empty 8-GPU nodes (NVLink groups 0-3 and 4-7); a gang of 4 x 1 GPU.
  // binpack: task 0 -> n0 (tie, node order), GPU 0 (tightest group with room: tie -> group 0);
  //   then n0 is fuller (6 whole GPUs left vs 7), and group 0 (3 free) is tighter than group 1
  //   (4 free): GPUs 1, 2, 3. n1 stays whole.
  // spread: task 0 -> n0 GPU 0; task 1 -> n1 (7 whole left vs 6) GPU 0; task 2 -> n0 (6 vs 6:
  //   node order) on the roomiest group, 1 (4 free vs 3): GPU 4; task 3 -> n1 GPU 4.
  Snapshot s =
      OneProject({GpuNode("n0"), GpuNode("n1")}, {JobBuilder("gang").Tasks(4, WholeGpus(1))});
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "gang"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "gang")->tasks), "n0[0], n0[1], n0[2], n0[3]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "gang"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "gang")->tasks), "n0[0], n1[0], n0[4], n1[4]");
}

TEST(Placement, BinpackKeepsAnEmptyNodeWholeForALaterBigTask) {
  // Same two nodes; "small" (4 x 1 GPU, t=0) then "whole" (1 x 8 GPUs, t=1).
  // binpack: small fills half of n0; whole gets all of n1.
  // spread: small lands on both nodes (2 GPUs each): 12 GPUs free, but no node has 8 whole:
  //   whole waits, Fragmented.
  Snapshot s = OneProject({GpuNode("n0"), GpuNode("n1")},
                          {JobBuilder("small").Tasks(4, WholeGpus(1)).Submit(0),
                           JobBuilder("whole").Tasks(1, WholeGpus(8)).Submit(1)});
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  EXPECT_EQ(Started(bin), (std::vector<std::string>{"small", "whole"})) << Dump(bin);
  ASSERT_NE(FindStart(bin, "whole"), nullptr);
  EXPECT_EQ(Describe(FindStart(bin, "whole")->tasks), "n1[0 1 2 3 4 5 6 7]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  EXPECT_EQ(Started(spr), std::vector<std::string>{"small"}) << Dump(spr);
  EXPECT_EQ(ReasonOf(spr, "whole"), "Fragmented") << Dump(spr);
}

TEST(Placement, BinpackPutsASharedTaskOnAnAlreadySharedGpu) {
  // n0: GPU 0 runs a 500-milli share (7 whole GPUs free). n1: GPUs 0-6 busy, GPU 7 whole and free.
  // A 250-milli task:
  //   binpack: on n1 it would break a whole GPU (and leave 0 whole free, otherwise the fullest);
  //            on n0 it joins GPU 0: not breaking a whole GPU is more significant -> n0 GPU 0.
  //   spread:  ignores sharing; n0 leaves 7 whole GPUs, n1 0 -> n0, on the roomiest GPU, which is
  //            a whole one: GPU 1.
  Snapshot s = OneProject({GpuNode("n0"), GpuNode("n1")},
                          {JobBuilder("shared").Tasks(1, 500).Running(0).OnShare("n0", 0, 500),
                           RunningJob("busy", "n1", Range(0, 7)), JobBuilder("j").Tasks(1, 250)});
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "j"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "j")->tasks), "n0[0:250]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "j"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "j")->tasks), "n0[1:250]");
}

TEST(Placement, BinpackTakesTheSharedGpuWithTheLeastRoomLeft) {
  // One node. GPU 0 has 500 milli free, GPU 1 has 300 free (shares running), GPUs 2-7 whole.
  //   s1 (250): shared GPUs that fit: 0 (500), 1 (300) -> tightest, GPU 1 (50 left).
  //   s2 (600): no shared GPU has 600 -> breaks a whole GPU, the first: GPU 2 (400 left).
  //   s3 (400): shared GPUs that fit: 0 (500), 2 (400) -> GPU 2 (exactly full).
  // spread instead puts every share on the roomiest GPU: 2, then 3, then 4.
  Snapshot s =
      OneProject({GpuNode("n0")}, {JobBuilder("a").Tasks(1, 500).Running(0).OnShare("n0", 0, 500),
                                   JobBuilder("b").Tasks(1, 700).Running(0).OnShare("n0", 1, 700),
                                   JobBuilder("s1").Tasks(1, 250).Submit(1),
                                   JobBuilder("s2").Tasks(1, 600).Submit(2),
                                   JobBuilder("s3").Tasks(1, 400).Submit(3)});
  Decisions bin = MustSchedule(s, Config("fifo", "binpack"));
  ASSERT_EQ(Started(bin), (std::vector<std::string>{"s1", "s2", "s3"})) << Dump(bin);
  EXPECT_EQ(Describe(bin.starts[0].tasks), "n0[1:250]");
  EXPECT_EQ(Describe(bin.starts[1].tasks), "n0[2:600]");
  EXPECT_EQ(Describe(bin.starts[2].tasks), "n0[2:400]");
  Decisions spr = MustSchedule(s, Config("fifo", "spread"));
  ASSERT_EQ(Started(spr), (std::vector<std::string>{"s1", "s2", "s3"})) << Dump(spr);
  EXPECT_EQ(Describe(spr.starts[0].tasks), "n0[2:250]");
  EXPECT_EQ(Describe(spr.starts[1].tasks), "n0[3:600]");
  EXPECT_EQ(Describe(spr.starts[2].tasks), "n0[4:400]");
}

TEST(Placement, SharesOfOneGangStackOnOneGpu) {
  // One node with a single GPU; a gang of 2 x 500 milli: task 0 breaks GPU 0, task 1 joins it.
  Snapshot s = OneProject({GpuNode("n0", 1)}, {JobBuilder("j").Tasks(2, 500)});
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[0:500], n0[0:500]");
  // A third share would not fit: 2 x 600 waits (1,200 > 1,000 milli).
  s.jobs = {JobBuilder("k").Tasks(2, 600)};
  d = MustSchedule(s);
  EXPECT_TRUE(d.starts.empty()) << Dump(d);
}

TEST(Placement, WholeGpusComeFromOneNvlinkGroup) {
  // One node, NVLink groups 0 (GPUs 0-3) and 1 (4-7); GPUs 0, 1 and 4 busy.
  // Free: group 0 {2, 3}, group 1 {5, 6, 7}.
  //   3 GPUs: only group 1 has room -> 5 6 7 (not the lowest indices 2 3 5).
  //   2 GPUs: both groups have room; binpack takes the tightest (group 0: 2 3), spread the
  //           roomiest (group 1: 5 6).
  auto snap = [](int gpus) {
    return OneProject({GpuNode("n0")},
                      {JobBuilder("r").Tasks(1, WholeGpus(3)).Running(0).On("n0", {0, 1, 4}),
                       JobBuilder("j").Tasks(1, WholeGpus(gpus))});
  };
  for (const char* policy : {"binpack", "spread"}) {
    Decisions d = MustSchedule(snap(3), Config("drf", policy));
    ASSERT_NE(FindStart(d, "j"), nullptr) << policy << "\n" << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[5 6 7]") << policy;
  }
  Decisions bin = MustSchedule(snap(2), Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "j"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "j")->tasks), "n0[2 3]");
  Decisions spr = MustSchedule(snap(2), Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "j"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "j")->tasks), "n0[5 6]");
}

TEST(Placement, WithoutAGroupWithRoomTheRoomiestGroupsGoFirst) {
  // Regression: the group-count comparator once read `cand` while std::stable_sort permuted it
  // and returned GPUs 1 3 6 (three groups).
  // One node with NVLink pairs: groups 0 {0,1}, 1 {2,3}, 2 {4,5}, 3 {6,7}; GPUs 0, 2, 4 busy.
  // Free: g0 {1}, g1 {3}, g2 {5}, g3 {6, 7}. A 3-GPU task fits in no single group: the roomiest
  // group first (g3: 6, 7), then the others by group index (g0: 1).
  Node n = NodeBuilder("n0").Gpus(8, "A100", /*per_group=*/2);
  Snapshot s =
      OneProject({n}, {JobBuilder("r").Tasks(1, WholeGpus(3)).Running(0).On("n0", {0, 2, 4}),
                       JobBuilder("j").Tasks(1, WholeGpus(3))});
  Decisions d = MustSchedule(s);
  ASSERT_NE(FindStart(d, "j"), nullptr) << Dump(d);
  EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[1 6 7]");
}

TEST(Placement, CpuOnlyTaskAvoidsGpuNodes) {
  // "g0" (8 GPUs) comes first in node order, "c0" has no GPUs. A CPU-only task goes to c0 under
  // both policies; once c0's cpu is used up (60 of 64 cores busy, the task wants 8) it may use g0.
  Node g0 = GpuNode("g0");
  Node c0 = NodeBuilder("c0");
  for (const char* policy : {"binpack", "spread"}) {
    Snapshot s = OneProject({g0, c0}, {JobBuilder("cpu").Tasks(1, 0, /*cores=*/8)});
    Decisions d = MustSchedule(s, Config("drf", policy));
    ASSERT_NE(FindStart(d, "cpu"), nullptr) << policy << "\n" << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "cpu")->tasks), "c0[]") << policy;

    s.jobs.insert(s.jobs.begin(), JobBuilder("busy").Tasks(1, 0, 60).Running(0).On("c0", {}));
    d = MustSchedule(s, Config("drf", policy));
    ASSERT_NE(FindStart(d, "cpu"), nullptr) << policy << "\n" << Dump(d);
    EXPECT_EQ(Describe(FindStart(d, "cpu")->tasks), "g0[]") << policy;
  }
}

TEST(Placement, CpuOnlyTasksByFreeCpu) {
  // Two CPU-only nodes; c0 has 32 of 64 cores busy. A 4-core task:
  // binpack -> c0 (less cpu left), spread -> c1.
  Snapshot s = OneProject(
      {NodeBuilder("c0"), NodeBuilder("c1")},
      {JobBuilder("busy").Tasks(1, 0, 32).Running(0).On("c0", {}), JobBuilder("j").Tasks(1, 0, 4)});
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "j"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "j")->tasks), "c0[]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "j"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "j")->tasks), "c1[]");
}

TEST(Placement, PreferredLeafBinpackFullestSpreadEmptiest) {
  // Leaves a {n0, n1} and b {n2, n3}; n0 has GPUs 0-3 busy: leaf a has 12 GPUs free, b 16.
  // A gang of 2 x 4 GPUs, leaf preferred; both leaves can hold it.
  //   binpack: fullest leaf first, a: task 0 -> n0 (0 whole left) on 4-7, task 1 -> n1 on 0-3.
  //   spread: emptiest leaf, b: task 0 -> n2 (tie, node order) on group 0, task 1 -> n3 (4 whole
  //           left vs 0) on group 0.
  Snapshot s = OneProject({GpuNodeIn("n0", {"a"}), GpuNodeIn("n1", {"a"}), GpuNodeIn("n2", {"b"}),
                           GpuNodeIn("n3", {"b"})},
                          {RunningJob("r", "n0", Range(0, 4)),
                           JobBuilder("g")
                               .Tasks(2, WholeGpus(4))
                               .Topology("leaf", TopologyConstraint::Mode::kPreferred)});
  s.topology_levels = {"leaf"};
  Decisions bin = MustSchedule(s, Config("drf", "binpack"));
  ASSERT_NE(FindStart(bin, "g"), nullptr) << Dump(bin);
  EXPECT_EQ(Describe(FindStart(bin, "g")->tasks), "n0[4 5 6 7], n1[0 1 2 3]");
  Decisions spr = MustSchedule(s, Config("drf", "spread"));
  ASSERT_NE(FindStart(spr, "g"), nullptr) << Dump(spr);
  EXPECT_EQ(Describe(FindStart(spr, "g")->tasks), "n2[0 1 2 3], n3[0 1 2 3]");
}

}  // namespace
}  // namespace kumo::core
