// Who a task runs as when several jobs start in one pass: each gets a uid of its own, even
// though none of them is Running yet when the next one's uid is picked.
#include "server/task_isolation.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "server/server_state.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {
namespace fs = std::filesystem;

TEST(TaskIsolation, JobsStartingInOnePassGetDistinctUids) {
  ::kumo::testing::TempDir tmp;
  ServerConfig config;
  config.data_dir = tmp.path();
  config.isolation.first_uid = 200000;
  config.isolation.uid_count = 2;  // jobs 1 and 3 both start their search at 200000
  FakeClock clock(1000);
  ServerState state(std::move(config), clock);
  std::set<uid_t> uids;
  for (int64_t id : {1, 3}) {
    JobRec& job = state.jobs[id];
    job.id = id;
    job.user = "alice";
    job.phase = JobPhase::kPending;  // as PrepareStart leaves it: launching, not yet Running
    job.launching = true;
    const std::string out = state.AttemptDir(id, 1) + "/output";
    const std::string ckpt = state.JobDir(id) + "/checkpoint";
    fs::create_directories(out);
    fs::create_directories(ckpt);
    auto iso = IsolationForAttempt(state, job, out, ckpt);
    ASSERT_TRUE(iso.has_value()) << iso.error().message();
    EXPECT_TRUE(iso->enabled);
    uids.insert(iso->uid);
  }
  EXPECT_EQ(uids, (std::set<uid_t>{200000, 200001}));
}

// Only the job's own extracted snapshot is given to its task, whatever the submitter named as
// its submit dir: "DATA/jobs/N/../.." once began with "DATA/jobs/N/" and gave the task the
// data dir (and with it every job's files and the cache's trusted keys).
TEST(TaskIsolation, OnlyTheJobsOwnSnapshotCopyBecomesWritable) {
  ::kumo::testing::TempDir tmp;
  ServerConfig config;
  config.data_dir = tmp.path();
  config.isolation.first_uid = 200000;
  config.isolation.uid_count = 8;
  FakeClock clock(1000);
  ServerState state(std::move(config), clock);
  auto writable = [&](int64_t id, const std::string& submit_dir, bool snapshot) {
    JobRec& job = state.jobs[id];
    job.id = id;
    job.user = "eve";
    job.submit_dir = submit_dir;
    job.code_version = snapshot ? nlohmann::json{{"snapshot", "sha256:00"}} : nlohmann::json{};
    auto iso = IsolationForAttempt(state, job, "/out", "/ckpt");
    EXPECT_TRUE(iso.has_value());
    return iso ? iso->writable_dirs : std::vector<std::string>{};
  };
  const std::string own = state.JobDir(5) + "/code";
  EXPECT_EQ(writable(5, own, true), (std::vector<std::string>{"/out", "/ckpt", own}));
  EXPECT_EQ(writable(5, state.JobDir(5) + "/../..", false),
            (std::vector<std::string>{"/out", "/ckpt"}));
  EXPECT_EQ(writable(5, state.JobDir(5) + "/../1/attempt-1/output", false),
            (std::vector<std::string>{"/out", "/ckpt"}));
  EXPECT_EQ(writable(6, own, false), (std::vector<std::string>{"/out", "/ckpt"}));  // job 5's
}

}  // namespace
}  // namespace kumo::server
