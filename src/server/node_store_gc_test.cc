// The node store's collection on a real directory tree (temp dir): objects, trees of hard
// links to them, mtimes for recency. The example of node_store_gc.h, in kilobytes.
#include "server/node_store_gc.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

namespace fs = std::filesystem;

class NodeStoreGcTest : public ::testing::Test {
 protected:
  // An object of `kib` KiB named after `tag` (a stand-in for its sha256).
  std::string Object(const std::string& tag, int kib) {
    std::string sha = std::string(62, '0') + tag;
    fs::path p = fs::path(data_) / "node-store/objects" / sha.substr(0, 2) / sha;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << std::string(static_cast<size_t>(kib) * 1024, 'x');
    ::chmod(p.c_str(), 0444);
    return p.string();
  }
  // Tree `name` (a 64-hex digest made of one letter) linking `objects`, used `age_s` ago;
  // sealed read-only as job_datasets.cc leaves it.
  std::string Tree(char name, const std::vector<std::string>& objects, int age_s) {
    fs::path t = fs::path(data_) / "datasets" / std::string(64, name);
    fs::create_directories(t / "sub");
    for (size_t i = 0; i < objects.size(); ++i)
      fs::create_hard_link(objects[i], t / "sub" / ("f" + std::to_string(i)));
    ::chmod((t / "sub").c_str(), 0555);
    ::chmod(t.c_str(), 0555);
    timespec times[2] = {{time(nullptr) - age_s, 0}, {time(nullptr) - age_s, 0}};
    EXPECT_EQ(::utimensat(AT_FDCWD, t.c_str(), times, 0), 0);
    return std::string(64, name);
  }
  bool Has(char tree) { return fs::exists(fs::path(data_) / "datasets" / std::string(64, tree)); }

  ::kumo::testing::TempDir dir_;
  std::string data_ = dir_.Path("data");
};

// A 60 KiB (3 days), B 50 KiB (1 day; 10 KiB shared with A), C 40 KiB (in use): 140 KiB.
TEST_F(NodeStoreGcTest, RemovesLeastRecentlyUsedUnusedTreesUntilUnderTheCap) {
  std::string shared = Object("ab", 10), a = Object("aa", 50), b = Object("bb", 40),
              c = Object("cc", 40);
  Tree('a', {a, shared}, 3 * 86400);
  Tree('b', {b, shared}, 86400);
  std::string in_use = Tree('c', {c}, 7 * 86400);  // oldest, but a live job reads it
  auto u = CollectNodeStore(data_, 100 * 1024, {in_use});
  ASSERT_TRUE(u.has_value()) << u.error().message();
  EXPECT_EQ(u->bytes_before, 140 * 1024);
  EXPECT_EQ(u->bytes_after, 90 * 1024);
  EXPECT_EQ(u->trees_removed, 1);
  EXPECT_EQ(u->objects_removed, 1);  // a's own object; the shared one stays with B
  EXPECT_FALSE(Has('a'));
  EXPECT_TRUE(Has('b'));
  EXPECT_TRUE(Has('c'));
  EXPECT_FALSE(fs::exists(a));
  EXPECT_TRUE(fs::exists(shared));

  // Under the cap: nothing moves.
  u = CollectNodeStore(data_, 100 * 1024, {in_use});
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->trees_removed, 0);
  EXPECT_EQ(u->bytes_after, 90 * 1024);

  // A cap only the tree in use exceeds: every other tree goes, that one stays.
  u = CollectNodeStore(data_, 1, {in_use});
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->trees_removed, 1);
  EXPECT_EQ(u->objects_removed, 2);
  EXPECT_EQ(u->bytes_after, 40 * 1024);
  EXPECT_TRUE(Has('c'));
  EXPECT_TRUE(fs::exists(c));
}

TEST_F(NodeStoreGcTest, AnEmptyDataDirIsNothingToDo) {
  auto u = CollectNodeStore(data_, 1, {});
  ASSERT_TRUE(u.has_value()) << u.error().message();
  EXPECT_EQ(u->bytes_before, 0);
  EXPECT_EQ(u->trees_removed, 0);
}

}  // namespace
}  // namespace kumo::server
