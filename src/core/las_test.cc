#include "core/las.h"

#include <gtest/gtest.h>

#include <limits>

namespace kumo::core {
namespace {

PolicyConfig Small(int32_t min_jobs, int32_t window) {
  PolicyConfig p;
  p.history.min_jobs = min_jobs;
  p.history.window_jobs = window;
  return p;
}

// A running 1-GPU job that checkpoints: `attained` GPU-s now, `at_save` at its last save,
// `since_save_s` ago.
LasJob RunningOneGpuCheckpointer(double attained, double at_save, Seconds since_save_s) {
  LasJob j;
  j.running = true;
  j.checkpointable = true;
  j.gpus = 1;
  j.attained_gpu_s = attained;
  j.attained_at_checkpoint_gpu_s = at_save;
  j.since_checkpoint_s = since_save_s;
  return j;
}

TEST(ServiceHistory, ThresholdsAreQuantilesOfFinishedJobs) {
  // The header's example: 1, 2, 4, 8, 100 GPU-hours; nearest rank p50 = rank 3 = 4 GPU-h,
  // p90 = rank ceil(4.5) = 5 = 100 GPU-h.
  ServiceHistory h(Small(5, 500));
  for (double gpu_h : {8.0, 1.0, 100.0, 2.0}) h.Finished(gpu_h * 3600, 3600);
  EXPECT_TRUE(h.thresholds_gpu_s().empty());  // 4 < min_jobs: every job in the top queue
  h.Finished(4 * 3600, 3600);
  EXPECT_EQ(h.thresholds_gpu_s(), (std::vector<double>{4 * 3600.0, 100 * 3600.0}));
  EXPECT_EQ(h.finished(), 5);
}

TEST(ServiceHistory, OnlyTheWindowCounts) {
  // Window 2: after 10, 20, 30 only {20, 30} count; p50 = rank 1 = 20, p90 = rank 2 = 30.
  ServiceHistory h(Small(1, 2));
  for (double s : {10.0, 20.0, 30.0}) h.Finished(s, s);
  EXPECT_EQ(h.thresholds_gpu_s(), (std::vector<double>{20, 30}));
}

TEST(ServiceHistory, EqualQuantilesStayIncreasing) {
  // Every job alike: p50 = p90 = 50; the second boundary is nudged above the first so that no
  // queue is empty by construction.
  ServiceHistory h(Small(1, 10));
  for (int i = 0; i < 4; ++i) h.Finished(50, 50);
  ASSERT_EQ(h.thresholds_gpu_s().size(), 2u);
  EXPECT_EQ(h.thresholds_gpu_s()[0], 50);
  EXPECT_GT(h.thresholds_gpu_s()[1], 50);
}

TEST(ServiceHistory, MinRuntimeIsAFractionOfTheMedianRunTime) {
  PolicyConfig p = Small(3, 100);
  p.min_runtime = {0.05, 60, 3600};
  ServiceHistory h(p);
  EXPECT_EQ(h.min_runtime(), 60);  // no history: the floor
  // Median run time 20,000 s -> 5% = 1,000 s.
  for (double s : {10000.0, 20000.0, 90000.0}) h.Finished(s, s);
  EXPECT_EQ(h.min_runtime(), 1000);
  // Median 200,000 s -> 10,000 s, capped at 3,600.
  for (double s : {200000.0, 300000.0}) h.Finished(s, s);
  EXPECT_EQ(h.min_runtime(), 3600);
}

TEST(LasPriority, QueueInsideTheDeclaredPriority) {
  LasConfig las;  // two quantiles: K = 2, priority = declared x 3 + (2 - queue)
  const std::vector<double> t = {100, 1000};
  LasJob j;
  j.declared_priority = 5;
  j.gpus = 2;
  j.running = true;
  j.checkpointable = true;
  j.attained_gpu_s = 99;
  EXPECT_EQ(LasPriority(las, t, j), 17);
  j.attained_gpu_s = 100;
  EXPECT_EQ(LasPriority(las, t, j), 16);
  j.attained_gpu_s = 5000;
  EXPECT_EQ(LasPriority(las, t, j), 15);
  // Every queue of class 5 outranks the top queue of class 4 (4 x 3 + 2 = 14).
  j.declared_priority = 4;
  EXPECT_EQ(LasPriority(las, t, j), 12);
  // No thresholds yet: the top queue.
  EXPECT_EQ(LasPriority(las, {}, j), 14);
  las.enabled = false;
  EXPECT_EQ(LasPriority(las, t, j), 4);
}

TEST(LasPriority, RunningJobWithoutCheckpointsStaysInTheTopQueue) {
  LasConfig las;
  LasJob j;
  j.running = true;
  j.checkpointable = false;
  j.attained_gpu_s = 1e9;
  EXPECT_EQ(LasPriority(las, std::vector<double>{100, 1000}, j), 2);
  // Once it waits again (it was preempted by a higher class), it is ordered by its service.
  j.running = false;
  j.pending = true;
  EXPECT_EQ(LasPriority(las, std::vector<double>{100, 1000}, j), 0);
}

TEST(LasPriority, StarvingPendingJobIsPromoted) {
  // 4 GPUs, 4,000 GPU-s attained = 1,000 s executed; starve factor 4: promoted after 4,000 s.
  LasConfig las;
  LasJob j;
  j.pending = true;
  j.gpus = 4;
  j.attained_gpu_s = 4000;
  j.pending_s = 4000;
  EXPECT_EQ(LasPriority(las, std::vector<double>{100, 1000}, j), 0);
  j.pending_s = 4001;
  EXPECT_EQ(LasPriority(las, std::vector<double>{100, 1000}, j), 2);
}

TEST(LasPriority, PromotedRunningJobKeepsTheTopQueueUntilItsWaitsArePaidBack) {
  // 2 GPUs, 7,200 GPU-s = 3,600 s executed, starve factor 1: it has waited 4,000 s since its
  // first start (> 1 x 3,600), so it is promoted while pending and, once running, keeps the top
  // queue while those waits exceed half its executed time -- until it has run 8,000 s.
  LasConfig las;
  las.starve_factor = 1;
  const std::vector<double> t = {100, 1000};
  LasJob j;
  j.gpus = 2;
  j.checkpointable = true;
  j.attained_gpu_s = 7200;
  j.requeued_s = 1000;  // an earlier wait after a preemption
  j.pending_s = 3000;   // and this one
  j.pending = true;
  EXPECT_EQ(LasPriority(las, t, j), 2);
  j.pending = false;
  j.pending_s = 0;
  j.requeued_s = 4000;  // it started: that wait is done
  j.running = true;
  j.attained_gpu_s = 15998;  // 7,999 s executed: 4,000 > 3,999.5
  EXPECT_EQ(LasPriority(las, t, j), 2);
  j.attained_gpu_s = 16000;  // 8,000 s: paid back, demoted by its service
  EXPECT_EQ(LasPriority(las, t, j), 0);
  // Pending again with the same waits: 4,000 < 8,000 x 1, not starving yet.
  j.running = false;
  j.pending = true;
  j.pending_s = 1;
  EXPECT_EQ(LasPriority(las, t, j), 0);
}

TEST(LasPriority, WaitsBeyondTheRunTimeQuantileKeepTheTopQueueUntilTheEnd) {
  // starve_after_s 3,600 (the history's quantile of run times); the factor bound is far off
  // (4 x 10,000 s executed). Pending: promoted once its waits since its first start exceed
  // 3,600 s in all; running: it keeps the top queue however long it runs, as its waits stay.
  LasConfig las;
  const std::vector<double> t = {100, 1000};
  LasJob j;
  j.gpus = 1;
  j.checkpointable = true;
  j.attained_gpu_s = 10000;
  j.starve_after_s = 3600;
  j.pending = true;
  j.requeued_s = 3000;
  j.pending_s = 600;
  EXPECT_EQ(LasPriority(las, t, j), 0);
  j.pending_s = 601;
  EXPECT_EQ(LasPriority(las, t, j), 2);
  j.pending = false;
  j.pending_s = 0;
  j.requeued_s = 3601;
  j.running = true;
  j.attained_gpu_s = 1e9;
  EXPECT_EQ(LasPriority(las, t, j), 2);
  // Without the bound (negative: off, or too few finished jobs) its service demotes it.
  j.starve_after_s = -1;
  EXPECT_EQ(LasPriority(las, t, j), 0);
}

TEST(ServiceHistory, StarveAfterIsTheRunTimeQuantileWhenEnabled) {
  PolicyConfig p;
  p.history.min_jobs = 2;
  ServiceHistory off(p);
  p.las.starve_run_quantile = 0.75;
  ServiceHistory on(p);
  for (double run_s : {100.0, 400.0, 200.0, 300.0}) {
    off.Finished(run_s, run_s);
    on.Finished(run_s, run_s);
  }
  EXPECT_EQ(off.starve_after_s(), -1);
  EXPECT_EQ(on.starve_after_s(), 300);  // nearest rank: ceil(0.75 x 4) = the 3rd of 100..400
}

TEST(LasPriority, CheckpointingJobIsAVictimOnlyJustAfterASave) {
  // Demoted by its service at its last save (5,000 >= 1,000: the bottom queue), it may be
  // preempted by LAS only in the 300 s after that save; later it keeps the top queue, so a
  // preemption never throws away more than the window (plus the grace period) of work.
  LasConfig las;
  las.victim_window_s = 300;
  const std::vector<double> t = {100, 1000};
  LasJob j = RunningOneGpuCheckpointer(5600, 5000, 300);
  EXPECT_EQ(LasPriority(las, t, j), 0);
  j.since_checkpoint_s = 301;
  EXPECT_EQ(LasPriority(las, t, j), 2);
  // A driver that does not know when it saved: a victim at any time, as with no window.
  j.since_checkpoint_s = -1;
  EXPECT_EQ(LasPriority(las, t, j), 0);
  las.victim_window_s = 0;
  j.since_checkpoint_s = 5000;
  EXPECT_EQ(LasPriority(las, t, j), 0);
}

TEST(LasPriority, AJobRequeuedKTimesIsNoLongerALasVictim) {
  // In its victim window and demoted (service 5,000 at its save >= 1,000: the bottom queue), a
  // job requeued once is still a victim with k = 2 and is not with k = 1; pending, it is
  // queued by its service as before (the bound is on being stopped again, not on the order).
  LasConfig las;
  const std::vector<double> t = {100, 1000};
  LasJob j = RunningOneGpuCheckpointer(5060, 5000, 60);
  j.requeues = 1;
  EXPECT_EQ(LasPriority(las, t, j), 0);  // off (k = 0): a victim however often requeued
  las.protect_after_requeues = 2;
  EXPECT_EQ(LasPriority(las, t, j), 0);
  las.protect_after_requeues = 1;
  EXPECT_EQ(LasPriority(las, t, j), 2);
  j.running = false;
  j.pending = true;
  EXPECT_EQ(LasPriority(las, t, j), 0);
}

TEST(LasPriority, SaturatesAtTheInt32Range) {
  LasConfig las;
  LasJob j;
  j.declared_priority = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(LasPriority(las, {}, j), std::numeric_limits<int32_t>::max());
}

}  // namespace
}  // namespace kumo::core
