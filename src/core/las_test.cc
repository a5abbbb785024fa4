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
// Tiresias' service queues (LasConfig::predicted_remaining off), which most tests here check.
LasConfig ServiceQueues() {
  LasConfig las;
  las.predicted_remaining = false;
  return las;
}

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

TEST(ServiceHistory, LimitFractionIsTheMeanShareOfTheirLimitsThatFinishedJobsRan) {
  ServiceHistory h(Small(2, 10));
  EXPECT_EQ(h.limit_fraction(), 1);  // nothing known: the limit itself
  h.Finished(100, 100, 400);         // ran a quarter of its limit
  h.Finished(50, 50);                // no limit: says nothing about limits
  EXPECT_EQ(h.limit_fraction(), 1);  // one ratio < min_jobs
  h.Finished(300, 300, 400);         // three quarters
  EXPECT_DOUBLE_EQ(h.limit_fraction(), 0.5);
  h.Finished(900, 900, 600);  // ran past its limit (a driver's grace): counts as 1
  EXPECT_DOUBLE_EQ(h.limit_fraction(), (0.25 + 0.75 + 1) / 3);
}

TEST(ServiceHistory, TheGuardBoundIsAQuantileOfTheArrivalsLimitsTimesTheFraction) {
  PolicyConfig p = Small(2, 10);
  p.las.guard_quantile = 0.5;
  p.history.arrival_window_jobs = 3;
  ServiceHistory h(p);
  h.Arrived(1000);
  EXPECT_EQ(h.guard_after_s(), -1);  // one arrival < min_jobs
  h.Arrived(kNever);                 // no limit: not kept
  EXPECT_EQ(h.guard_after_s(), -1);
  h.Arrived(3000);  // {1000, 3000}: nearest-rank p50 = 1000, x fraction 1
  EXPECT_EQ(h.guard_after_s(), 1000);
  h.Arrived(5000);
  h.Arrived(7000);  // the window keeps {3000, 5000, 7000}: p50 = 5000
  EXPECT_EQ(h.guard_after_s(), 5000);
  h.Finished(10, 10, 40);
  h.Finished(30, 30, 40);  // fraction (0.25 + 0.75) / 2 = 0.5
  EXPECT_EQ(h.guard_after_s(), 2500);
  p.las.guard_quantile = 0;  // off
  ServiceHistory off(p);
  for (Seconds limit : {1000, 3000, 5000}) off.Arrived(limit);
  EXPECT_EQ(off.guard_after_s(), -1);
}

// A pending 1-GPU job with a limit: predicted run time = limit x fraction.
LasJob PendingWithLimit(Seconds limit, double fraction, double ran_s) {
  LasJob j;
  j.pending = true;
  j.gpus = 1;
  j.attained_gpu_s = ran_s;
  j.max_runtime_s = limit;
  j.limit_fraction = fraction;
  return j;
}

TEST(PredictedRemaining, IsTheLimitTimesTheFractionMinusWhatItRanAtLeastWhatItRan) {
  // Limit 10 h, fraction 0.5: predicted 5 h.
  EXPECT_EQ(PredictedRemainingSeconds(PendingWithLimit(36000, 0.5, 3600)), 4 * 3600);
  // Ran 4 h: 1 h left by the prediction, but a job that ran 4 h runs about 4 h more.
  EXPECT_EQ(PredictedRemainingSeconds(PendingWithLimit(36000, 0.5, 4 * 3600)), 4 * 3600);
  // Ran 9 h: never more than its limit allows (1 h).
  EXPECT_EQ(PredictedRemainingSeconds(PendingWithLimit(36000, 0.5, 9 * 3600)), 3600);
  // No limit: the history's estimate; neither: what it ran (LAS).
  LasJob j = PendingWithLimit(kNever, 0.5, 0);
  j.runtime_estimate_s = 7200;
  EXPECT_EQ(PredictedRemainingSeconds(j), 7200);
  j.runtime_estimate_s = kNever;
  j.attained_gpu_s = 8 * 3 * 3600;  // 24 GPU-hours on 8 GPUs: it ran 3 h
  j.gpus = 8;
  EXPECT_EQ(PredictedRemainingSeconds(j), 3 * 3600);
}

TEST(PredictedRemaining, ClassesArePowersOfTheBaseInMinutes) {
  LasConfig las;  // predicted remaining, base 2: priority = declared x 41 + (40 - class)
  ASSERT_TRUE(las.predicted_remaining);
  auto priority = [&](Seconds remaining_s) {
    LasJob j = PendingWithLimit(remaining_s, 1, 0);
    j.declared_priority = 1;
    return LasPriority(las, {}, j);
  };
  EXPECT_EQ(priority(30), 41 + 39);       // under a minute: class 1
  EXPECT_EQ(priority(120), 41 + 38);      // 2 min: class 2
  EXPECT_EQ(priority(179), 41 + 38);      // within a factor 2: the same class
  EXPECT_EQ(priority(240), 41 + 37);      // 4 min: class 3
  EXPECT_LT(priority(86400), priority(240));
  // Every class of declared priority 1 outranks the best of priority 0 (40).
  EXPECT_GT(priority(1'000'000'000), 40);
  las.class_base = 4;  // 4 min and 15 min: one class
  EXPECT_EQ(priority(240), priority(900));
}

TEST(PredictedRemaining, ARunningJobWithAPredictionIsNotAVictim) {
  LasConfig las;
  LasJob j = RunningOneGpuCheckpointer(3600, 3600, 10);  // just saved: in its victim window
  j.max_runtime_s = 100 * 3600;
  EXPECT_EQ(LasPriority(las, {}, j), 40);  // top queue: it started in its order
  j.max_runtime_s = kNever;                // no prediction: ranked by what it ran (1 h)
  EXPECT_EQ(LasPriority(las, {}, j), 40 - 6);  // 60 min: 1 + floor(log2 60) = 6
  j.since_checkpoint_s = 600;                  // outside its victim window
  EXPECT_EQ(LasPriority(las, {}, j), 40);
  j.checkpointable = false;  // never a victim for its order
  j.since_checkpoint_s = 10;
  EXPECT_EQ(LasPriority(las, {}, j), 40);
}

TEST(PredictedRemaining, TheGuardPutsAJobNearingTheBoundOnTopAndLetsItReserve) {
  LasConfig las;
  // Predicted 30 h left (limit 60 h x 0.5), bound 100 h.
  LasJob j = PendingWithLimit(60 * 3600, 0.5, 0);
  j.guard_after_s = 100 * 3600;
  j.age_s = 60 * 3600;  // 60 + 30 < 100: in its class, no reservation
  EXPECT_LT(LasPriority(las, {}, j), 40);
  EXPECT_FALSE(MayReserve(las, j));
  j.age_s = 70 * 3600;  // 70 + 30 >= 100: guarded
  EXPECT_EQ(LasPriority(las, {}, j), 40);
  EXPECT_TRUE(MayReserve(las, j));
  // Bound unknown or guard off: EASY reserves for every job, as before.
  j.age_s = 0;
  j.guard_after_s = -1;
  EXPECT_TRUE(MayReserve(las, j));
  las.predicted_remaining = false;
  j.guard_after_s = 100 * 3600;
  EXPECT_TRUE(MayReserve(las, j));
}

TEST(LasPriority, QueueInsideTheDeclaredPriority) {
  LasConfig las = ServiceQueues();  // two quantiles: K = 2, priority = declared x 3 + (2 - queue)
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
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
  LasConfig las = ServiceQueues();
  LasJob j;
  j.declared_priority = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(LasPriority(las, {}, j), std::numeric_limits<int32_t>::max());
}

}  // namespace
}  // namespace kumo::core
