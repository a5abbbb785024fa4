// TaskFile against what a task can leave in its output dir for the root server to open: links
// to files it may not read, a directory of the path made a link, a FIFO with no writer.
#include "server/task_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "server/result_metrics.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {
namespace fs = std::filesystem;

TEST(TaskFile, ReadsARegularFileFromAnOffset) {
  ::kumo::testing::TempDir dir;
  fs::create_directories(dir.Path("out"));
  dir.Write("out/model.txt", "0123456789");
  auto f = TaskFile::Open(dir.Path("out"), "model.txt");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->size_bytes(), 10u);
  EXPECT_EQ(f->Read(4, 3).value(), "456");
  EXPECT_EQ(f->Read(8, 100).value(), "89");  // fewer at the end
  EXPECT_TRUE(TaskFile::Open(dir.Path("out"), "/model.txt").has_value());  // relative to dir
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "missing").has_value());
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "").has_value());
}

TEST(TaskFile, FollowsNoLinkTheTaskPlanted) {
  ::kumo::testing::TempDir dir;
  fs::create_directories(dir.Path("out"));
  fs::create_directories(dir.Path("elsewhere"));
  dir.Write("secret.json", R"({"cloud_key": "root only"})");
  dir.Write("elsewhere/metrics.json", R"({"cloud_key": "root only"})");
  fs::create_symlink(dir.Path("secret.json"), dir.Path("out/metrics.json"));
  fs::create_directory_symlink(dir.Path("elsewhere"), dir.Path("out/sub"));
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "metrics.json").has_value());
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "sub/metrics.json").has_value());
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "../secret.json").has_value());
  // The Result's metrics read through it: a planted link reads as no metrics at all.
  EXPECT_TRUE(ReadMetrics(dir.Path("out")).is_null());
}

TEST(TaskFile, AFifoIsRefusedWithoutWaitingForAWriter) {
  ::kumo::testing::TempDir dir;
  fs::create_directories(dir.Path("out"));
  ASSERT_EQ(::mkfifo(dir.Path("out/p").c_str(), 0600), 0);
  EXPECT_FALSE(TaskFile::Open(dir.Path("out"), "p").has_value());  // returns: O_NONBLOCK
  ASSERT_EQ(::mkfifo(dir.Path("out/metrics.json").c_str(), 0600), 0);
  EXPECT_TRUE(ReadMetrics(dir.Path("out")).is_null());
}

// The outputs listing walks by descriptors: links (to files or to directories outside) are not
// listed, nor followed, and a directory's files are listed with its relative path.
TEST(ListTaskFiles, ListsRegularFilesAndFollowsNoLink) {
  ::kumo::testing::TempDir dir;
  fs::create_directories(dir.Path("out/ckpt/epoch-1"));
  fs::create_directories(dir.Path("other-job/output"));
  dir.Write("out/model.pt", "12345");
  dir.Write("out/ckpt/epoch-1/state", "ab");
  dir.Write("other-job/output/secret.bin", "not yours");
  fs::create_directory_symlink(dir.Path("other-job"), dir.Path("out/a"));
  fs::create_symlink(dir.Path("other-job/output/secret.bin"), dir.Path("out/link.bin"));
  ASSERT_EQ(::mkfifo(dir.Path("out/fifo").c_str(), 0600), 0);
  std::vector<TaskFileEntry> files = ListTaskFiles(dir.Path("out"));
  std::sort(files.begin(), files.end(),
            [](const TaskFileEntry& a, const TaskFileEntry& b) { return a.path < b.path; });
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "ckpt/epoch-1/state");
  EXPECT_EQ(files[0].size_bytes, 2u);
  EXPECT_EQ(files[1].path, "model.pt");
  EXPECT_EQ(files[1].size_bytes, 5u);
  EXPECT_LE(ListTaskFiles(dir.Path("out"), /*max_entries=*/1).size(), 1u);  // one entry visited
  EXPECT_TRUE(ListTaskFiles(dir.Path("missing")).empty());
}

}  // namespace
}  // namespace kumo::server
