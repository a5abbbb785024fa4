// NodeStore on a real directory (temp dir): the fan-out made at Open, temp names, adoption,
// links, and Sync's error when the store is gone.
#include "client/node_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "test/support/temp_dir.h"

namespace kumo::client {
namespace {

namespace fs = std::filesystem;

const std::string kSha = "ab" + std::string(62, '1');  // stands for an object's sha256

// Writes `text` to a new read-only file at `path`, as a checked download leaves it.
void WriteReadOnly(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(NodeStoreTest, OpenMakesEveryFanOutDirectorySoAdoptingIsOneRename) {
  testing::TempDir dir;
  auto store = NodeStore::Open(dir.Path("store"));
  ASSERT_TRUE(store.has_value()) << store.error().message();
  size_t fan_out = 0;
  for (const auto& e : fs::directory_iterator(dir.Path("store/objects"))) {
    EXPECT_TRUE(e.is_directory());
    EXPECT_EQ(e.path().filename().string().size(), 2u);
    ++fan_out;
  }
  EXPECT_EQ(fan_out, 256u);
  EXPECT_TRUE(fs::is_directory(dir.Path("store/objects/ab")));
  EXPECT_TRUE(fs::is_directory(dir.Path("store/tmp")));
  EXPECT_TRUE(NodeStore::Open(dir.Path("store")).has_value());  // a second Open finds them
}

TEST(NodeStoreTest, TempPathsAreDistinctWithinAndAcrossStores) {
  testing::TempDir dir;
  auto a = NodeStore::Open(dir.Path("store"));
  auto b = NodeStore::Open(dir.Path("store"));  // another process's Open, as far as names go
  ASSERT_TRUE(a.has_value() && b.has_value());
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string pa = a->TempPath(), pb = b->TempPath();
    EXPECT_EQ(fs::path(pa).parent_path(), fs::path(dir.Path("store/tmp")));
    EXPECT_TRUE(seen.insert(pa).second) << pa;
    EXPECT_TRUE(seen.insert(pb).second) << pb;
  }
}

TEST(NodeStoreTest, AdoptedObjectsAreLinkedAndALinkElsewhereIsReplaced) {
  testing::TempDir dir;
  auto store = NodeStore::Open(dir.Path("store"));
  ASSERT_TRUE(store.has_value());
  EXPECT_FALSE(store->Has(kSha, 5));
  std::string tmp = store->TempPath();
  WriteReadOnly(tmp, "bytes");
  ASSERT_TRUE(store->Sync().ok());
  ASSERT_TRUE(store->Adopt(tmp, kSha).ok());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_TRUE(store->Has(kSha, 5));
  EXPECT_FALSE(store->Has(kSha, 6));  // another size is another object's

  std::string dest = dir.Path("tree-a.bin");
  ASSERT_TRUE(store->LinkTo(kSha, dest).ok());
  EXPECT_EQ(Inode(dest), Inode(store->PathOf(kSha)));
  EXPECT_TRUE(store->LinkTo(kSha, dest).ok());  // already the object: nothing to do
  EXPECT_EQ(fs::hard_link_count(dest), 2u);

  std::ofstream(dir.Path("tree-b.bin")) << "something else";  // a file the pull replaces
  ASSERT_TRUE(store->LinkTo(kSha, dir.Path("tree-b.bin")).ok());
  EXPECT_EQ(Inode(dir.Path("tree-b.bin")), Inode(store->PathOf(kSha)));
  EXPECT_EQ(fs::hard_link_count(dest), 3u);
}

TEST(NodeStoreTest, LinkingAMissingObjectIsNotFoundAndSyncOfAGoneStoreIsAnIoError) {
  testing::TempDir dir;
  auto store = NodeStore::Open(dir.Path("store"));
  ASSERT_TRUE(store.has_value());
  Status missing = store->LinkTo(kSha, dir.Path("x.bin"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.message();
  EXPECT_FALSE(fs::exists(dir.Path("x.bin")));

  fs::remove_all(dir.Path("store"));
  Status gone = store->Sync();
  EXPECT_EQ(gone.code(), StatusCode::kIoError);
  EXPECT_NE(gone.message().find("node store"), std::string::npos) << gone.message();
}

}  // namespace
}  // namespace kumo::client
