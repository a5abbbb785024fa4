// The collector's mark is every job's snapshot digest: a job's code survives any number of
// collections (kumo rerun reads it); an upload no job names goes once the grace has passed.
#include "server/snapshot_collector.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/clock.h"
#include "base/sha256.h"
#include "server/server_state.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

api::DatasetManifest Upload(SnapshotStore& store, const std::string& text) {
  const std::string sha = Sha256Hex(text);
  EXPECT_TRUE(store.PutBlob("ann", sha, text).ok());
  api::DatasetManifest m =
      api::ParseManifest({{"files", {{{"path", "train.py"}, {"size", text.size()}, {"sha256", sha}}}}})
          .value();
  EXPECT_TRUE(store.Record("ann", m).ok());
  return m;
}

void AgeTree(const std::string& dir) {
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    std::filesystem::last_write_time(e.path(), old);
}

TEST(SnapshotCollector, KeepsEveryJobsSnapshotAndRemovesOldUnnamedOnes) {
  ::kumo::testing::TempDir tmp;
  FakeClock clock(1000);
  ServerConfig config;
  config.data_dir = tmp.path();
  ServerState state(config, clock);
  state.snapshots = std::make_unique<SnapshotStore>(tmp.Path("snapshots"), 1 << 20);
  std::filesystem::create_directories(tmp.Path("jobs/.staged-42"));
  api::DatasetManifest ran = Upload(*state.snapshots, "print('ran')");
  api::DatasetManifest refused = Upload(*state.snapshots, "print('refused')");
  state.jobs[1].code_version = {{"snapshot", ran.Digest()}, {"submitDir", "/home/a/proj"}};
  state.jobs[2].code_version = {{"commit", "abc"}};  // submitted with --no-snapshot
  AgeTree(tmp.path());

  SnapshotCollector collector(state, std::chrono::hours(1), std::chrono::hours(1));
  auto swept = collector.CollectOnce();
  ASSERT_TRUE(swept.has_value()) << swept.error().message();
  EXPECT_EQ(swept->manifests_removed, 1);
  EXPECT_EQ(swept->blobs_removed, 1);
  EXPECT_EQ(swept->leftovers_removed, 1);  // the staged tree of a submission cut short
  EXPECT_TRUE(state.snapshots->Get(ran.Digest()).has_value());
  EXPECT_EQ(state.snapshots->Get(refused.Digest()).error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(tmp.Path("jobs/.staged-42")));
  // Again: nothing more to take, the job's snapshot still whole.
  swept = collector.CollectOnce();
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(swept->manifests_removed + swept->blobs_removed + swept->leftovers_removed, 0);
  EXPECT_TRUE(state.snapshots->Extract(ran.Digest(), tmp.Path("again")).ok());
}

}  // namespace
}  // namespace kumo::server
