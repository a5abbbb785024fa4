// EASY reservation details: backfill depth and sticky reservations.
#include <gtest/gtest.h>

#include "core/scheduler.h"

namespace kumo::core {
namespace {

Node EightGpuNode(const std::string& name) {
  Node n;
  n.name = name;
  n.allocatable = ResourceVector::Of(64'000, 512LL << 30, 0);
  for (int i = 0; i < 8; ++i) n.gpus.push_back(Gpu{i, "H100", 0});
  return n;
}

Job GpuJob(const std::string& id, const std::string& project, int gpus, Seconds submit,
           Seconds max_runtime) {
  Job j;
  j.id = id;
  j.project = project;
  j.user = "u";
  j.submit_time = submit;
  j.max_runtime = max_runtime;
  TaskGroup g;
  g.replicas = 1;
  g.resources = ResourceVector::Of(1000, 1LL << 30, gpus * 1000LL);
  j.groups.push_back(g);
  return j;
}

Job RunningOn(Job j, const std::string& node, int first_gpu) {
  j.phase = JobPhase::kRunning;
  j.start_time = 0;
  TaskPlacement tp;
  tp.node = node;
  for (int64_t d = 0; d < j.groups[0].resources.gpu_milli() / 1000; ++d)
    tp.gpus.push_back(GpuShare{first_gpu + static_cast<int32_t>(d), 1000});
  j.placements.push_back(tp);
  return j;
}

const WaitExplanation* WaitOf(const Decisions& d, const std::string& job) {
  for (const auto& w : d.waiting)
    if (w.job == job) return &w;
  return nullptr;
}

// One node, 6 of 8 GPUs busy until t=100. "big" (8 GPUs) is reserved at t=100; with a backfill
// depth of 1 only the next job ("a", 1 GPU, short) is tried and started; "b" is not tried.
TEST(Reservation, BackfillDepthLimitsTheJobsTriedAfterTheReservation) {
  Snapshot s;
  s.nodes = {EightGpuNode("n0")};
  s.projects.push_back(Project{"p", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  s.jobs = {RunningOn(GpuJob("r", "p", 6, 0, 100), "n0", 0), GpuJob("big", "p", 8, 1, 1000),
            GpuJob("a", "p", 1, 2, 50), GpuJob("b", "p", 1, 3, 50)};
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
  ASSERT_NE(WaitOf(*d, "b"), nullptr);
  EXPECT_EQ(WaitOf(*d, "b")->reason, WaitReason::kNotConsidered);
  // Without a depth limit, "b" backfills too.
  cfg.backfill_depth = 0;
  sched = Scheduler::Create(cfg);
  d = sched->Schedule(s);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->starts.size(), 2u);
}

// DRF would now put project q's "small-head" before project p's "big" (q uses nothing), but
// "big" held the reservation last pass: it stays first and keeps it.
TEST(Reservation, StickyReservationKeepsTheHead) {
  Snapshot s;
  s.nodes = {EightGpuNode("n0")};
  s.projects.push_back(Project{"p", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  s.projects.push_back(Project{"q", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  Job big = GpuJob("big", "p", 8, 1, 1000);
  s.jobs = {RunningOn(GpuJob("r", "p", 8, 0, 100), "n0", 0), big,
            GpuJob("small-head", "q", 4, 2, 1000)};
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

}  // namespace
}  // namespace kumo::core
