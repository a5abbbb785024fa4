// EASY reservation details: backfill depth and sticky reservations.
#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "core/test_util.h"
#include "core/text.h"

namespace kumo::core {
namespace {

using testutil::GpuNode;
using testutil::JobBuilder;
using testutil::MakeProject;
using testutil::Range;
using testutil::RunningJob;
using testutil::WholeGpus;

// One node, 6 of 8 GPUs busy until t=100. "big" (8 GPUs) is reserved at t=100; with a backfill
// depth of 1 only the next job ("a", 1 GPU, short) is tried and started; "b" is not tried.
TEST(Reservation, BackfillDepthLimitsTheJobsTriedAfterTheReservation) {
  Snapshot s;
  s.nodes = {GpuNode("n0", 8, "H100")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r", "n0", Range(0, 6)).MaxRuntime(100),
            JobBuilder("big").Tasks(1, WholeGpus(8)).Submit(1).MaxRuntime(1000),
            JobBuilder("a").Tasks(1, WholeGpus(1)).Submit(2).MaxRuntime(50),
            JobBuilder("b").Tasks(1, WholeGpus(1)).Submit(3).MaxRuntime(50)};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  cfg.backfill_depth = 1;
  auto sched = Scheduler::Create(cfg);
  ASSERT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->reservations.size(), 1u);
  EXPECT_EQ(d->reservations[0].job, "big");
  ASSERT_EQ(d->starts.size(), 1u);
  EXPECT_EQ(d->starts[0].job, "a");
  const WaitExplanation* b = testutil::FindWait(*d, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->reason, WaitReason::kNotConsidered);
  // Without a depth limit, "b" backfills too.
  cfg.backfill_depth = 0;
  sched = Scheduler::Create(cfg);
  d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->starts.size(), 2u);
}

// "a" finds no reservation: "r" never ends as far as anyone knows. That is remembered for the
// blocked jobs after it only while no job starts: "b" starts with a maxRuntime, so "c", blocked
// behind it, is reserved at b's end.
TEST(Reservation, AJobStartedAfterAFailedSearchGivesTheNextOneAReservation) {
  Snapshot s;
  s.now = 0;
  s.nodes = {GpuNode("n0", 8, "H100")};
  s.projects = {MakeProject("p")};
  s.jobs = {RunningJob("r", "n0", Range(0, 4)),
            JobBuilder("a").Tasks(1, WholeGpus(8)).Submit(1),
            JobBuilder("a2").Tasks(1, WholeGpus(8)).Submit(2),
            JobBuilder("b").Tasks(1, WholeGpus(4)).Submit(3).MaxRuntime(100),
            JobBuilder("c").Tasks(1, WholeGpus(4)).Submit(4)};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  auto d = Scheduler::Create(cfg)->Schedule(s);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->starts.size(), 1u);
  EXPECT_EQ(d->starts[0].job, "b");
  for (const char* id : {"a", "a2"})
    EXPECT_NE(testutil::FindWait(*d, id)->message.find("no reservation possible"), std::string::npos);
  ASSERT_EQ(d->reservations.size(), 1u);
  EXPECT_EQ(d->reservations[0].job, "c");
  EXPECT_EQ(d->reservations[0].start_time, 100);
}

// DRF would now put project q's "small-head" before project p's "big" (q uses nothing), but
// "big" held the reservation last pass: it stays first and keeps it.
TEST(Reservation, StickyReservationKeepsTheHead) {
  Snapshot s;
  s.nodes = {GpuNode("n0", 8, "H100")};
  s.projects = {MakeProject("p"), MakeProject("q")};
  s.jobs = {RunningJob("r", "n0", Range(0, 8)).MaxRuntime(100),
            JobBuilder("big").Tasks(1, WholeGpus(8)).Submit(1).MaxRuntime(1000),
            JobBuilder("small-head", "q").Tasks(1, WholeGpus(4)).Submit(2).MaxRuntime(1000)};
  auto sched = Scheduler::Create({});
  ASSERT_TRUE(sched.has_value());
  auto fresh = sched->Schedule(s);
  ASSERT_TRUE(fresh.has_value());
  ASSERT_EQ(fresh->reservations.size(), 1u);
  EXPECT_EQ(fresh->reservations[0].job, "small-head");  // q's share 0 < p's
  // Carry big's reservation (as a driver would after a pass that reserved it).
  TaskPlacement tp;
  tp.node = "n0";
  for (int i = 0; i < 8; ++i) tp.gpus.push_back(GpuShare{i, 1000});
  s.jobs[1].reservation = {tp};
  auto sticky = sched->Schedule(s);
  ASSERT_TRUE(sticky.has_value());
  ASSERT_EQ(sticky->reservations.size(), 1u);
  EXPECT_EQ(sticky->reservations[0].job, "big");
  EXPECT_EQ(sticky->reservations[0].start_time, 100);
}

// A reservation's start is told relative to the pass, in its two largest units.
TEST(Reservation, StartReadsAsADuration) {
  using internal::Duration;
  EXPECT_EQ(Duration(0), "0s");
  EXPECT_EQ(Duration(-5), "0s");
  EXPECT_EQ(Duration(45), "45s");
  EXPECT_EQ(Duration(60), "1m");
  EXPECT_EQ(Duration(550), "9m 10s");
  EXPECT_EQ(Duration(3600 + 5 * 60 + 59), "1h 5m");
  EXPECT_EQ(Duration(3 * 86400 + 4 * 3600 + 1), "3d 4h");
}

}  // namespace
}  // namespace kumo::core
