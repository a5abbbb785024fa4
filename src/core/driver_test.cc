// The driver's side of the scheduler contract: hand-made decisions applied to jobs, then two
// passes of the real scheduler driven through ApplyDecisions and Requeue.
#include "core/driver.h"

#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using testutil::Describe;
using testutil::GpuNode;
using testutil::JobBuilder;
using testutil::MakeProject;
using testutil::MustSchedule;
using testutil::Range;
using testutil::RunningJob;
using testutil::WholeGpus;

TaskPlacement OnNode(const std::string& node, int32_t gpu) {
  return TaskPlacement{0, 0, node, {GpuShare{gpu, 1000}}};
}

Job* Named(std::vector<Job>& jobs, const std::string& id) {
  for (Job& j : jobs)
    if (j.id == id) return &j;
  return nullptr;
}

TEST(DriverTest, StartRunsFromNowAndSpendsNominationAndReservation) {
  Job job = JobBuilder("j").Tasks(1, WholeGpus(1));
  job.nominated = true;
  job.reservation = {OnNode("n1", 3)};
  Decisions d;
  d.starts.push_back(StartDecision{"j", {OnNode("n0", 2)}, false});
  std::vector<Job> jobs = {job};
  ApplyDecisions(d, 50, jobs);
  EXPECT_EQ(jobs[0].phase, JobPhase::kRunning);
  EXPECT_EQ(jobs[0].start_time, 50);
  EXPECT_EQ(jobs[0].last_checkpoint_time, -1);
  EXPECT_EQ(Describe(jobs[0].placements), "n0[2]");
  EXPECT_FALSE(jobs[0].nominated);
  EXPECT_TRUE(jobs[0].reservation.empty());
}

TEST(DriverTest, VictimTerminatesHoldingItsPlacementsAndPreemptorIsNominated) {
  std::vector<Job> jobs = {RunningJob("low", "n0", Range(0, 4)),
                           JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10)};
  Decisions d;
  d.preemptions.push_back(PreemptDecision{"low", "high", PreemptionReason::kPriority, ""});
  ApplyDecisions(d, 10, jobs);
  EXPECT_EQ(jobs[0].phase, JobPhase::kTerminating);
  EXPECT_EQ(Describe(jobs[0].placements), "n0[0 1 2 3]");
  EXPECT_TRUE(jobs[1].nominated);
  EXPECT_EQ(jobs[1].phase, JobPhase::kPending);

  // The nomination lasts until the job starts, through passes that decide nothing about it.
  ApplyDecisions(Decisions{}, 20, jobs);
  EXPECT_TRUE(jobs[1].nominated);
}

TEST(DriverTest, OnlyThisPassReservationIsCarried) {
  std::vector<Job> jobs = {JobBuilder("a").Tasks(1, WholeGpus(8)),
                           JobBuilder("b").Tasks(1, WholeGpus(8))};
  Decisions first;
  first.reservations.push_back(ReservationDecision{"a", 100, {OnNode("n0", 0)}});
  ApplyDecisions(first, 0, jobs);
  EXPECT_EQ(Describe(jobs[0].reservation), "n0[0]");
  EXPECT_TRUE(jobs[1].reservation.empty());

  // The next pass reserves b: a's reservation is stale and would keep it at the queue's head.
  Decisions second;
  second.reservations.push_back(ReservationDecision{"b", 90, {OnNode("n1", 5)}});
  ApplyDecisions(second, 10, jobs);
  EXPECT_TRUE(jobs[0].reservation.empty());
  EXPECT_EQ(Describe(jobs[1].reservation), "n1[5]");

  // A pass without a reservation clears it too.
  ApplyDecisions(Decisions{}, 20, jobs);
  EXPECT_TRUE(jobs[1].reservation.empty());
}

TEST(DriverTest, JobsTheDecisionsDoNotNameKeepTheirState) {
  std::vector<Job> jobs = {RunningJob("r", "n0", Range(0, 2)).Running(5),
                           JobBuilder("t").Tasks(1, WholeGpus(1)).Terminating(3).On("n0", {2})};
  const std::vector<Job> before = jobs;
  Decisions d;
  d.starts.push_back(StartDecision{"other", {OnNode("n1", 0)}, false});
  // A victim that is already terminating stays so (it is not preempted twice).
  d.preemptions.push_back(PreemptDecision{"t", "other", PreemptionReason::kPriority, ""});
  ApplyDecisions(d, 40, jobs);
  EXPECT_EQ(jobs[0].phase, JobPhase::kRunning);
  EXPECT_EQ(jobs[0].start_time, before[0].start_time);
  EXPECT_EQ(jobs[0].placements, before[0].placements);
  EXPECT_EQ(jobs[1].phase, JobPhase::kTerminating);
  EXPECT_EQ(jobs[1].placements, before[1].placements);
}

TEST(DriverTest, CarryForwardServesRecordsThatAreNotCoreJobs) {
  // A driver with its own job records (the server's) keeps just these two fields.
  struct Record {
    bool nominated = false;
    std::vector<TaskPlacement> reservation;
  };
  Decisions d;
  d.preemptions.push_back(PreemptDecision{"v", "p", PreemptionReason::kReclaim, ""});
  d.reservations.push_back(ReservationDecision{"p", 30, {OnNode("n0", 1)}});
  d.starts.push_back(StartDecision{"s", {OnNode("n0", 2)}, false});
  const DecisionIndex index(d);
  Record p, s{true, {OnNode("n9", 0)}}, other{false, {OnNode("n3", 3)}};
  CarryForward(index.Find("p"), p.nominated, p.reservation);
  CarryForward(index.Find("s"), s.nominated, s.reservation);
  CarryForward(index.Find("x"), other.nominated, other.reservation);
  EXPECT_TRUE(p.nominated);
  EXPECT_EQ(Describe(p.reservation), "n0[1]");
  EXPECT_FALSE(s.nominated);
  EXPECT_TRUE(s.reservation.empty());
  EXPECT_FALSE(other.nominated);
  EXPECT_TRUE(other.reservation.empty());
}

TEST(DriverTest, IndexFindsEveryDecisionOfAJob) {
  Decisions d;
  d.preemptions.push_back(PreemptDecision{"v1", "p", PreemptionReason::kPriority, ""});
  d.preemptions.push_back(PreemptDecision{"v2", "p", PreemptionReason::kPriority, ""});
  d.reservations.push_back(ReservationDecision{"r", 7, {}});
  const DecisionIndex index(d);
  EXPECT_TRUE(index.Find("p").preemptor);
  EXPECT_FALSE(index.Find("p").victim);
  EXPECT_TRUE(index.Find("v2").victim);
  EXPECT_EQ(index.Find("r").reservation, &d.reservations[0]);
  EXPECT_EQ(index.Find("nobody").start, nullptr);
  EXPECT_FALSE(DecisionIndex(Decisions{}).Find("p").preemptor);
}

TEST(DriverTest, RequeueReturnsTheJobToTheQueueHoldingNothing) {
  Job job = JobBuilder("t").Tasks(1, WholeGpus(1)).Terminating(3).On("n0", {2});
  Requeue(job);
  EXPECT_EQ(job.phase, JobPhase::kPending);
  EXPECT_TRUE(job.placements.empty());
}

// The real scheduler over three passes: "high" preempts "low" and is nominated; once "low" has
// exited and been requeued, "high" starts on its GPUs and is no longer nominated.
TEST(DriverTest, DrivesTheSchedulerThroughAPreemption) {
  Snapshot s;
  s.nodes = {GpuNode("n0", 4)};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("low", "n0", Range(0, 4)),
            JobBuilder("high").Tasks(1, WholeGpus(4)).Priority(10).Submit(1)};
  s.now = 10;
  Decisions first = MustSchedule(s);
  ASSERT_EQ(first.preemptions.size(), 1u);
  ApplyDecisions(first, s.now, s.jobs);
  EXPECT_EQ(Named(s.jobs, "low")->phase, JobPhase::kTerminating);
  EXPECT_TRUE(Named(s.jobs, "high")->nominated);

  s.now = 20;
  Requeue(*Named(s.jobs, "low"));
  Decisions second = MustSchedule(s);
  ASSERT_EQ(second.starts.size(), 1u);
  EXPECT_EQ(second.starts[0].job, "high");
  ApplyDecisions(second, s.now, s.jobs);
  const Job& high = *Named(s.jobs, "high");
  EXPECT_EQ(high.phase, JobPhase::kRunning);
  EXPECT_EQ(high.start_time, 20);
  EXPECT_FALSE(high.nominated);
  EXPECT_EQ(Describe(high.placements), "n0[0 1 2 3]");
  EXPECT_EQ(Named(s.jobs, "low")->phase, JobPhase::kPending);
}

}  // namespace
}  // namespace kumo::core
