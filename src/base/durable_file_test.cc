#include "base/durable_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test/support/temp_dir.h"

namespace kumo {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(DurableFileTest, ReplacesTheFileWithExactlyTheModeWhateverTheUmaskAndLeavesNoTemp) {
  ::kumo::testing::TempDir dir("kumo-durable");
  const std::string path = dir.Path("token");
  ASSERT_TRUE(WriteFileDurably(path, "old", 0644).ok());
  mode_t old_umask = ::umask(0077);  // would strip 0644 to 0600 if open()'s mode were trusted
  Status s = WriteFileDurably(path, std::string(100000, 'x'), 0644);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Read(path), std::string(100000, 'x'));
  EXPECT_EQ(Mode(path), 0644u);
  ASSERT_TRUE(WriteFileDurably(path, "secret", 0600).ok());
  EXPECT_EQ(Mode(path), 0600u);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(DurableFileTest, AMissingDirectoryFailsAndCreatesNothing) {
  ::kumo::testing::TempDir dir("kumo-durable");
  Status s = WriteFileDurably(dir.Path("no/such/file"), "x", 0600);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(dir.Path("no/such/file")), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(dir.Path("no")));
}

}  // namespace
}  // namespace kumo
