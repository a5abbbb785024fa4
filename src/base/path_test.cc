#include "base/path.h"

#include <gtest/gtest.h>

#include <string>

namespace kumo {
namespace {

TEST(IsCleanAbsolutePath, AcceptsPlainAbsolutePaths) {
  EXPECT_TRUE(IsCleanAbsolutePath("/a"));
  EXPECT_TRUE(IsCleanAbsolutePath("/var/lib/kumo/jobs/7/code"));
  EXPECT_TRUE(IsCleanAbsolutePath("/a/..b/c.d/...")); // dots inside a name are a name
}

TEST(IsCleanAbsolutePath, RefusesWhatCouldNameSomethingElse) {
  for (const char* bad : {"", "/", "a/b", "/a/../b", "/a/..", "/..", "/a/./b", "/a/.", "/a//b",
                          "/a/", "//a"})
    EXPECT_FALSE(IsCleanAbsolutePath(bad)) << bad;
  EXPECT_FALSE(IsCleanAbsolutePath(std::string("/a\0b", 4)));
}

TEST(IsAtOrBeneath, ComparesWholeComponents) {
  EXPECT_TRUE(IsAtOrBeneath("/data/jobs/7", "/data"));
  EXPECT_TRUE(IsAtOrBeneath("/data", "/data"));
  EXPECT_FALSE(IsAtOrBeneath("/database", "/data"));
  EXPECT_FALSE(IsAtOrBeneath("/dat", "/data"));
}

}  // namespace
}  // namespace kumo
