#include "server/checkpoint_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

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

TEST_F(CheckpointWatchTest, RescansAtMostEveryFewSeconds) {
  fs::create_directories(dir_);
  CheckpointWatch watch;
  EXPECT_EQ(watch.LastWrite(7, dir_, 1000), -1);
  SetModifiedTime(tmp_.Write("checkpoint/a.pt", "x"), 1001);
  EXPECT_EQ(watch.LastWrite(7, dir_, 1002), -1);  // seen at the next rescan
  EXPECT_EQ(watch.LastWrite(7, dir_, 1000 + CheckpointWatch::kRescanSeconds), 1001);
  watch.Forget(7);
  SetModifiedTime(dir_ + "/a.pt", 1006);
  EXPECT_EQ(watch.LastWrite(7, dir_, 1006), 1006);  // forgotten: walked again at once
}

}  // namespace
}  // namespace kumo::server
