#include "test/support/temp_dir.h"
#include "server/job_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>


namespace kumo::server {
namespace {

constexpr char kSpec[] = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups:
    - name: main
      replicas: 2
      command: ["true"]
)";

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(dir_.Path("kumo.db"));
    ASSERT_TRUE(s.has_value()) << s.error().message();
    store_ = std::move(*s);
  }
  void TearDown() override { store_.reset(); }
  void Write(std::vector<store::Statement> w) { ASSERT_TRUE(store_->WriteSync(std::move(w)).ok()); }

  ::kumo::testing::TempDir dir_;  // removed after the store below it is closed
  std::unique_ptr<store::Store> store_;
};

JobRec Submitted(int64_t id) {
  JobRec j;
  j.id = id;
  j.project = "default";
  j.user = "ada";
  j.name = "job-" + std::to_string(id);
  j.spec_yaml = kSpec;
  j.spec_sha256 = "abc";
  j.submit_dir = "/home/ada";
  j.code_version = {{"git", "1234"}};
  j.seed = 42;
  j.submit_time = 100.5;
  j.reason = "Submitted";
  return j;
}

TEST_F(JobStoreTest, InsertedJobLoadsBackPendingAndDurable) {
  JobRec j = Submitted(7);
  j.idempotency_key = "k1";
  Write({JobStore::Insert(j)});
  auto jobs = JobStore(*store_).Load();
  ASSERT_TRUE(jobs.has_value()) << jobs.error().message();
  ASSERT_EQ(jobs->size(), 1u);
  const JobRec& got = jobs->at(7);
  EXPECT_EQ(got.phase, JobPhase::kPending);
  EXPECT_EQ(got.reason, "Submitted");
  EXPECT_TRUE(got.durable);
  EXPECT_EQ(got.user, "ada");
  EXPECT_EQ(got.name, "job-7");
  EXPECT_EQ(got.submit_dir, "/home/ada");
  EXPECT_EQ(got.code_version, j.code_version);
  EXPECT_EQ(got.seed, 42u);
  EXPECT_EQ(got.submit_time, 100.5);
  EXPECT_EQ(got.idempotency_key, "k1");
  EXPECT_EQ(got.spec.TotalTasks(), 2);
  EXPECT_TRUE(got.tasks.empty());
}

// The stored words are the API's: other tools (and older servers) read the same rows.
TEST_F(JobStoreTest, PhaseAndTaskStateAreStoredAsTheirWords) {
  JobRec j = Submitted(1);
  Write({JobStore::Insert(j)});
  j.phase = JobPhase::kTerminating;
  j.attempt = 1;
  TaskRec t;
  t.state = TaskState::kExited;
  j.tasks = {t};
  std::vector<store::Statement> w = JobStore::SaveTasks(j);
  w.push_back(JobStore::Update(j));
  Write(std::move(w));
  std::string phase, state;
  ASSERT_TRUE(store_
                  ->Query("SELECT phase FROM jobs", {},
                          [&](const store::Row& r) { phase = store::AsString(r[0]); })
                  .ok());
  ASSERT_TRUE(store_
                  ->Query("SELECT state FROM tasks", {},
                          [&](const store::Row& r) { state = store::AsString(r[0]); })
                  .ok());
  EXPECT_EQ(phase, "Terminating");
  EXPECT_EQ(state, "exited");
}

// BeginTermination stores the outcome as the job's reason and its message as the job's: after a
// restart the attempt still ends with them.
TEST_F(JobStoreTest, TerminatingJobLoadsItsOutcomeFromItsReason) {
  JobRec j = Submitted(4);
  Write({JobStore::Insert(j)});
  j.phase = JobPhase::kTerminating;
  j.attempt = 1;
  j.reason = "Preempted";
  j.message = "for job 9";
  Write({JobStore::Update(j)});
  auto jobs = JobStore(*store_).Load();
  ASSERT_TRUE(jobs.has_value()) << jobs.error().message();
  EXPECT_EQ(jobs->at(4).terminate_reason, AttemptOutcome::kPreempted);
  EXPECT_EQ(jobs->at(4).terminate_message, "for job 9");

  j.reason = "Submitted";  // not an outcome: only a damaged store says this
  Write({JobStore::Update(j)});
  EXPECT_FALSE(JobStore(*store_).Load().has_value());
}

TEST_F(JobStoreTest, UpdateAndTasksOfTheCurrentAttemptLoadBack) {
  JobRec j = Submitted(3);
  Write({JobStore::Insert(j)});
  j.attempt = 1;
  TaskRec old;
  old.node = "stale";
  j.tasks = {old};
  Write(JobStore::SaveTasks(j));  // attempt 1's task: not loaded once attempt 2 runs
  j.phase = JobPhase::kRunning;
  j.reason = "";
  j.attempt = 2;
  j.failures = 1;
  j.start_time = 200;
  j.not_before = 150;
  j.cancel_requested = true;
  TaskRec a, b;
  a.rank = 0;
  a.node = "node-0";
  a.gpus = {{0, 1000}, {1, 500}};
  a.handle = {1234, 99, "/d/jobs/3/attempt-2/task-0", "/sys/fs/cgroup/kumo/x"};
  b.rank = 1;
  b.replica = 1;
  b.node = "node-1";
  b.state = TaskState::kLost;
  b.exit_code = 3;
  b.term_signal = 9;
  j.tasks = {a, b};
  std::vector<store::Statement> w = JobStore::SaveTasks(j);
  w.push_back(JobStore::Update(j));
  Write(std::move(w));

  auto jobs = JobStore(*store_).Load();
  ASSERT_TRUE(jobs.has_value()) << jobs.error().message();
  const JobRec& got = jobs->at(3);
  EXPECT_EQ(got.phase, JobPhase::kRunning);
  EXPECT_EQ(got.reason, "");
  EXPECT_EQ(got.attempt, 2);
  EXPECT_EQ(got.failures, 1);
  EXPECT_EQ(got.start_time, 200);
  EXPECT_EQ(got.end_time, 0);  // stored as NULL
  EXPECT_EQ(got.not_before, 150);
  EXPECT_TRUE(got.cancel_requested);
  ASSERT_EQ(got.tasks.size(), 2u);
  EXPECT_EQ(got.tasks[0].node, "node-0");
  EXPECT_EQ(got.tasks[0].gpus, a.gpus);
  EXPECT_EQ(got.tasks[0].handle.pid, 1234);
  EXPECT_EQ(got.tasks[0].handle.start_ticks, 99);
  EXPECT_EQ(got.tasks[0].handle.run_dir, a.handle.run_dir);
  EXPECT_EQ(got.tasks[0].handle.cgroup_path, a.handle.cgroup_path);
  EXPECT_EQ(got.tasks[0].state, TaskState::kRunning);
  EXPECT_EQ(got.tasks[1].replica, 1);
  EXPECT_EQ(got.tasks[1].state, TaskState::kLost);
  EXPECT_EQ(got.tasks[1].exit_code, 3);
  EXPECT_EQ(got.tasks[1].term_signal, 9);
}

TEST_F(JobStoreTest, TasksOfEndedJobsAreNotLoaded) {
  JobRec j = Submitted(4);
  Write({JobStore::Insert(j)});
  j.attempt = 1;
  j.phase = JobPhase::kSucceeded;
  j.end_time = 300;
  j.tasks = {TaskRec{}};
  std::vector<store::Statement> w = JobStore::SaveTasks(j);
  w.push_back(JobStore::Update(j));
  Write(std::move(w));
  auto jobs = JobStore(*store_).Load();
  ASSERT_TRUE(jobs.has_value());
  EXPECT_EQ(jobs->at(4).phase, JobPhase::kSucceeded);
  EXPECT_EQ(jobs->at(4).end_time, 300);
  EXPECT_TRUE(jobs->at(4).tasks.empty());
}

TEST_F(JobStoreTest, UnknownStoredPhaseFailsTheLoad) {
  Write({JobStore::Insert(Submitted(5)), {"UPDATE jobs SET phase='Paused' WHERE id=5", {}}});
  auto jobs = JobStore(*store_).Load();
  ASSERT_FALSE(jobs.has_value());
  EXPECT_EQ(jobs.error().code(), StatusCode::kInternal);
  EXPECT_EQ(jobs.error().message(), "job 5: unknown stored phase \"Paused\"");
}

TEST_F(JobStoreTest, SpecThatNoLongerParsesFailsTheLoad) {
  JobRec j = Submitted(6);
  j.spec_yaml = "kind: Job\n";
  Write({JobStore::Insert(j)});
  auto jobs = JobStore(*store_).Load();
  ASSERT_FALSE(jobs.has_value());
  EXPECT_NE(jobs.error().message().find("job 6: stored spec no longer parses"), std::string::npos);
}

TEST_F(JobStoreTest, ResultsByAttempt) {
  Write({JobStore::Insert(Submitted(8))});
  Write(
      {JobStore::SaveResult(8, 2, {{"attempt", 2}}), JobStore::SaveResult(8, 1, {{"attempt", 1}})});
  auto results = JobStore(*store_).Results(8);
  ASSERT_TRUE(results.has_value());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0]["attempt"], 1);
  EXPECT_EQ((*results)[1]["attempt"], 2);
  EXPECT_TRUE(JobStore(*store_).Results(9)->empty());
}

TEST_F(JobStoreTest, EventsOfAJobAndTheLogAfterACursor) {
  Write({JobStore::AddEvent(1.5, 8, "job/8", "Submitted", "Submitted", "by ada"),
         JobStore::AddEvent(2.5, std::nullopt, "node/n0", "Cordoned", "", "by admin"),
         JobStore::AddEvent(3.5, 8, "job/8", "Started", "Scheduled", "attempt 1")});
  auto job = JobStore(*store_).JobEvents(8);
  ASSERT_TRUE(job.has_value());
  ASSERT_EQ(job->size(), 2u);
  EXPECT_EQ((*job)[0].type, "Submitted");
  EXPECT_EQ((*job)[0].time, 1.5);
  EXPECT_EQ((*job)[1].reason, "Scheduled");
  EXPECT_EQ((*job)[1].message, "attempt 1");
  EXPECT_LT((*job)[0].seq, (*job)[1].seq);

  auto all = JobStore(*store_).EventsAfter(0, 1000);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].object, "node/n0");
  auto page = JobStore(*store_).EventsAfter((*all)[0].seq, 1);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].seq, (*all)[1].seq);
}

}  // namespace
}  // namespace kumo::server
