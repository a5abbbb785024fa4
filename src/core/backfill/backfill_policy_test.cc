// BackfillPolicy: the contract every policy keeps (typed test over none, greedy and easy),
// checked through whole passes over one scene: a job ahead of the blocked head, the head, and
// jobs behind it of every kind -- one without maxRuntime, one that ends before the head could
// start, one that ends after. Plus the names.
#include "core/backfill/backfill_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

constexpr Seconds kNow = 10;

// n0: "r0" (4 GPUs) runs until t=100 beside 4 idle GPUs. n1: "r1" (8 GPUs) never ends. n2: 6 GPUs
// idle beside "r2" (2 GPUs, until t=500). FIFO order: "first" (cpu only) fits now; "head" (8 GPUs
// on one node) does not, and can start on n0 at t=100 if n0's idle GPUs are kept for it; behind
// it "long" (4 GPUs, no maxRuntime), "short" (4 GPUs, ends at t=60), "later" (2 GPUs, ends at
// t=1010).
Snapshot Scene() {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1"), GpuNode("n2")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r0", "n0", Range(0, 4)).MaxRuntime(100),
            RunningJob("r1", "n1", Range(0, 8)),
            RunningJob("r2", "n2", {0, 1}).MaxRuntime(500),
            JobBuilder("first").Tasks(1, 0).Submit(1),
            JobBuilder("head").Tasks(1, WholeGpus(8)).Submit(2),
            JobBuilder("long").Tasks(1, WholeGpus(4)).Submit(3),
            JobBuilder("short").Tasks(1, WholeGpus(4)).MaxRuntime(50).Submit(4),
            JobBuilder("later").Tasks(1, WholeGpus(2)).MaxRuntime(1000).Submit(5)};
  return s;
}

SchedulerConfig ConfigFor(BackfillMode mode) {
  SchedulerConfig c = Config("fifo", "binpack", mode);
  c.preemption = false;
  return c;
}

// The state after `d`: its starts run from now on, as placed.
Snapshot Apply(Snapshot s, const Decisions& d) {
  for (const StartDecision& start : d.starts)
    for (Job& j : s.jobs)
      if (j.id == start.job) {
        j.phase = JobPhase::kRunning;
        j.start_time = s.now;
        j.placements = start.tasks;
      }
  return s;
}

// When "head" could start in `s` if every running job ran to its maxRuntime (EASY's estimate).
Seconds HeadEarliestStart(const Snapshot& s) {
  const Decisions d = MustSchedule(s, ConfigFor(BackfillMode::kEasy));
  const ReservationDecision* r = FindReservation(d, "head");
  return r ? r->start_time : kNever;
}

struct NoneType {
  static constexpr BackfillMode kMode = BackfillMode::kNone;
  static constexpr const char* kName = "none";
  static constexpr bool kStartsBehindHead = false;
  static constexpr bool kProtectsHead = true;
  static constexpr bool kReserves = false;
};
struct GreedyType {
  static constexpr BackfillMode kMode = BackfillMode::kGreedy;
  static constexpr const char* kName = "greedy";
  static constexpr bool kStartsBehindHead = true;
  static constexpr bool kProtectsHead = false;
  static constexpr bool kReserves = false;
};
struct EasyType {
  static constexpr BackfillMode kMode = BackfillMode::kEasy;
  static constexpr const char* kName = "easy";
  static constexpr bool kStartsBehindHead = true;
  static constexpr bool kProtectsHead = true;
  static constexpr bool kReserves = true;
};

template <typename T>
class BackfillPolicyContract : public ::testing::Test {};

struct PolicyNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using AllPolicies = ::testing::Types<NoneType, GreedyType, EasyType>;
TYPED_TEST_SUITE(BackfillPolicyContract, AllPolicies, PolicyNames);

TYPED_TEST(BackfillPolicyContract, JobsAheadOfTheBlockedHeadAreUnaffected) {
  const Decisions d = MustSchedule(Scene(), ConfigFor(TypeParam::kMode));
  ASSERT_NE(FindStart(d, "first"), nullptr) << Dump(d);
  EXPECT_FALSE(FindStart(d, "first")->backfilled);
  EXPECT_EQ(FindStart(d, "head"), nullptr);
  EXPECT_NE(FindWait(d, "head"), nullptr);
}

TYPED_TEST(BackfillPolicyContract, StartsJobsBehindTheHeadOnlyIfItBackfills) {
  const Decisions d = MustSchedule(Scene(), ConfigFor(TypeParam::kMode));
  EXPECT_EQ(FindStart(d, "short") != nullptr, TypeParam::kStartsBehindHead) << Dump(d);
  if (!TypeParam::kStartsBehindHead) {
    EXPECT_EQ(Started(d), std::vector<std::string>{"first"}) << Dump(d);
    for (const char* id : {"short", "long", "later"})
      EXPECT_EQ(ReasonOf(d, id), "BehindBlockedJob") << id;
  }
}

// What it starts behind the head never makes the head's estimated start later.
TYPED_TEST(BackfillPolicyContract, ProtectsTheHeadsStart) {
  const Snapshot s = Scene();
  const Decisions d = MustSchedule(s, ConfigFor(TypeParam::kMode));
  const Seconds before = HeadEarliestStart(Apply(s, Decisions{{d.starts.front()}}));
  const Seconds after = HeadEarliestStart(Apply(s, d));
  ASSERT_EQ(before, 100);
  if (TypeParam::kProtectsHead) {
    EXPECT_LE(after, before) << Dump(d);
  } else {
    // Greedy puts "long", which never ends, on n0's idle GPUs: the head waits for n2.
    EXPECT_GT(after, before) << Dump(d);
  }
}

TYPED_TEST(BackfillPolicyContract, OnlyEasyReservesAndTheReservationIsKeptFree) {
  const Decisions d = MustSchedule(Scene(), ConfigFor(TypeParam::kMode));
  if (!TypeParam::kReserves) {
    EXPECT_TRUE(d.reservations.empty()) << Dump(d);
    return;
  }
  const ReservationDecision* r = FindReservation(d, "head");
  ASSERT_NE(r, nullptr) << Dump(d);
  EXPECT_EQ(r->start_time, 100);
  EXPECT_EQ(ReasonOf(d, "head"), "Reserved");
  // No start takes a GPU of the reservation unless it ends by the reserved time.
  for (const StartDecision& start : d.starts) {
    if (!start.backfilled || start.job == "short") continue;
    for (const TaskPlacement& t : start.tasks) {
      for (const TaskPlacement& held : r->tasks) {
        if (t.node != held.node) continue;
        for (const GpuShare& g : t.gpus)
          for (const GpuShare& h : held.gpus) EXPECT_NE(g.gpu_index, h.gpu_index) << Dump(d);
      }
    }
  }
}

// A head that may not reserve yet (Job::may_reserve, set by LAS's deadline guard) is skipped as
// under greedy: no reservation, and "long" takes n0's idle GPUs.
TEST(EasyBackfill, AJobThatMayNotReserveIsSkippedLikeGreedy) {
  Snapshot s = Scene();
  for (Job& j : s.jobs)
    if (j.id == "head") j.may_reserve = false;
  SchedulerConfig c = ConfigFor(BackfillMode::kEasy);
  c.explain = true;
  const Decisions d = MustSchedule(s, c);
  EXPECT_TRUE(d.reservations.empty()) << Dump(d);
  EXPECT_NE(FindStart(d, "long"), nullptr) << Dump(d);
  ASSERT_NE(FindWait(d, "head"), nullptr);
  EXPECT_NE(FindWait(d, "head")->message.find("no reservation before it nears its deadline guard"),
            std::string::npos)
      << FindWait(d, "head")->message;
  // The same scene with the flag set reserves (OnlyEasyReservesAndTheReservationIsKeptFree).
  EXPECT_NE(FindReservation(MustSchedule(Scene(), c), "head"), nullptr);
}

// A job that declared a higher priority than some job in the snapshot may always reserve, so that
// lower classes do not backfill into its room only to be preempted by it; among equals the guard
// (Job::may_reserve) decides, and without declared priorities (LAS off) nothing changes.
TEST(EasyBackfill, AHigherDeclaredClassMayAlwaysReserve) {
  SchedulerConfig c = ConfigFor(BackfillMode::kEasy);
  auto scene = [](int32_t head_declared, std::optional<int32_t> others_declared,
                  const std::string& lower) {
    Snapshot s = Scene();
    for (Job& j : s.jobs) {
      if (j.id == "head") {
        j.may_reserve = false;
        j.las_declared_priority = head_declared;
      } else if (others_declared) {
        j.las_declared_priority = j.id == lower ? *others_declared - 1 : *others_declared;
      }
    }
    return s;
  };
  // A running job of a lower class, or a pending one: "head" outranks it and reserves.
  EXPECT_NE(FindReservation(MustSchedule(scene(1, 1, "r0"), c), "head"), nullptr);
  EXPECT_NE(FindReservation(MustSchedule(scene(1, 1, "long"), c), "head"), nullptr);
  // One class: the guard decides, and it said no.
  EXPECT_EQ(FindReservation(MustSchedule(scene(1, 1, ""), c), "head"), nullptr);
  // Only "head" has a declared priority: it is the lowest itself.
  EXPECT_EQ(FindReservation(MustSchedule(scene(1, std::nullopt, ""), c), "head"), nullptr);
}

TEST(BackfillMode, NamesRoundTrip) {
  for (BackfillMode m : {BackfillMode::kNone, BackfillMode::kGreedy, BackfillMode::kEasy}) {
    auto parsed = ParseBackfillMode(BackfillModeName(m));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, m);
    EXPECT_EQ(MakeBackfillPolicy(m)->name(), BackfillModeName(m));
  }
  EXPECT_FALSE(ParseBackfillMode("conservative").has_value());
}

}  // namespace
}  // namespace kumo::core
