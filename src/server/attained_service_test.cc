#include "server/attained_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <tuple>

#include "base/clock.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

// One queue boundary (p50) known once two jobs have finished: finishing a 1-GPU job with 100
// and one with 1000 GPU-seconds gives nearest-rank p50 = 100 GPU-s, so a job is in queue 0 below
// 100 GPU-s and in queue 1 from there; declared priority 0 -> LAS priority 1 (queue 0) or 0.
// Tiresias' service queues (las.predictedRemaining off): what these tests check; the predicted
// order has its own tests below.
core::PolicyConfig Policy() {
  core::PolicyConfig p;
  p.las.predicted_remaining = false;
  p.las.threshold_quantiles = {0.5};
  p.history.min_jobs = 2;
  p.history.window_jobs = 3;
  return p;
}
constexpr int32_t kTopQueue = 1, kQueue1 = 0;

JobRec Job(int64_t id, int32_t gpus, double submit) {
  JobRec j;
  j.id = id;
  j.submit_time = submit;
  api::TaskGroupSpec g;
  g.name = "main";
  g.replicas = 1;
  g.resources.gpu_milli = gpus * 1000;
  j.spec.task_groups.push_back(g);
  return j;
}

void Start(JobRec& j, double now) {
  j.phase = JobPhase::kRunning;
  ++j.attempt;
  j.start_time = now;
  j.tasks = {TaskRec{}};
}

void End(JobRec& j, JobPhase phase, double now) {
  j.phase = phase;
  j.tasks.clear();
  if (IsTerminal(phase)) j.end_time = now;
}

class AttainedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = store::Store::Open(dir_.Path("kumo.db"));
    ASSERT_TRUE(s.has_value()) << s.error().message();
    store_ = std::move(*s);
  }
  // What a tick would commit: the queued statements in one write.
  void Commit() {
    ASSERT_TRUE(store_->WriteSync(std::move(writes_)).ok());
    writes_.clear();
  }
  // Job j, submitted at t, starts at once, runs `run` s and succeeds, each step observed.
  void RunToSuccess(AttainedService& a, JobRec& j, double t, double run) {
    a.Observe(j, t, writes_);
    Start(j, t);
    a.Observe(j, t, writes_);
    End(j, JobPhase::kSucceeded, t + run);
    a.Observe(j, t + run, writes_);
  }
  // Two jobs of 1 GPU that ran 100 and 1000 s: the boundary becomes 100 GPU-s.
  void FinishTwo(AttainedService& a, std::map<int64_t, JobRec>& jobs, double t) {
    for (auto [id, run] : {std::pair{101, 100.0}, std::pair{102, 1000.0}})
      RunToSuccess(a, jobs[id] = Job(id, 1, t), t, run);
    Commit();
  }
  int32_t Priority(const AttainedService& a, const JobRec& j, double now, double saved = -1) {
    core::Job cj;
    cj.checkpointable = j.spec.checkpoint.enabled;
    a.Apply(j, now, saved, cj);
    return cj.priority;
  }

  ::kumo::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::vector<store::Statement> writes_;
  FakeClock clock_{10'000};
};

TEST_F(AttainedServiceTest, ServiceAndThresholdsSurviveARestart) {
  std::map<int64_t, JobRec> jobs;
  {
    AttainedService a(Policy());
    FinishTwo(a, jobs, clock_.NowSeconds());
    ASSERT_EQ(a.history().thresholds_gpu_s(), std::vector<double>{100});
    // Job 1, 2 GPUs: attempt 1 runs 40 s and is preempted (80 GPU-s), waits, attempt 2 runs.
    JobRec& j = jobs[1] = Job(1, 2, clock_.NowSeconds());
    Start(j, clock_.NowSeconds());
    a.Observe(j, clock_.NowSeconds(), writes_);
    clock_.Advance(40);
    End(j, JobPhase::kPending, clock_.NowSeconds());
    a.Observe(j, clock_.NowSeconds(), writes_);
    EXPECT_EQ(j.attained_gpu_s, 80);
    Commit();
    clock_.Advance(10);
    Start(j, clock_.NowSeconds());
    a.Observe(j, clock_.NowSeconds(), writes_);
    EXPECT_TRUE(writes_.empty());  // a start writes nothing: jobs.start_time tells it
    clock_.Advance(15);
    a.Observe(j, clock_.NowSeconds(), writes_);
    EXPECT_EQ(j.attained_gpu_s, 110);  // 80 + 2 GPUs x 15 s
  }
  // kill -9: a new process reads the store; the running attempt counts from its start.
  Reopen();
  for (auto& [id, j] : jobs) j.attained_gpu_s = 0;
  AttainedService b(Policy());
  ASSERT_TRUE(b.Load(*store_, jobs, writes_).ok());
  EXPECT_TRUE(writes_.empty());
  EXPECT_EQ(b.history().thresholds_gpu_s(), std::vector<double>{100});
  EXPECT_EQ(jobs[102].attained_gpu_s, 1000);
  b.Observe(jobs[1], clock_.NowSeconds(), writes_);
  EXPECT_EQ(jobs[1].attained_gpu_s, 110);
  // Preempted once more, it waits in queue 1: the long job does not come back at the top.
  End(jobs[1], JobPhase::kPending, clock_.NowSeconds());
  b.Observe(jobs[1], clock_.NowSeconds(), writes_);
  EXPECT_EQ(Priority(b, jobs[1], clock_.NowSeconds()), kQueue1);
}

// The predicted order's two learned values are rebuilt from the store: the fraction of their
// limits that finished jobs ran (service_history joined with the jobs' specs) and the guard's
// bound (the arrivals' limits, the jobs in id order).
TEST_F(AttainedServiceTest, TheLimitFractionAndTheGuardBoundSurviveARestart) {
  core::PolicyConfig policy;
  policy.history.min_jobs = 2;
  policy.history.window_jobs = 3;
  policy.las.guard_quantile = 0.5;
  std::map<int64_t, JobRec> jobs;
  const double t = clock_.NowSeconds();
  {
    AttainedService a(policy);
    // 1 GPU each: 101 ran 100 s of a 400 s limit, 102 ran 1000 s of 2000 s.
    for (auto [id, run, limit] : {std::tuple{101, 100.0, 400}, std::tuple{102, 1000.0, 2000}}) {
      JobRec& j = jobs[id] = Job(id, 1, t);
      j.spec.max_runtime_s = limit;
      RunToSuccess(a, j, t, run);
    }
    Commit();
    // Fraction (0.25 + 0.5) / 2; bound: nearest-rank p50 of {400, 2000} = 400, x 0.375.
    EXPECT_DOUBLE_EQ(a.history().limit_fraction(), 0.375);
    EXPECT_EQ(a.history().guard_after_s(), 150);
  }
  Reopen();
  AttainedService b(policy);
  ASSERT_TRUE(b.Load(*store_, jobs, writes_).ok());
  EXPECT_DOUBLE_EQ(b.history().limit_fraction(), 0.375);
  EXPECT_EQ(b.history().guard_after_s(), 150);
}

TEST_F(AttainedServiceTest, AFreshServerKnowsNothing) {
  // The in-memory behaviour this replaces: without the store, job 1 would be back at the top.
  std::map<int64_t, JobRec> jobs;
  AttainedService a(Policy());
  ASSERT_TRUE(a.Load(*store_, jobs, writes_).ok());
  EXPECT_TRUE(a.history().thresholds_gpu_s().empty());
  JobRec& j = jobs[1] = Job(1, 2, 0);
  Start(j, 0);
  a.Observe(j, 1000, writes_);
  EXPECT_EQ(j.attained_gpu_s, 2000);
  EXPECT_EQ(Priority(a, j, 1000), kTopQueue);  // no thresholds yet
}

TEST_F(AttainedServiceTest, TheHistoryKeepsOnlyItsWindowInTheStore) {
  std::map<int64_t, JobRec> jobs;
  AttainedService a(Policy());  // window_jobs 3
  for (int id = 1; id <= 5; ++id) {
    JobRec& j = jobs[id] = Job(id, 1, 0);
    Start(j, 0);
    a.Observe(j, 0, writes_);
    End(j, JobPhase::kFailed, 10.0 * id);
    a.Observe(j, 10.0 * id, writes_);
    a.Observe(j, 99, writes_);  // reported once only
  }
  // A job cancelled before it ran tells nothing about the workload's scale.
  JobRec& never = jobs[6] = Job(6, 1, 0);
  a.Observe(never, 0, writes_);
  End(never, JobPhase::kCancelled, 1);
  a.Observe(never, 1, writes_);
  Commit();
  int64_t rows = -1;
  ASSERT_TRUE(store_
                  ->Query("SELECT count(*) FROM service_history", {},
                          [&](const store::Row& r) { rows = store::AsInt(r[0]); })
                  .ok());
  EXPECT_EQ(rows, 3);
  // Window {30, 40, 50}: p50 = 40 GPU-s, before the restart and after it.
  EXPECT_EQ(a.history().thresholds_gpu_s(), std::vector<double>{40});
  AttainedService b(Policy());
  ASSERT_TRUE(b.Load(*store_, jobs, writes_).ok());
  EXPECT_EQ(b.history().thresholds_gpu_s(), std::vector<double>{40});
}

TEST_F(AttainedServiceTest, AnAttemptEndedAtStartUpIsCountedAndReported) {
  // The server stopped with job 1 running (attempt 1 since t=1000, 1 GPU); the reconciliation
  // found it finished at t=1030, and the loop first looks at t=1045.
  std::map<int64_t, JobRec> jobs;
  JobRec& j = jobs[1] = Job(1, 1, 0);
  Start(j, 1000);
  AttainedService a(Policy());
  ASSERT_TRUE(a.Load(*store_, jobs, writes_).ok());
  End(j, JobPhase::kSucceeded, 1030);
  a.Observe(j, 1045, writes_);
  EXPECT_EQ(j.attained_gpu_s, 30);  // to its end, not to the first look
  Commit();
  AttainedService b(Policy());
  ASSERT_TRUE(b.Load(*store_, jobs, writes_).ok());
  EXPECT_EQ(jobs[1].attained_gpu_s, 30);
}

TEST_F(AttainedServiceTest, ADatabaseOfSchema5IsMigrated) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.Path("kumo.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db,
                         "DROP TABLE job_service; DROP TABLE service_history; "
                         "PRAGMA user_version=5;",
                         nullptr, nullptr, &err),
            SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
  Reopen();
  EXPECT_EQ(store_->schema_version(), 6);
  // The tables are back, empty: jobs start from their current attempt.
  std::map<int64_t, JobRec> jobs;
  JobRec& j = jobs[1] = Job(1, 1, 0);
  Start(j, 100);
  AttainedService a(Policy());
  ASSERT_TRUE(a.Load(*store_, jobs, writes_).ok());
  a.Observe(j, 160, writes_);
  EXPECT_EQ(j.attained_gpu_s, 60);
}

// The starvation guard (core::LasConfig::starve_factor, 4 by default) counts every wait after
// the first start, and so must the server, across a restart: a 1-GPU job ran 150 s (past the
// boundary), waited 400 s, ran 10 s more and has now waited 300 s: 400 + 300 > 4 x 160, so it
// is promoted to the top queue; the current wait alone (300) would leave it in queue 1.
TEST_F(AttainedServiceTest, WaitsBetweenAttemptsCountTowardsStarvationAcrossARestart) {
  std::map<int64_t, JobRec> jobs;
  AttainedService a(Policy());
  FinishTwo(a, jobs, 0);
  JobRec& j = jobs[1] = Job(1, 1, 1000);
  a.Observe(j, 1000, writes_);
  for (auto [start, run] : {std::pair{2000.0, 150.0}, std::pair{2550.0, 10.0}}) {
    Start(j, start);
    a.Observe(j, start, writes_);
    End(j, JobPhase::kPending, start + run);
    a.Observe(j, start + run, writes_);
  }
  Commit();
  EXPECT_EQ(Priority(a, j, 2560 + 200), kQueue1);  // 400 + 200 < 640
  EXPECT_EQ(Priority(a, j, 2560 + 300), kTopQueue);
  Reopen();
  AttainedService b(Policy());
  ASSERT_TRUE(b.Load(*store_, jobs, writes_).ok());
  b.Observe(j, 2560 + 300, writes_);
  EXPECT_EQ(Priority(b, j, 2560 + 300), kTopQueue);
}

// Checkpoint-aware LAS: a job that crossed the boundary keeps its queue until its next save
// (so the preemption that follows loses little), for at most CheckpointWaitSeconds.
class CheckpointLasTest : public AttainedServiceTest {
 protected:
  void SetUp() override {
    AttainedServiceTest::SetUp();
    FinishTwo(a_, jobs_, 0);
    JobRec& j = jobs_[1] = Job(1, 1, t0_);
    j.spec.checkpoint.enabled = true;
    j.spec.checkpoint.interval_s = 60;  // waits up to 75 s for a save
    Start(j, t0_);
    clock_.Set(t0_);
    a_.Observe(j, t0_, writes_);
    clock_.Advance(150);  // 150 GPU-s attained: past the 100 GPU-s boundary
    a_.Observe(j, clock_.NowSeconds(), writes_);
  }
  JobRec& job() { return jobs_[1]; }

  const double t0_ = 5000;
  AttainedService a_{Policy()};
  std::map<int64_t, JobRec> jobs_;
};

TEST_F(CheckpointLasTest, DemotedRightAfterASaveBeyondTheBoundary) {
  core::Job cj;
  cj.checkpointable = true;
  a_.Apply(job(), clock_.NowSeconds(), t0_ + 120, cj);  // saved at 120 GPU-s
  EXPECT_EQ(cj.priority, kQueue1);
  EXPECT_EQ(cj.last_checkpoint_time, t0_ + 120);  // the victim ranking's lost work
}

TEST_F(CheckpointLasTest, TellsTheGainRuleItsDeclaredClassAndTheTimeItRan) {
  // core::PreemptionGainConfig reads both: 1 GPU for 150 s is 150 s run, and its declared class
  // (0) is kept apart from the pass priority that LAS made of it (queue 1).
  core::Job cj;
  cj.checkpointable = true;
  a_.Apply(job(), clock_.NowSeconds(), t0_ + 120, cj);
  EXPECT_EQ(cj.priority, kQueue1);
  EXPECT_EQ(cj.las_declared_priority, std::optional<int32_t>{0});
  EXPECT_EQ(cj.executed_s, 150);
}

TEST_F(CheckpointLasTest, KeepsItsQueueUntilTheNextSave) {
  // Saved at 90 GPU-s, 60 s ago: the next save is due; until then it is not a LAS victim.
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds(), t0_ + 90), kTopQueue);
}

TEST_F(CheckpointLasTest, WaitsNoLongerThanTheBound) {
  // Saved at 70 GPU-s, 80 s ago (> 75 s): it stopped saving; its whole service counts.
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds(), t0_ + 70), kQueue1);
  // Never saved in this attempt (a file of an earlier attempt does not count): 150 s > 75 s.
  core::Job cj;
  cj.checkpointable = true;
  a_.Apply(job(), clock_.NowSeconds(), t0_ - 10, cj);
  EXPECT_EQ(cj.priority, kQueue1);
  EXPECT_EQ(cj.last_checkpoint_time, -1);
}

TEST_F(CheckpointLasTest, AJobThatDoesNotCheckpointIsNeverALasVictim) {
  job().spec.checkpoint.enabled = false;
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds()), kTopQueue);
}

TEST_F(CheckpointLasTest, IsALasVictimOnlyInTheWindowAfterASave) {
  // policy.las.victimWindowSeconds (120 s by default): demoted just after its save, back in the
  // top queue once the window passed, until its next save (or the wait bound, 750 s here).
  job().spec.checkpoint.interval_s = 600;
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds(), t0_ + 120), kQueue1);  // saved 30 s ago
  clock_.Advance(100);
  a_.Observe(job(), clock_.NowSeconds(), writes_);
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds(), t0_ + 120), kTopQueue);  // 130 s ago
  clock_.Advance(700);
  a_.Observe(job(), clock_.NowSeconds(), writes_);
  EXPECT_EQ(Priority(a_, job(), clock_.NowSeconds(), t0_ + 120), kQueue1);  // stopped saving
}

TEST_F(AttainedServiceTest, AJobRequeuedOnceIsNoLongerALasVictimWithKOne) {
  // policy.las.protectAfterRequeues: 1. A checkpointing job demoted at its save (150, later 220
  // GPU-s >= 100) is a victim in its first attempt; preempted once, its next attempt is not.
  std::map<int64_t, JobRec> jobs;
  core::PolicyConfig policy = Policy();
  policy.las.protect_after_requeues = 1;
  AttainedService a(policy);
  FinishTwo(a, jobs, 0);
  JobRec& j = jobs[1] = Job(1, 1, 5000);
  j.spec.checkpoint.enabled = true;
  j.spec.checkpoint.interval_s = 600;
  Start(j, 5000);
  a.Observe(j, 5000, writes_);
  a.Observe(j, 5160, writes_);
  EXPECT_EQ(Priority(a, j, 5160, 5150), kQueue1);  // saved 10 s ago: in its victim window
  End(j, JobPhase::kPending, 5170);
  a.Observe(j, 5170, writes_);
  Start(j, 5200);
  a.Observe(j, 5200, writes_);
  a.Observe(j, 5260, writes_);
  EXPECT_EQ(Priority(a, j, 5260, 5250), kTopQueue);  // the same window, but it has paid
}

TEST(CheckpointWaitSeconds, AQuarterBeyondTheDeclaredIntervalOrTheDefault) {
  api::CheckpointSpec c;
  EXPECT_EQ(CheckpointWaitSeconds(c), kDefaultCheckpointWaitSeconds);
  c.interval_s = 600;
  EXPECT_EQ(CheckpointWaitSeconds(c), 750);
}

}  // namespace
}  // namespace kumo::server
