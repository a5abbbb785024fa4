#include "cache/storage/object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>
#include <type_traits>
#include "test/support/temp_dir.h"

namespace kumo::cache {
namespace {

using ::kumo::testing::TempDir;

std::unique_ptr<ObjectStore> OpenStore(const std::string& dir, uint64_t capacity,
                                       const std::string& eviction = "s3fifo",
                                       bool verify_reads = false, uint64_t max_object_bytes = 0) {
  StoreOptions o;
  o.dir = dir;
  o.capacity_bytes = capacity;
  o.eviction = eviction;
  o.verify_reads = verify_reads;
  o.max_object_bytes = max_object_bytes;
  auto s = ObjectStore::Open(o);
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return std::move(*s);
}

Status Put(ObjectStore& s, const std::string& key, const std::string& bytes) {
  auto w = s.BeginPut("b", key, bytes.size());
  if (!w) return w.error().status();
  // In two pieces, as a socket would deliver them.
  if (StoreStatus st = (*w)->Append(std::string_view(bytes).substr(0, bytes.size() / 2)); !st.ok())
    return st.status();
  if (StoreStatus st = (*w)->Append(std::string_view(bytes).substr(bytes.size() / 2)); !st.ok())
    return st.status();
  auto info = (*w)->Commit();
  return info ? Status::Ok() : info.error();
}

std::string Read(ObjectStore& s, const std::string& key) {
  auto info = s.Get("b", key);
  if (!info) return "<miss>";
  std::string out(info->size_bytes, '\0');
  ssize_t n = pread(info->file->fd(), out.data(), out.size(),
                    static_cast<off_t>(info->file->data_offset()));
  EXPECT_EQ(n, static_cast<ssize_t>(out.size()));
  return out;
}

TEST(ObjectStore, PutGetDeleteRoundTrip) {
  TempDir d;
  auto s = OpenStore(d.path(), 1 << 20);
  ASSERT_TRUE(Put(*s, "a/b/c", "hello world").ok());
  EXPECT_EQ(Read(*s, "a/b/c"), "hello world");
  EXPECT_EQ(s->Get("b", "a/b/c")->etag, Xxh64("hello world"));
  EXPECT_EQ(s->used_bytes(), 11u);
  ASSERT_TRUE(Put(*s, "a/b/c", "replaced").ok());
  EXPECT_EQ(Read(*s, "a/b/c"), "replaced");
  EXPECT_EQ(s->used_bytes(), 8u);
  EXPECT_TRUE(s->Delete("b", "a/b/c").ok());
  EXPECT_EQ(Read(*s, "a/b/c"), "<miss>");
  EXPECT_EQ(s->Delete("b", "a/b/c").code(), StatusCode::kNotFound);
  EXPECT_EQ(s->used_bytes(), 0u);
}

TEST(ObjectStore, RestartRebuildsTheIndexAndDropsUploadsInFlight) {
  TempDir d;
  {
    auto s = OpenStore(d.path(), 1 << 20);
    ASSERT_TRUE(Put(*s, "x", "one").ok());
    ASSERT_TRUE(Put(*s, "dir/y", std::string(5000, 'y')).ok());
    auto unfinished = s->BeginPut("b", "z", 10);
    ASSERT_TRUE(unfinished.has_value());
    ASSERT_TRUE((*unfinished)->Append("12345").ok());
    // A crash mid-upload leaves a temp file behind.
    FILE* f = std::fopen((d.path() + "/tmp/leftover").c_str(), "w");
    std::fputs("partial", f);
    std::fclose(f);
  }
  auto s = OpenStore(d.path(), 1 << 20);
  EXPECT_EQ(s->object_count(), 2u);
  EXPECT_EQ(Read(*s, "x"), "one");
  EXPECT_EQ(Read(*s, "dir/y"), std::string(5000, 'y'));
  EXPECT_EQ(Read(*s, "z"), "<miss>");
  EXPECT_TRUE(std::filesystem::is_empty(d.path() + "/tmp"));
}

TEST(ObjectStore, DamagedFileIsDroppedOnOpen) {
  TempDir d;
  std::string path;
  {
    auto s = OpenStore(d.path(), 1 << 20);
    ASSERT_TRUE(Put(*s, "x", "payload").ok());
    ASSERT_TRUE(Put(*s, "y", "other").ok());
  }
  for (auto& e : std::filesystem::recursive_directory_iterator(d.path() + "/objects"))
    if (e.is_regular_file() && std::filesystem::file_size(e.path()) == 40 + 3 + 7) path = e.path();
  ASSERT_FALSE(path.empty());
  std::filesystem::resize_file(path, 44);  // torn by something outside the cache
  auto s = OpenStore(d.path(), 1 << 20);
  EXPECT_EQ(Read(*s, "x"), "<miss>");
  EXPECT_EQ(Read(*s, "y"), "other");
}

class StoreEviction : public ::testing::TestWithParam<std::string> {};

TEST_P(StoreEviction, StaysWithinCapacityAndEvicts) {
  TempDir d;
  auto s = OpenStore(d.path(), 1000, GetParam());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Put(*s, "k" + std::to_string(i), std::string(100, 'a' + i % 26)).ok());
    EXPECT_LE(s->used_bytes(), 1000u);
  }
  EXPECT_EQ(s->object_count(), 10u);
  EXPECT_EQ(s->evictions(), 40u);
  EXPECT_EQ(Read(*s, "k49"), std::string(100, 'a' + 49 % 26));
  // Evicted files are gone from disk too.
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(d.path() + "/objects"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 10u);
  // Bigger than the whole cache: refused (507), nothing evicted for it.
  auto huge = s->BeginPut("b", "huge", 1001);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(huge.error().shortage(), Shortage::kRoom);
  EXPECT_EQ(s->object_count(), 10u);
}

TEST_P(StoreEviction, HotSetSurvivesAScanOnlyWithS3Fifo) {
  TempDir d;
  auto s = OpenStore(d.path(), 100 * 10, GetParam());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(Put(*s, "hot" + std::to_string(i), std::string(10, 'h')).ok());
  for (int i = 0; i < 20; ++i) Read(*s, "hot" + std::to_string(i));
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(Put(*s, "scan" + std::to_string(i), std::string(10, 's')).ok());
  int hot = 0;
  for (int i = 0; i < 20; ++i) hot += s->Stat("b", "hot" + std::to_string(i)).has_value();
  EXPECT_EQ(hot, GetParam() == "s3fifo" ? 20 : 0);
}

INSTANTIATE_TEST_SUITE_P(Policies, StoreEviction, ::testing::Values("lru", "s3fifo"),
                         [](const auto& info) { return info.param; });

TEST(ObjectStore, MaxObjectIsAnObjectSizeShortage) {
  TempDir d;
  auto s = OpenStore(d.path(), 1000, "s3fifo", false, /*max_object_bytes=*/10);
  auto w = s->BeginPut("b", "k", 11);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(w.error().shortage(), Shortage::kObjectSize);
}

TEST(ObjectStore, ConcurrentPutsOfOneKeyLeaveOneWholeObject) {
  TempDir d;
  auto s = OpenStore(d.path(), 64 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(Put(*s, "same", std::string(100000 + t, static_cast<char>('a' + t))).ok());
    });
  for (auto& th : threads) th.join();
  std::string got = Read(*s, "same");
  ASSERT_GE(got.size(), 100000u);
  EXPECT_EQ(got, std::string(got.size(), got[0]));  // one writer's bytes, whole
  EXPECT_EQ(got.size(), 100000u + static_cast<size_t>(got[0] - 'a'));
  EXPECT_EQ(s->object_count(), 1u);
  EXPECT_EQ(s->used_bytes(), got.size());
  EXPECT_EQ(s->Get("b", "same")->etag, Xxh64(got));
  auto reopened = OpenStore(d.path() + "", 64 << 20);  // a second instance sees the same object
  EXPECT_EQ(Read(*reopened, "same"), got);
}

TEST(ObjectStore, AbandonedUploadReleasesItsReservation) {
  TempDir d;
  auto s = OpenStore(d.path(), 100);
  {
    auto w = s->BeginPut("b", "k", 100);
    ASSERT_TRUE(w.has_value());
  }
  EXPECT_TRUE(Put(*s, "k2", std::string(100, 'x')).ok());
}

bool TmpIsEmpty(const std::string& dir) { return std::filesystem::is_empty(dir + "/tmp"); }

TEST(ObjectStore, StreamingPutGrowsItsReservationAndCommitsTheExactSize) {
  TempDir d;
  auto s = OpenStore(d.path(), 64 << 20);
  auto w = s->BeginStreamingPut("b", "stream");
  ASSERT_TRUE(w.has_value());
  std::string body;
  for (int i = 0; body.size() < 3 * ObjectStore::kReserveStepBytes; ++i)  // several reserve steps
    body += std::string(100000 + i, static_cast<char>('a' + i % 26));
  for (size_t off = 0; off < body.size(); off += 65536)
    ASSERT_TRUE((*w)->Append(std::string_view(body).substr(off, 65536)).ok());
  EXPECT_EQ((*w)->written_bytes(), body.size());
  EXPECT_EQ((*w)->remaining_bytes(), 0u);
  auto info = (*w)->Commit();
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->size_bytes, body.size());
  EXPECT_EQ(info->etag, Xxh64(body));
  EXPECT_EQ(s->used_bytes(), body.size());
  w->reset();
  EXPECT_EQ(Read(*s, "stream"), body);
  // The preallocated tail was cut off: a restart finds a well-formed file of the exact size.
  s.reset();
  auto reopened = OpenStore(d.path(), 64 << 20);
  EXPECT_EQ(Read(*reopened, "stream"), body);
  EXPECT_EQ(reopened->used_bytes(), body.size());
}

TEST(ObjectStore, StreamingPutOverMaxObjectFailsAndLeavesNothing) {
  TempDir d;
  auto s = OpenStore(d.path(), 2000, "s3fifo", false, /*max_object_bytes=*/1000);
  {
    auto w = s->BeginStreamingPut("b", "k");
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->Append(std::string(600, 'x')).ok());
    StoreStatus st = (*w)->Append(std::string(401, 'x'));
    EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(st.shortage(), Shortage::kObjectSize);
    EXPECT_NE(st.message().find("--max-object"), std::string::npos);
  }
  EXPECT_FALSE(s->Stat("b", "k").has_value());
  EXPECT_TRUE(TmpIsEmpty(d.path()));
  EXPECT_EQ(s->used_bytes(), 0u);
  // Its reservation (a step, capped at max_object: 1000) is gone: two more fit again.
  auto w = s->BeginPut("b", "one", 1000);
  ASSERT_TRUE(w.has_value());
  EXPECT_TRUE(s->BeginPut("b", "two", 1000).has_value());
}

// A StoreStatus is not a Status either way: passed where a Status is wanted it would lose its
// shortage (and a 413 would be answered 507); a plain Status becomes one only when written out.
TEST(ObjectStore, StoreStatusDoesNotSliceIntoAStatus) {
  EXPECT_FALSE((std::is_convertible_v<StoreStatus, Status>));
  EXPECT_FALSE((std::is_convertible_v<const StoreStatus&, const Status&>));
  EXPECT_FALSE((std::is_convertible_v<Status, StoreStatus>));
  StoreStatus too_large = StoreStatus::ObjectTooLarge("over");
  EXPECT_EQ(too_large.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(too_large.shortage(), Shortage::kObjectSize);
  EXPECT_EQ(StoreStatus(Status::NotFound("x")).shortage(), Shortage::kNone);
}

TEST(ObjectStore, StreamingPutThatCannotFitIsShortOfRoomAndEvictsWhatItCan) {
  TempDir d;
  auto s = OpenStore(d.path(), 1000, "lru");
  ASSERT_TRUE(Put(*s, "old", std::string(300, 'o')).ok());
  auto held = s->BeginPut("b", "held", 600);  // an upload in progress holds 600
  ASSERT_TRUE(held.has_value());
  auto w = s->BeginStreamingPut("b", "k");
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->Append(std::string(350, 'x')).ok());  // fits only by evicting "old"
  EXPECT_FALSE(s->Stat("b", "old").has_value());
  StoreStatus st = (*w)->Append(std::string(100, 'x'));  // 450 + 600 > 1000: nothing to evict
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.shortage(), Shortage::kRoom);
  w->reset();
  EXPECT_FALSE(s->Stat("b", "k").has_value());
  held->reset();
  EXPECT_TRUE(TmpIsEmpty(d.path()));
  EXPECT_TRUE(s->BeginPut("b", "all", 1000).has_value());  // every reservation was released
}

// Flips one bit of byte `at` of the object's bytes in its file on disk (what bit rot does).
void FlipStoredByte(const std::string& dir, const std::string& name, uint64_t at) {
  std::string hex = Hex64(Xxh64(name));
  std::string path = dir + "/objects/" + hex.substr(0, 2) + "/" + hex;
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  off_t off = static_cast<off_t>(40 + name.size() + at);
  char c;
  ASSERT_EQ(pread(fd, &c, 1, off), 1);
  c ^= 0x10;
  ASSERT_EQ(pwrite(fd, &c, 1, off), 1);
  close(fd);
}

bool StoredFileExists(const std::string& dir, const std::string& name) {
  std::string hex = Hex64(Xxh64(name));
  return std::filesystem::exists(dir + "/objects/" + hex.substr(0, 2) + "/" + hex);
}

TEST(ObjectStore, VerifiedReadRemovesACorruptObjectAndCountsIt) {
  TempDir d;
  auto s = OpenStore(d.path(), 1 << 20, "s3fifo", /*verify_reads=*/true);
  std::string body(3000, 'v');
  ASSERT_TRUE(Put(*s, "rot", body).ok());
  ASSERT_TRUE(Put(*s, "fine", body).ok());
  FlipStoredByte(d.path(), "b/rot", 1234);
  EXPECT_EQ(Read(*s, "rot"), "<miss>");
  EXPECT_EQ(s->corrupt_objects(), 1u);
  EXPECT_FALSE(StoredFileExists(d.path(), "b/rot"));
  EXPECT_EQ(s->object_count(), 1u);
  EXPECT_EQ(s->used_bytes(), body.size());
  EXPECT_EQ(Read(*s, "fine"), body);
  EXPECT_EQ(s->corrupt_objects(), 1u);
}

TEST(ObjectStore, VerificationHappensOncePerEntryAndAgainAfterRestart) {
  TempDir d;
  std::string body(200000, 'x');
  {
    auto s = OpenStore(d.path(), 1 << 20, "s3fifo", true);
    ASSERT_TRUE(Put(*s, "k", body).ok());
    EXPECT_EQ(Read(*s, "k"), body);  // verified now
    // Damage after verification is not seen by this process (reads stay zero-copy)...
    FlipStoredByte(d.path(), "b/k", 0);
    EXPECT_NE(Read(*s, "k"), "<miss>");
    EXPECT_EQ(s->corrupt_objects(), 0u);
  }
  // ...but a restart rebuilds the index unverified, and the first read catches it.
  auto s = OpenStore(d.path(), 1 << 20, "s3fifo", true);
  EXPECT_EQ(s->object_count(), 1u);
  EXPECT_TRUE(s->Stat("b", "k").has_value());  // HEAD does not read the bytes
  EXPECT_EQ(Read(*s, "k"), "<miss>");
  EXPECT_EQ(s->corrupt_objects(), 1u);
  EXPECT_EQ(s->object_count(), 0u);
  EXPECT_FALSE(StoredFileExists(d.path(), "b/k"));
}

TEST(ObjectStore, WithoutVerifyReadsACorruptObjectIsServedAsStored) {
  TempDir d;
  auto s = OpenStore(d.path(), 1 << 20);
  ASSERT_TRUE(Put(*s, "k", "abcdef").ok());
  FlipStoredByte(d.path(), "b/k", 0);
  EXPECT_EQ(Read(*s, "k"), "qbcdef");
  EXPECT_EQ(s->corrupt_objects(), 0u);
}

}  // namespace
}  // namespace kumo::cache

namespace kumo::cache {
namespace {

// Issue #12: the cache's files are its tenants' data. Owner-only whatever the umask, and a
// directory an older version made 0755 is tightened on open.
TEST(ObjectStore, DirectoriesAre0700AndObjects0600UnderUmaskZero) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  std::filesystem::create_directories(dir + "/objects");
  chmod((dir + "/objects").c_str(), 0755);
  mode_t old = umask(0);
  {
    auto store = OpenStore(dir, 1 << 20);
    EXPECT_TRUE(Put(*store, "k", "bytes").ok());
  }
  umask(old);
  int objects = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    struct stat st;
    ASSERT_EQ(lstat(e.path().c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0700u) << e.path();
    } else {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << e.path();
      ++objects;
    }
  }
  EXPECT_GE(objects, 1);
  struct stat root;
  ASSERT_EQ(stat(dir.c_str(), &root), 0);
  EXPECT_EQ(root.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace kumo::cache
