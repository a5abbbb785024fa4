#include "server/data_dir_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace kumo::server {
namespace {

TEST(DataDirLockTest, ASecondHolderIsRefusedWithTheFirstsPidUntilItReleases) {
  char tmpl[] = "/tmp/kumo-lock-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
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
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kumo::server
