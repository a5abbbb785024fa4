#include "server/checkpoint_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "test/support/file_times.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {
namespace fs = std::filesystem;

using ::kumo::testing::SetModifiedTime;

class CheckpointWatchTest : public ::testing::Test {
 protected:
  ::kumo::testing::TempDir tmp_;
  const std::string dir_ = tmp_.Path("checkpoint");
};

TEST_F(CheckpointWatchTest, TheNewestRegularFileAtAnyDepth) {
  EXPECT_FALSE(NewestFileTime(dir_).has_value());  // no dir: never saved
  fs::create_directories(dir_ + "/step-2");
  EXPECT_FALSE(NewestFileTime(dir_).has_value());  // dirs alone are not a save
  tmp_.Write("checkpoint/step-1.pt", "x");
  tmp_.Write("checkpoint/step-2/shard-0.pt", "x");
  SetModifiedTime(dir_ + "/step-1.pt", 1000);
  SetModifiedTime(dir_ + "/step-2/shard-0.pt", 2000);
  SetModifiedTime(dir_ + "/step-2", 5000);  // a dir's own time does not count
  EXPECT_EQ(NewestFileTime(dir_), 2000);
}

TEST_F(CheckpointWatchTest, LinksAreNotFollowed) {
  fs::create_directories(dir_);
  const std::string outside = tmp_.Write("outside.pt", "x");
  SetModifiedTime(outside, 9000);
  fs::create_symlink(outside, dir_ + "/latest.pt");
  fs::create_directory_symlink(tmp_.path(), dir_ + "/up");
  EXPECT_FALSE(NewestFileTime(dir_).has_value());
}

TEST_F(CheckpointWatchTest, AWalkStopsAfterMaxEntries) {
  fs::create_directories(dir_);
  for (int i = 0; i < 10; ++i) SetModifiedTime(tmp_.Write("checkpoint/f" + std::to_string(i), "x"), 100 + i);
  EXPECT_EQ(NewestFileTime(dir_), 109);
  const std::optional<double> some = NewestFileTime(dir_, 3);
  ASSERT_TRUE(some.has_value());
  EXPECT_LE(*some, 109);
  EXPECT_FALSE(NewestFileTime(dir_, 0).has_value());
}

// Walks `watch`'s due dirs at `now` as the loop does (with its lock released).
void WalkDue(CheckpointWatch& watch, double now) {
  std::vector<CheckpointWatch::Walk> walks = watch.Due(now);
  for (CheckpointWatch::Walk& w : walks) w.newest = NewestFileTime(w.dir).value_or(-1);
  watch.Record(walks, now);
}

TEST_F(CheckpointWatchTest, RescansAtMostEveryFewSeconds) {
  fs::create_directories(dir_);
  CheckpointWatch watch;
  watch.Track({{7, dir_}});
  EXPECT_EQ(watch.Due(1000).size(), 1u);  // never walked: due at once
  WalkDue(watch, 1000);
  EXPECT_EQ(watch.LastWrite(7), -1);
  SetModifiedTime(tmp_.Write("checkpoint/a.pt", "x"), 1001);
  EXPECT_TRUE(watch.Due(1002).empty());
  EXPECT_EQ(watch.LastWrite(7), -1);  // seen at the next rescan
  WalkDue(watch, 1000 + CheckpointWatch::kRescanSeconds);
  EXPECT_EQ(watch.LastWrite(7), 1001);
  EXPECT_EQ(watch.Due(990).size(), 1u);  // the clock went back: walked again
}

TEST_F(CheckpointWatchTest, AJobNoLongerTrackedIsForgottenAndItsLateWalkIgnored) {
  fs::create_directories(dir_);
  SetModifiedTime(tmp_.Write("checkpoint/a.pt", "x"), 1001);
  CheckpointWatch watch;
  watch.Track({{7, dir_}});
  std::vector<CheckpointWatch::Walk> walks = watch.Due(1002);
  for (CheckpointWatch::Walk& w : walks) w.newest = NewestFileTime(w.dir).value_or(-1);
  watch.Track({});  // the job stopped while its dir was walked
  watch.Record(walks, 1002);
  EXPECT_EQ(watch.LastWrite(7), -1);
  EXPECT_TRUE(watch.Due(1003).empty());
  watch.Track({{7, dir_}});  // running again: walked at once
  WalkDue(watch, 1003);
  EXPECT_EQ(watch.LastWrite(7), 1001);
  EXPECT_EQ(watch.LastWrite(8), -1);  // never tracked
}

}  // namespace
}  // namespace kumo::server
