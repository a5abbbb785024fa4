// A 2 x 4-GPU gang behind a stream of 1-GPU jobs on 8 x 8 GPUs, over many passes (the core driven
// as the server and the simulator drive it, through core/driver.h, with time stepped by hand):
// with ageing, and with maxRuntime or only learnt runtime estimates, the gang starts within a
// bounded number of passes; without ageing, or with neither limits nor estimates, it starves.
//
// The stream: every 1-GPU job belongs to a user of its own (no usage yet), so DRF puts each one
// before the gang, whose user already runs a job; 20 wait at the start and 12 arrive per 10 s pass
// while ~9 end (64 GPUs, 70 s on average), so the queue never empties and the first blocked job,
// the one EASY reserves for, is always a small one.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/driver.h"
#include "core/runtime_estimate.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

constexpr Seconds kPass = 10;        // one pass every 10 s
constexpr Seconds kSmallLimit = 100;  // the small jobs' maxRuntime (when given)

struct Scenario {
  Seconds age_after_s = kNever;
  bool small_jobs_have_limits = true;
  bool estimates = false;  // learn the small jobs' runtimes from their completions
};

// Runs passes until the gang starts or `max_passes` have run; returns the passes it took, or -1.
int PassesUntilGangStarts(const Scenario& sc, int max_passes) {
  SchedulerConfig cfg = Config("drf");
  cfg.preemption = false;
  cfg.age_after_s = sc.age_after_s;
  auto sched = Scheduler::Create(cfg);
  EXPECT_TRUE(sched.has_value());
  Snapshot s;
  for (int n = 0; n < 8; ++n) s.nodes.push_back(GpuNode("n" + std::to_string(n)));
  s.projects = {MakeProject("p")};
  std::vector<Seconds> duration_of;  // by small job number
  int next_small = 0;
  auto small = [&](Seconds submit) {
    const int i = next_small++;
    duration_of.push_back(40 + 10 * (i % 7));  // 40..100 s, within the limit
    JobBuilder b("s" + std::to_string(i));
    b.User("u" + std::to_string(i)).Submit(submit).Tasks(1, WholeGpus(1));
    if (sc.small_jobs_have_limits) b.MaxRuntime(kSmallLimit);
    return b.Build();
  };
  // t=0: the gang's user runs a long job (GPU 0 of n0); 63 small jobs fill the rest.
  s.jobs.push_back(RunningJob("g-long", "n0", {0}).User("g"));
  for (int n = 0; n < 8; ++n)
    for (int g = (n == 0 ? 1 : 0); g < 8; ++g) {
      const int i = next_small;
      Job j = small(0);
      j.phase = JobPhase::kRunning;
      // Ends staggered over t = 10..70 s.
      j.start_time = 10 * (i % 7 + 1) - duration_of[static_cast<size_t>(i)];
      j.placements = {TaskPlacement{0, 0, "n" + std::to_string(n), {GpuShare{g, kMilliPerGpu}}}};
      s.jobs.push_back(j);
    }
  s.jobs.push_back(JobBuilder("gang").User("g").Submit(0).Tasks(2, WholeGpus(4)).Build());
  for (int k = 0; k < 20; ++k) s.jobs.push_back(small(0));
  RuntimeEstimator estimator;
  auto number = [](const Job& j) { return std::stoi(j.id.substr(1)); };
  for (int pass = 1; pass <= max_passes; ++pass) {
    s.now += kPass;
    // Completions (the small jobs at their duration), then arrivals, then estimates.
    std::vector<Job> kept;
    for (Job& j : s.jobs) {
      const bool done = j.phase == JobPhase::kRunning && j.id[0] == 's' &&
                        j.start_time + duration_of[static_cast<size_t>(number(j))] <= s.now;
      if (done && sc.estimates)
        estimator.Observe({j.user, "p", "small", ""}, duration_of[static_cast<size_t>(number(j))]);
      if (!done) kept.push_back(std::move(j));
    }
    s.jobs = std::move(kept);
    for (int k = 0; k < 12; ++k) s.jobs.push_back(small(s.now));
    for (Job& j : s.jobs)
      j.runtime_estimate = j.id[0] == 's' && sc.estimates
                               ? estimator.Estimate({j.user, "p", "small", ""})
                               : kNever;
    auto d = sched->Schedule(s);
    EXPECT_TRUE(d.has_value());
    if (!d) return -1;
    ApplyDecisions(*d, s.now, s.jobs);
    if (FindStart(*d, "gang") != nullptr) return pass;
  }
  return -1;
}

// Bound with ageing: the gang is aged after age_after_s; a small job may still hold the sticky
// reservation then (it starts within one small limit); then the gang reserves and starts once
// the jobs in its way reach their limit (one more). Passes: (age_after + 2 x 100 s) / 10 s + 2.
constexpr Seconds kAgeAfter = 300;
constexpr int kBound = static_cast<int>((kAgeAfter + 2 * kSmallLimit) / kPass) + 2;  // 52

TEST(Starvation, GangStarvesBehindSmallJobsWithoutAgeing) {
  EXPECT_EQ(PassesUntilGangStarts({}, 3 * kBound), -1);
}

TEST(Starvation, AgedGangStartsWithinBoundedPasses) {
  const int passes = PassesUntilGangStarts({.age_after_s = kAgeAfter}, 3 * kBound);
  EXPECT_GT(passes, 0) << "the gang never started";
  EXPECT_LE(passes, kBound);
  // Not before it aged: until then the small jobs go first (what the test is about).
  EXPECT_GE(passes, kAgeAfter / kPass);
}

TEST(Starvation, LearntEstimatesLetTheAgedGangReserveWithoutMaxRuntime) {
  // Without limits nor estimates no reservation is possible: ageing alone cannot help.
  EXPECT_EQ(PassesUntilGangStarts({.age_after_s = kAgeAfter, .small_jobs_have_limits = false},
                                  3 * kBound),
            -1);
  // With estimates learnt from completions (the median of 40..100 s, below some runtimes: the
  // reservation moves when a job outruns its estimate), the gang starts, within the same bound.
  const int passes = PassesUntilGangStarts(
      {.age_after_s = kAgeAfter, .small_jobs_have_limits = false, .estimates = true}, 3 * kBound);
  EXPECT_GT(passes, 0) << "the gang never started";
  EXPECT_LE(passes, kBound);
}

}  // namespace
}  // namespace kumo::core
