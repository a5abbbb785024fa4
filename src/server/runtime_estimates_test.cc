// RuntimeEstimates: the server's history from restored Succeeded jobs (oldest end first), updated
// as jobs succeed, the error histogram, and no estimate for jobs with maxRuntime.
#include "server/runtime_estimates.h"

#include <gtest/gtest.h>

namespace kumo::server {
namespace {

JobRec Done(int64_t id, const std::string& user, const std::string& name, double start,
            double end, JobPhase phase = JobPhase::kSucceeded) {
  JobRec j;
  j.id = id;
  j.user = user;
  j.project = "p";
  j.name = name;
  j.phase = phase;
  j.start_time = start;
  j.end_time = end;
  return j;
}

uint64_t Count(const prometheus::Histogram& h) {
  uint64_t n = 0;
  for (uint64_t c : h.Value().counts) n += c;
  return n;
}

TEST(RuntimeEstimates, LoadsSucceededJobsAndEstimatesEveryJob) {
  prometheus::Histogram error({0.1, 1});
  core::RuntimeEstimateConfig cfg;
  cfg.window = 2;  // the two most recent runs count
  RuntimeEstimates est(cfg, &error);
  std::map<int64_t, JobRec> jobs;
  // alice's "train": ended in the order 3 (run 900 s), 1 (100 s), 2 (200 s); the window keeps
  // the last two by end time: 100 and 200 -> median (nearest rank) 100.
  jobs.emplace(1, Done(1, "alice", "train", 1000, 1100));
  jobs.emplace(2, Done(2, "alice", "train", 1000, 1200));
  jobs.emplace(3, Done(3, "alice", "train", 0, 900));
  jobs.emplace(4, Done(4, "alice", "train", 0, 5000, JobPhase::kFailed));  // says nothing
  est.Load(jobs);
  JobRec next = Done(5, "alice", "train", 0, 0, JobPhase::kPending);
  EXPECT_EQ(est.For(next), 100);
  EXPECT_EQ(Count(error), 0u);  // history replayed at start-up reports nothing

  // A job with a limit gets the estimate too: EASY plans with the limit, "drf-predicted" orders
  // by the estimate capped at the limit (the core applies both).
  next.spec.max_runtime_s = 50;
  EXPECT_EQ(est.For(next), 100);

  // A job that succeeds after 400 s where 100 was estimated: error |100 - 400| / 400 = 0.75.
  est.Finished(Done(6, "alice", "train", 2000, 2400));
  EXPECT_EQ(Count(error), 1u);
  EXPECT_DOUBLE_EQ(error.Value().sum, 0.75);
  // Window now 200, 400 -> 200.
  next.spec.max_runtime_s.reset();
  EXPECT_EQ(est.For(next), 200);
}

}  // namespace
}  // namespace kumo::server
