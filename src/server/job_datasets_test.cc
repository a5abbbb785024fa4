// Jobs stored before the dataset registry (schema 4) with `datasets: [{name: x@v1, path: DIR}]`:
// a server started on such a database loads, fails the pending one and cancels the running one
// with an event saying why, keeps a finished one's history, and runs new jobs (job_datasets.h, LegacyDatasetsFree).
#include "server/job_datasets.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <shared_mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/sha256.h"
#include "server/server_state.h"
#include "server/control_plane_test_fixture.h"
#include "store/store.h"

namespace kumo::server {
namespace {

constexpr char kLegacySpec[] = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  datasets: [{name: mnist@v1, path: /srv/data/mnist}]
  taskGroups:
    - name: main
      command: ["true"]
)";

constexpr char kAdminToken[] = "kumo_legacyadmintoken0123456789abcdefghij";

TEST(LegacyDatasetsFree, DropsOnlyTheRemovedForm) {
  std::optional<std::string> v = LegacyDatasetsFree(kLegacySpec);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->find("datasets"), std::string::npos) << *v;
  EXPECT_NE(v->find("taskGroups"), std::string::npos);
  EXPECT_FALSE(LegacyDatasetsFree("spec:\n  datasets: [{name: m, mountPath: /d}]\n"));
  EXPECT_FALSE(LegacyDatasetsFree("spec: {project: p}\n"));
  EXPECT_FALSE(LegacyDatasetsFree("spec: [unclosed\n"));
}

// The data dir holds a schema-4 database (the registry's jobs.datasets column does not exist
// yet) with two jobs of the old form: 1 Pending, 2 Succeeded.
class LegacyDatasetsTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override {
    std::filesystem::create_directories(config.data_dir);
    const std::string db_path = config.data_dir + "/kumo.db";
    ASSERT_TRUE(store::Store::Open(db_path).has_value());  // creates it, then closes it
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    std::string spec = kLegacySpec;
    std::string sql =
        "ALTER TABLE jobs DROP COLUMN datasets; DROP TABLE job_service; DROP TABLE service_history;"
        "PRAGMA user_version=4;"
        "INSERT INTO users(name, admin, created_at) VALUES('ada', 0, 0), ('admin', 1, 0);"
        "INSERT INTO tokens(sha256, user, created_at) VALUES('" + Sha256Hex(kAdminToken) +
        "', 'admin', 0);"
        "INSERT INTO projects(name, weight, guaranteed_gpu_milli, max_gpu_milli, created_at) "
        "VALUES('default', 1, 0, NULL, 0);";
    for (auto [id, phase] :
         {std::pair{1, "Pending"}, std::pair{2, "Succeeded"}, std::pair{3, "Running"}})
      sql += "INSERT INTO jobs(id, project, user, name, spec_yaml, spec_sha256, submit_dir, "
             "code_version, seed, submit_time, phase, reason, attempt, start_time) VALUES(" +
             std::to_string(id) + ", 'default', 'ada', 'old-" + std::to_string(id) + "', '" +
             spec + "', 'x', '/home/ada', '{}', 7, 100, '" + phase + "', 'Submitted', " +
             (id == 3 ? "1, 100" : "0, 0") + ");";
    // Job 3's task: its process is gone (the server was down), so the restart finds it lost.
    sql += "INSERT INTO tasks(job_id, attempt, rank, grp, replica, node, gpus, run_dir, state) "
           "VALUES(3, 1, 0, 0, 0, 'node-0', '[]', '" + config.data_dir +
           "/jobs/3/attempt-1/task-0', 'running');";
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    // The admin's token as the first start wrote it (the fixture reads it from here).
    std::ofstream(config.data_dir + "/admin.token") << kAdminToken << "\n";
  }
};

TEST_F(LegacyDatasetsTest, ServerLoadsFailsThePendingJobAndKeepsTheFinishedOne) {
  nlohmann::json pending = Call("GET", "/v1/jobs/1");
  EXPECT_EQ(pending["status"], 200) << pending.dump();
  EXPECT_EQ(pending["phase"], "Failed") << pending.dump();
  EXPECT_EQ(pending["reason"], "SpecUnsupported");
  nlohmann::json events = Call("GET", "/v1/jobs/1/events");
  bool said_why = false;
  for (const auto& e : events["items"])
    said_why = said_why || (e["reason"] == "SpecUnsupported" &&
                            e["message"].get<std::string>().find("mountPath") != std::string::npos);
  EXPECT_TRUE(said_why) << events.dump();
  // The running one is cancelled, not retried: its spec cannot start another attempt.
  nlohmann::json running;
  for (int i = 0; i < 500; ++i) {  // ~5 s at most
    running = Call("GET", "/v1/jobs/3");
    if (running["phase"] == "Cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(running["phase"], "Cancelled") << running.dump();
  nlohmann::json events_3 = Call("GET", "/v1/jobs/3/events");
  bool said_why_3 = false;
  for (const auto& e : events_3["items"])
    said_why_3 = said_why_3 || e["reason"] == "SpecUnsupported";
  EXPECT_TRUE(said_why_3) << events_3.dump();
  nlohmann::json done = Call("GET", "/v1/jobs/2");
  EXPECT_EQ(done["phase"], "Succeeded") << done.dump();
  nlohmann::json fresh = Call("POST", "/v1/jobs", R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups: [{name: main, workingDir: /tmp, command: ["true"]}]
)");
  EXPECT_EQ(fresh["status"], 201) << fresh.dump();
  EXPECT_EQ(fresh["id"], 4);
}

// The node store's collection never waits for a fetch in flight (the stager holds the lock
// shared for a whole cold fetch, and the scheduling loop collects at a job's start): it is
// skipped, and the next materialisation collects.
TEST(CollectUnused, IsSkippedWhileAFetchHoldsTheNodeStore) {
  ::kumo::testing::TempDir tmp;
  FakeClock clock(1000);
  ServerConfig config;
  config.data_dir = tmp.path();
  config.node_store_max_bytes = 1;
  ServerState state(config, clock);
  std::shared_lock<std::shared_mutex> fetching(state.node_store_mu);
  auto collected = std::async(std::launch::async, [&] { CollectUnused(state); });
  EXPECT_EQ(collected.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  fetching.unlock();
  collected.wait();
}

// At start-up the server recovers its node store. In the boot the store recorded its dataset
// trees stay (their tasks may be running: a server restart does not stop them); in another
// boot they go with the store's recovery, since one may hold a torn object's inode.
TEST(RecoverNodeStore, RemovesTheDatasetTreesOnlyInAnotherBoot) {
  ::kumo::testing::TempDir tmp;
  const std::string data = tmp.path();
  auto none = RecoverNodeStore(data);  // no store: nothing to recover, nothing made
  ASSERT_TRUE(none.has_value()) << none.error().message();
  EXPECT_FALSE(none->recovered);
  EXPECT_FALSE(std::filesystem::exists(data + "/node-store"));

  auto store = OpenNodeStore(data);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  const std::string tree = DatasetDir(data, "sha256:" + std::string(64, 'e'));
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/a.txt") << "a";
  auto same = RecoverNodeStore(data);
  ASSERT_TRUE(same.has_value());
  EXPECT_FALSE(same->recovered);
  EXPECT_TRUE(std::filesystem::exists(tree + "/a.txt"));

  std::ofstream(data + "/node-store/boot_id") << "another-boot\n";
  auto rebooted = RecoverNodeStore(data);
  ASSERT_TRUE(rebooted.has_value()) << rebooted.error().message();
  EXPECT_TRUE(rebooted->recovered);
  EXPECT_EQ(rebooted->trees_removed, 1);
  EXPECT_FALSE(std::filesystem::exists(tree));
}

}  // namespace
}  // namespace kumo::server
