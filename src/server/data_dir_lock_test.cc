#include "server/data_dir_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

TEST(DataDirLockTest, ASecondHolderIsRefusedWithTheFirstsPidUntilItReleases) {
  ::kumo::testing::TempDir tmp("kumo-lock");
  const std::string& dir = tmp.path();
  {
    auto first = DataDirLock::Acquire(dir);
    ASSERT_TRUE(first.has_value()) << first.error().message();
    // flock locks belong to the open file description: a second open conflicts even here.
    auto second = DataDirLock::Acquire(dir);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(second.error().message().find(dir), std::string::npos) << second.error().message();
    EXPECT_NE(second.error().message().find("pid " + std::to_string(getpid())), std::string::npos)
        << second.error().message();
  }
  EXPECT_TRUE(DataDirLock::Acquire(dir).has_value());  // released with the first
}

}  // namespace
}  // namespace kumo::server
