// NodeStore on a real directory (temp dir): the fan-out made at Open, temp names, adoption,
// links, and recovery in another boot (a boot id file the test rewrites stands for a reboot).
#include "client/node_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "base/sha256.h"
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

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
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

TEST(NodeStoreTest, LinkingAMissingObjectIsNotFound) {
  testing::TempDir dir;
  auto store = NodeStore::Open(dir.Path("store"));
  ASSERT_TRUE(store.has_value());
  Status missing = store->LinkTo(kSha, dir.Path("x.bin"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.message();
  EXPECT_FALSE(fs::exists(dir.Path("x.bin")));
}

// A store whose boot id the test controls, with DIR/trees as its linked trees.
class NodeStoreRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Boot("boot-a");
    options_.boot_id_path = dir_.Path("boot_id");
    options_.linked_trees = {dir_.Path("trees")};
    fs::create_directories(dir_.Path("trees"));
  }
  void Boot(const std::string& id) { std::ofstream(dir_.Path("boot_id")) << id << "\n"; }
  Result<NodeStore> Open() { return NodeStore::Open(dir_.Path("store"), options_); }
  // Adopts `text` under its real SHA-256 and returns that name.
  std::string Put(NodeStore& store, const std::string& text) {
    std::string tmp = store.TempPath();
    WriteReadOnly(tmp, text);
    std::string sha = Sha256Hex(text);
    EXPECT_TRUE(store.Adopt(tmp, sha).ok());
    return sha;
  }
  // What a crash can leave: other bytes (same size) under the object's name.
  void Tear(const std::string& path) {
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1);
    f.put('\0');
    f.close();
    ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  }

  testing::TempDir dir_;
  NodeStore::Options options_;
};

TEST_F(NodeStoreRecoveryTest, AnotherBootDropsTornObjectsTempsAndLinkedTrees) {
  auto store = Open();
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_TRUE(store->recovery().recovered);  // no record yet: a new store records this boot
  EXPECT_EQ(Contents(dir_.Path("store/boot_id")), "boot-a\n");
  std::string good = Put(*store, "good bytes"), torn = Put(*store, "torn bytes");
  fs::create_directories(dir_.Path("trees/v1"));
  ASSERT_TRUE(store->LinkTo(good, dir_.Path("trees/v1/good.bin")).ok());
  ASSERT_TRUE(store->LinkTo(torn, dir_.Path("trees/v1/torn.bin")).ok());
  ASSERT_EQ(::chmod(dir_.Path("trees/v1").c_str(), 0555), 0);  // sealed, as the server does
  Tear(store->PathOf(torn));
  std::ofstream(store->TempPath()) << "a download the crash interrupted";

  // The same boot: the store trusts its names, nothing is read.
  auto same = Open();
  ASSERT_TRUE(same.has_value());
  EXPECT_FALSE(same->recovery().recovered);
  EXPECT_EQ(same->recovery().objects_hashed, 0);
  EXPECT_TRUE(same->Has(torn, 10));

  Boot("boot-b");
  auto rebooted = Open();
  ASSERT_TRUE(rebooted.has_value()) << rebooted.error().message();
  const NodeStore::Recovery& r = rebooted->recovery();
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.objects_hashed, 2);
  EXPECT_EQ(r.objects_dropped, 1);
  EXPECT_EQ(r.temps_removed, 1);
  EXPECT_EQ(r.trees_removed, 1);
  EXPECT_TRUE(rebooted->Has(good, 10));
  EXPECT_FALSE(rebooted->Has(torn, 10));  // so a pull fetches it again
  EXPECT_FALSE(fs::exists(dir_.Path("trees/v1")));  // it held the torn inode
  EXPECT_TRUE(fs::is_empty(dir_.Path("store/tmp")));
  EXPECT_EQ(Contents(dir_.Path("store/boot_id")), "boot-b\n");

  auto again = Open();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->recovery().recovered);
  EXPECT_EQ(again->recovery().objects_hashed, 0);
}

// A store without a record (new, or written by a version that synced every pull) has its
// objects checked, but its trees stay: their tasks may be running in this very boot.
TEST_F(NodeStoreRecoveryTest, WithNoRecordObjectsAreCheckedAndLinkedTreesStay) {
  auto store = Open();
  ASSERT_TRUE(store.has_value());
  std::string sha = Put(*store, "some bytes");
  fs::create_directories(dir_.Path("trees/v1"));
  ASSERT_TRUE(store->LinkTo(sha, dir_.Path("trees/v1/a.bin")).ok());
  std::ofstream(dir_.Path("store/objects/cd/not-an-object")) << "stray";
  ASSERT_TRUE(fs::remove(dir_.Path("store/boot_id")));

  auto reopened = Open();
  ASSERT_TRUE(reopened.has_value());
  EXPECT_TRUE(reopened->recovery().recovered);
  EXPECT_EQ(reopened->recovery().objects_hashed, 1);
  EXPECT_EQ(reopened->recovery().objects_dropped, 1);  // the stray name
  EXPECT_EQ(reopened->recovery().trees_removed, 0);
  EXPECT_TRUE(fs::exists(dir_.Path("trees/v1/a.bin")));
  EXPECT_TRUE(reopened->Has(sha, 10));
  EXPECT_FALSE(fs::exists(dir_.Path("store/objects/cd/not-an-object")));
}

TEST_F(NodeStoreRecoveryTest, AnUnreadableBootIdIsAnIoErrorNamingIt) {
  options_.boot_id_path = dir_.Path("no-such-boot-id");
  auto store = Open();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kIoError);
  EXPECT_NE(store.error().message().find("no-such-boot-id"), std::string::npos)
      << store.error().message();
}

}  // namespace
}  // namespace kumo::client
