// PreemptionPolicy: the contract every policy keeps (typed test over priority, reclaim,
// priority+reclaim, defragment and fill), checked through whole passes: each type brings a scenario in
// which it must act, and the contract is stated on what it then decides. Plus the victim rules
// of priority.cc and reclaim.cc as plain calls, and the factory's errors.
#include "core/preemption/preemption_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/preemption/eviction.h"
#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

constexpr Seconds kNow = 1000;

// Two 8-GPU nodes, each filled by one 8-GPU job of priority 0 in project "p"; "pre" (priority
// 10, 8 GPUs) waits. One victim is enough.
Snapshot PriorityScenario() {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("low-a", "n0", Range(0, 8), 100),
            RunningJob("low-b", "n1", Range(0, 8), 200),
            JobBuilder("pre").Priority(10).Tasks(1, WholeGpus(8)).Submit(900)};
  return s;
}

// Project "a" is guaranteed 8 GPUs and uses none; "b" (nothing guaranteed) borrows all 16 with
// two jobs of "pre"'s own priority. Only a reclaim can make room.
Snapshot ReclaimScenario() {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1")};
  s.projects = {MakeProject("a", 1.0, 8), MakeProject("b")};
  s.jobs = {RunningJob("b-1", "n0", Range(0, 8), 100).Project("b"),
            RunningJob("b-2", "n1", Range(0, 8), 200).Project("b"),
            JobBuilder("pre", "a").Tasks(1, WholeGpus(8)).Submit(900)};
  return s;
}

// "small" (2 GPUs, checkpointing) sits on n0 next to 6 idle GPUs; n1 has 2 idle GPUs beside a
// job that may not be preempted. "pre" needs 8 GPUs on one node: it fits on n0 once "small" has
// moved to n1. Everything has priority 0, so nothing else can make room.
Snapshot DefragmentScenario() {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("small", "n0", {0, 1}, 100).Checkpointed(900),
            RunningJob("fill", "n1", Range(0, 6), 100).Preemptible(false),
            JobBuilder("pre").Tasks(1, WholeGpus(8)).Submit(900)};
  return s;
}

// "small" (4 GPUs, checkpointing, saved 100 s ago) sits on n0 next to 4 idle GPUs; n1 is full
// with a job that may not be preempted, so nothing can move. "pre" (8 GPUs on one node) fits on
// n0 once "small" has stopped: 8 GPUs work instead of 4, and 4 x 100 s unsaved plus 4 x 60 s of
// restart is repaid by the 4 added GPUs in 160 s.
Snapshot FillScenario() {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("small", "n0", Range(0, 4), 100).Checkpointed(kNow - 100),
            RunningJob("busy", "n1", Range(0, 8), 100).Preemptible(false),
            JobBuilder("pre").Tasks(1, WholeGpus(8)).Submit(900)};
  return s;
}

struct PriorityType {
  static constexpr const char* kName = "priority";
  static std::vector<std::string> Names() { return {"priority"}; }
  static Snapshot Scenario() { return PriorityScenario(); }
  static constexpr PreemptionReason kReason = PreemptionReason::kPriority;
  // Victims have a priority below the preemptor's plus this; nullopt: any priority.
  static constexpr std::optional<int32_t> kVictimPriorityBelow = 0;
};
struct ReclaimType {
  static constexpr const char* kName = "reclaim";
  static std::vector<std::string> Names() { return {"reclaim"}; }
  static Snapshot Scenario() { return ReclaimScenario(); }
  static constexpr PreemptionReason kReason = PreemptionReason::kReclaim;
  static constexpr std::optional<int32_t> kVictimPriorityBelow = 1;
};
struct PriorityReclaimType {
  static constexpr const char* kName = "priority_reclaim";
  static std::vector<std::string> Names() { return {"priority", "reclaim"}; }
  static Snapshot Scenario() { return ReclaimScenario(); }
  static constexpr PreemptionReason kReason = PreemptionReason::kReclaim;
  static constexpr std::optional<int32_t> kVictimPriorityBelow = 1;
};
struct DefragmentType {
  static constexpr const char* kName = "defragment";
  static std::vector<std::string> Names() { return {"defragment"}; }
  static Snapshot Scenario() { return DefragmentScenario(); }
  static constexpr PreemptionReason kReason = PreemptionReason::kDefragment;
  static constexpr std::optional<int32_t> kVictimPriorityBelow = std::nullopt;
};

struct FillType {
  static constexpr const char* kName = "fill";
  static std::vector<std::string> Names() { return {"fill"}; }
  static Snapshot Scenario() { return FillScenario(); }
  static constexpr PreemptionReason kReason = PreemptionReason::kFill;
  static constexpr std::optional<int32_t> kVictimPriorityBelow = 1;  // no higher declared one
};

template <typename T>
class PreemptionPolicyContract : public ::testing::Test {
 protected:
  static SchedulerConfig PolicyConfig() {
    SchedulerConfig c = Config("fifo");
    c.preemption.names = T::Names();
    return c;
  }
  static SchedulerConfig NoPreemption() {
    SchedulerConfig c = Config("fifo");
    c.preemption = false;
    return c;
  }
  // `s` with the named running jobs terminating (their placements unchanged).
  static Snapshot WithTerminating(Snapshot s, const std::vector<std::string>& ids) {
    for (Job& j : s.jobs)
      if (std::find(ids.begin(), ids.end(), j.id) != ids.end()) j.phase = JobPhase::kTerminating;
    return s;
  }
};

struct PolicyNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using AllPolicies =
    ::testing::Types<PriorityType, ReclaimType, PriorityReclaimType, DefragmentType, FillType>;
TYPED_TEST_SUITE(PreemptionPolicyContract, AllPolicies, PolicyNames);

TYPED_TEST(PreemptionPolicyContract, MakesRoomInItsScenarioAndAdmitsThePreemptor) {
  const Decisions d = MustSchedule(TypeParam::Scenario(), this->PolicyConfig());
  ASSERT_FALSE(d.preemptions.empty()) << Dump(d);
  for (const PreemptDecision& p : d.preemptions) {
    EXPECT_EQ(p.preemptor, "pre") << Dump(d);
    EXPECT_EQ(p.reason, TypeParam::kReason) << Dump(d);
    EXPECT_FALSE(p.message.empty());
  }
  EXPECT_EQ(ReasonOf(d, "pre"), "WaitingForPreemption") << Dump(d);
  EXPECT_EQ(FindStart(d, "pre"), nullptr);
}

// The preemptor fits once its victims have exited, and not if any one of them stayed.
TYPED_TEST(PreemptionPolicyContract, VictimsAreSufficientAndMinimal) {
  const Snapshot s = TypeParam::Scenario();
  const std::vector<std::string> victims = Victims(MustSchedule(s, this->PolicyConfig()));
  ASSERT_FALSE(victims.empty());
  const Decisions all = MustSchedule(this->WithTerminating(s, victims), this->NoPreemption());
  EXPECT_EQ(ReasonOf(all, "pre"), "WaitingForTermination") << Dump(all);
  for (const std::string& kept : victims) {
    std::vector<std::string> others;
    for (const std::string& v : victims)
      if (v != kept) others.push_back(v);
    const Decisions d = MustSchedule(this->WithTerminating(s, others), this->NoPreemption());
    EXPECT_NE(ReasonOf(d, "pre"), "WaitingForTermination") << "without " << kept << "\n" << Dump(d);
    EXPECT_EQ(FindStart(d, "pre"), nullptr) << Dump(d);
  }
}

TYPED_TEST(PreemptionPolicyContract, NeverStopsJobsThatAreNotPreemptible) {
  Snapshot s = TypeParam::Scenario();
  for (Job& j : s.jobs)
    if (j.phase == JobPhase::kRunning) j.preemptible = false;
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TYPED_TEST(PreemptionPolicyContract, NeverStopsJobsInsideTheirMinimumRuntime) {
  Snapshot s = TypeParam::Scenario();
  for (Job& j : s.jobs)
    if (j.phase == JobPhase::kRunning) j.min_runtime = kNow - j.start_time + 1;
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  // One second later the minimum runtime is over.
  s.now = kNow + 1;
  EXPECT_FALSE(MustSchedule(s, this->PolicyConfig()).preemptions.empty());
}

// "fresh" (nominated, so considered before "pre") starts in this pass on a node added for it; it
// would be the cheapest victim of all (no work lost), but a job started in this pass is never one.
TYPED_TEST(PreemptionPolicyContract, NeverStopsAJobStartedInThisPass) {
  Snapshot s = TypeParam::Scenario();
  std::string project;
  for (const Job& j : s.jobs)
    if (j.phase == JobPhase::kRunning && project.empty()) project = j.project;
  s.nodes.push_back(GpuNode("n9"));
  Job fresh = JobBuilder("fresh", project).Tasks(1, WholeGpus(8)).Checkpointed(-1).Submit(950);
  fresh.nominated = true;
  s.jobs.push_back(fresh);
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  ASSERT_NE(FindStart(d, "fresh"), nullptr) << Dump(d);
  EXPECT_FALSE(d.preemptions.empty()) << Dump(d);
  for (const std::string& v : Victims(d)) EXPECT_NE(v, "fresh") << Dump(d);
}

TYPED_TEST(PreemptionPolicyContract, AJobThatMayNotPreemptStopsNobody) {
  Snapshot s = TypeParam::Scenario();
  for (Job& j : s.jobs)
    if (j.id == "pre") j.may_preempt = false;
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
}

TYPED_TEST(PreemptionPolicyContract, NeverStopsJobsAtOrAboveItsPriorityBound) {
  Snapshot s = TypeParam::Scenario();
  int32_t pre_priority = 0;
  for (const Job& j : s.jobs)
    if (j.id == "pre") pre_priority = j.priority;
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  if (!TypeParam::kVictimPriorityBelow) {
    // No bound (defragmenting moves): priority does not matter, so far higher victims move too.
    ASSERT_FALSE(d.preemptions.empty()) << Dump(d);
    for (Job& j : s.jobs)
      if (j.phase == JobPhase::kRunning) j.priority = pre_priority + 1000;
    EXPECT_EQ(MustSchedule(s, this->PolicyConfig()).preemptions.size(), d.preemptions.size());
    return;
  }
  for (const PreemptDecision& p : d.preemptions) {
    for (const Job& j : s.jobs) {
      if (j.id != p.victim) continue;
      EXPECT_LT(j.priority, pre_priority + *TypeParam::kVictimPriorityBelow);
    }
  }
  // Raised to the bound, the same victims are safe.
  for (Job& j : s.jobs)
    if (j.phase == JobPhase::kRunning) j.priority = pre_priority + *TypeParam::kVictimPriorityBelow;
  EXPECT_TRUE(MustSchedule(s, this->PolicyConfig()).preemptions.empty());
}

TYPED_TEST(PreemptionPolicyContract, StopsNothingWhenThePreemptorFitsAnyway) {
  Snapshot s = TypeParam::Scenario();
  s.nodes.push_back(GpuNode("spare"));
  const Decisions d = MustSchedule(s, this->PolicyConfig());
  EXPECT_TRUE(d.preemptions.empty()) << Dump(d);
  EXPECT_NE(FindStart(d, "pre"), nullptr) << Dump(d);
}

// The rules as plain calls: (preemptor priority, victim priority, same project, victim
// borrowing, preemptor within its guarantee).
internal::VictimFacts Facts(int32_t pre, int32_t victim, bool same, bool borrowing,
                            bool in_guarantee) {
  return internal::VictimFacts{pre, victim, same, borrowing, in_guarantee};
}

TEST(PriorityRule, LowerPriorityOnlyAndOtherProjectsOnlyWhileTheyBorrow) {
  EXPECT_TRUE(internal::PriorityAllows(Facts(5, 4, true, false, false)));
  EXPECT_FALSE(internal::PriorityAllows(Facts(5, 5, true, false, false)));
  EXPECT_FALSE(internal::PriorityAllows(Facts(5, 4, false, false, true)));  // within its guarantee
  EXPECT_TRUE(internal::PriorityAllows(Facts(5, 4, false, true, false)));
  EXPECT_FALSE(internal::PriorityAllows(Facts(5, 6, false, true, true)));
}

// The search is skipped for a preemptor of no higher priority than every running preemptible
// job (PassState::lowest_victim_priority): that bound must be the lowest of them, not the first
// or the highest, and must leave out jobs that cannot be victims.
TEST(PriorityRule, APreemptorAboveOnlyTheLowestRunningJobStillPreemptsIt) {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1"), GpuNode("n2")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("high", "n0", Range(0, 8), 100).Priority(5),
            RunningJob("low", "n1", Range(0, 8), 100).Priority(1),
            RunningJob("pinned", "n2", Range(0, 8), 100).Priority(0).Preemptible(false),
            JobBuilder("pre").Priority(3).Tasks(1, WholeGpus(8)).Submit(900)};
  SchedulerConfig c = Config("fifo");
  c.preemption.names = {"priority"};
  auto d = Scheduler::Create(c)->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->preemptions.size(), 1u);
  EXPECT_EQ(d->preemptions[0].victim, "low");

  s.jobs.back() = JobBuilder("pre").Priority(1).Tasks(1, WholeGpus(8)).Submit(900);
  d = Scheduler::Create(c)->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->preemptions.empty());  // equal to the lowest preemptible: no victim
}

TEST(ReclaimRule, BorrowersOfOtherProjectsUpToEqualPriorityForAProjectWithinItsGuarantee) {
  EXPECT_TRUE(internal::ReclaimAllows(Facts(5, 5, false, true, true)));
  EXPECT_TRUE(internal::ReclaimAllows(Facts(5, 1, false, true, true)));
  EXPECT_FALSE(internal::ReclaimAllows(Facts(5, 6, false, true, true)));
  EXPECT_FALSE(internal::ReclaimAllows(Facts(5, 5, false, false, true)));  // not borrowing
  EXPECT_FALSE(internal::ReclaimAllows(Facts(5, 5, false, true, false)));  // beyond guarantee
  EXPECT_FALSE(internal::ReclaimAllows(Facts(5, 1, true, true, true)));    // own project
}

// Preempt for gain (PreemptionGainConfig, eviction.cc). One 8-GPU node, filled by "old": 8 GPUs,
// declared priority 0, demoted by LAS to queue 1 of 3 (pass priority 0 x 3 + 2 - 1 = 1); it
// has run 3 h in all (10,800 s, all in this attempt) and saved 100 s ago. "new" has the same
// declared priority and LAS's top queue (pass priority 2). Restart cost 60 s.
//   old's predicted remaining work (it ran t, it runs about t more): 8 x 10,800 = 86,400 GPU-s
//   what stopping it costs: 8 x 100 lost + 8 x 60 restart = 1,280 GPU-s
Snapshot GainScenario(int64_t new_gpus, Seconds new_estimate_s) {
  Snapshot s;
  s.now = 20'000;
  s.nodes = {GpuNode("n0")};
  s.projects = {MakeProject("p")};
  Job old = RunningJob("old", "n0", Range(0, 8), 9'200).Priority(1).Checkpointed(19'900);
  old.las_declared_priority = 0;
  old.executed_s = 10'800;
  Job young = JobBuilder("new").Priority(2).Tasks(1, WholeGpus(new_gpus)).Submit(19'000);
  young.las_declared_priority = 0;
  young.runtime_estimate = new_estimate_s;
  s.jobs = {old, young};
  return s;
}

SchedulerConfig GainConfig(bool enabled) {
  SchedulerConfig c = Config("fifo");
  c.preemption.names = {"priority"};
  c.preempt_for_gain = {enabled, 60};
  return c;
}

// Movers are ranked by the work they would lose in GPU-seconds, as eviction ranks victims: "wide"
// (4 GPUs, saved 300 s ago: 1,200 GPU-s) loses more than "narrow" (1 GPU, saved 600 s ago:
// 600 GPU-s), though its save is more recent. Either move would let "pre" (8 GPUs) in; both fit
// on n2's four idle GPUs.
TEST(DefragmentRule, MovesTheJobThatLosesFewestGpuSeconds) {
  Snapshot s;
  s.now = kNow;
  s.nodes = {GpuNode("n0"), GpuNode("n1"), GpuNode("n2")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("wide", "n0", Range(0, 4), 100).Checkpointed(kNow - 300),
            RunningJob("narrow", "n1", {0}, 100).Checkpointed(kNow - 600),
            RunningJob("fill", "n2", Range(0, 4), 100).Preemptible(false),
            JobBuilder("pre").Tasks(1, WholeGpus(8)).Submit(900)};
  SchedulerConfig c = Config("fifo");
  c.preemption.names = {"defragment"};
  const Decisions d = MustSchedule(s, c);
  ASSERT_EQ(d.preemptions.size(), 1u) << Dump(d);
  EXPECT_EQ(d.preemptions[0].victim, "narrow") << Dump(d);
}

SchedulerConfig FillOnly(Seconds horizon) {
  SchedulerConfig c = Config("fifo");
  c.preemption.names = {"fill"};
  c.fill_horizon_s = horizon;
  return c;
}

// A victim must have saved within the horizon: 700 s after its save "small" is not stopped with
// the default 600 s, and is with 800 s.
TEST(FillRule, AVictimSavedLongerAgoThanTheHorizonIsNotStopped) {
  Snapshot s = FillScenario();
  s.jobs[0] = RunningJob("small", "n0", Range(0, 4), 100).Checkpointed(kNow - 700);
  EXPECT_TRUE(MustSchedule(s, FillOnly(600)).preemptions.empty());
  const Decisions d = MustSchedule(s, FillOnly(800));
  ASSERT_EQ(Victims(d), std::vector<std::string>{"small"}) << Dump(d);
  EXPECT_NE(d.preemptions[0].message.find("11m 40s after its last checkpoint"), std::string::npos)
      << d.preemptions[0].message;
}

// "wide" (7 GPUs, saved 100 s ago) next to one idle GPU: stopping it starts 8 GPUs for 7, and its
// loss (7 x 100 + 7 x 60 = 1,120 GPU-s) is more than one added GPU repays in 600 s; in 1,200 s it
// is not.
TEST(FillRule, ALossTheAddedGpusDoNotRepayWithinTheHorizonIsRefused) {
  Snapshot s = FillScenario();
  s.jobs[0] = RunningJob("wide", "n0", Range(0, 7), 100).Checkpointed(kNow - 100);
  EXPECT_TRUE(MustSchedule(s, FillOnly(600)).preemptions.empty());
  EXPECT_EQ(Victims(MustSchedule(s, FillOnly(1200))), std::vector<std::string>{"wide"});
}

// Only jobs that checkpoint and have saved are filled over, and only those of the preemptor's project or of a
// project beyond its guarantee (as for "priority": where no project has a guarantee, none borrows).
TEST(FillRule, NeverStopsAJobWithoutASaveNorOneWithinItsProjectsGuarantee) {
  Snapshot s = FillScenario();
  s.jobs[0] = RunningJob("small", "n0", Range(0, 4), 100);  // does not checkpoint
  s.jobs[0].checkpointable = false;
  EXPECT_TRUE(MustSchedule(s, FillOnly(600)).preemptions.empty());
  // One that checkpoints but has not saved yet (started 100 s ago) would start over: not either.
  s.jobs[0] = RunningJob("small", "n0", Range(0, 4), kNow - 100).Checkpointed(-1);
  EXPECT_TRUE(MustSchedule(s, FillOnly(600)).preemptions.empty());
  s = FillScenario();
  s.projects = {MakeProject("p"), MakeProject("q", 1.0, 4)};
  s.jobs[0].project = "q";
  EXPECT_TRUE(MustSchedule(s, FillOnly(600)).preemptions.empty());
  s.projects = {MakeProject("p", 1.0, 8), MakeProject("q")};  // "small" borrows all it has
  EXPECT_EQ(Victims(MustSchedule(s, FillOnly(600))), std::vector<std::string>{"small"});
}

TEST(PreemptForGain, AdmitsALasPreemptionThatSavesMoreWorkThanItCosts) {
  // A 1-GPU job estimated at 2 h: 1 x 7,200 + 1,280 = 8,480 < 86,400 -> "old" is stopped.
  auto d = Scheduler::Create(GainConfig(true))->Schedule(GainScenario(1, 7'200));
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->preemptions.size(), 1u);
  EXPECT_EQ(d->preemptions[0].victim, "old");
  EXPECT_EQ(d->preemptions[0].preemptor, "new");
}

TEST(PreemptForGain, RefusesALasPreemptionThatCostsMoreThanItSaves) {
  // An 8-GPU job estimated at 4 h: 8 x 14,400 + 1,280 = 116,480 >= 86,400 -> "old" keeps running.
  const Snapshot s = GainScenario(8, 14'400);
  auto d = Scheduler::Create(GainConfig(true))->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->preemptions.empty());
  // The rule, not the rest of the pass, held it back: off, LAS stops "old".
  d = Scheduler::Create(GainConfig(false))->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->preemptions.size(), 1u);
  EXPECT_EQ(d->preemptions[0].victim, "old");
}

TEST(PreemptForGain, PreemptorsPastTheirEstimateAreJudgedByTheirAgeAndUnestimatedOnesNotAtAll) {
  // The 1-GPU job of the first test has already run 25 h (90,000 s), past its 2 h estimate: it
  // is predicted to run about 25 h more, 90,000 + 1,280 >= 86,400 -> refused.
  Snapshot s = GainScenario(1, 7'200);
  s.jobs[1].executed_s = 90'000;
  auto d = Scheduler::Create(GainConfig(true))->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->preemptions.empty());
  // Without an estimate (nor a maxRuntime) the rule cannot judge, and LAS preempts as before.
  s = GainScenario(8, kNever);
  d = Scheduler::Create(GainConfig(true))->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->preemptions.size(), 1u);
}

TEST(PreemptForGain, NeverHoldsBackAPreemptionForAHigherDeclaredPriority) {
  // The refused case of above, but "new" declares priority 1 (pass priority 1 x 3 + 2 = 5): it
  // outranks "old" by its class, not by LAS, and the rule does not apply.
  Snapshot s = GainScenario(8, 14'400);
  s.jobs[1].las_declared_priority = 1;
  s.jobs[1].priority = 5;
  auto d = Scheduler::Create(GainConfig(true))->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->preemptions.size(), 1u);
  EXPECT_EQ(d->preemptions[0].victim, "old");
}

TEST(PreemptionPolicyFactory, KnownNamesInOrderPriorityAndReclaimAsOneSearch) {
  auto p = MakePreemptionPolicies({"defragment", "priority", "reclaim"});
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0]->name(), "defragment");
  EXPECT_EQ((*p)[1]->name(), "priority+reclaim");
  EXPECT_TRUE(MakePreemptionPolicies({})->empty());
}

TEST(PreemptionPolicyFactory, UnknownOrRepeatedNamesAreErrors) {
  auto unknown = MakePreemptionPolicies({"priority", "lottery"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("lottery"), std::string::npos);
  EXPECT_FALSE(MakePreemptionPolicies({"reclaim", "reclaim"}).has_value());
  SchedulerConfig c;
  c.preemption = {"lottery"};
  EXPECT_FALSE(Scheduler::Create(c).has_value());
}

TEST(PreemptionPolicyNames, ABoolAssignsNoneOrTheDefaultList) {
  SchedulerConfig c;
  EXPECT_EQ(c.preemption.names,
            (std::vector<std::string>{"priority", "reclaim", "defragment", "fill"}));
  c.preemption = false;
  EXPECT_FALSE(c.preemption);
  EXPECT_TRUE(c.preemption.names.empty());
  c.preemption = true;
  EXPECT_TRUE(c.preemption);
  EXPECT_EQ(c.preemption.names.size(), 4u);
}

}  // namespace
}  // namespace kumo::core
