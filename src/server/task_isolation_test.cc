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

}  // namespace
}  // namespace kumo::server
