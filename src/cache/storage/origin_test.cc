#include "cache/storage/origin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>
#include "test/support/temp_dir.h"

namespace kumo::cache {
namespace {

namespace fs = std::filesystem;

struct Dirs {
  ::kumo::testing::TempDir tmp{"kumo-cache-origin"};
  std::string root = tmp.path(), origin, cache;
  Dirs() {
    origin = root + "/origin";
    cache = root + "/cache";
    fs::create_directories(origin + "/data");
  }
  void Write(const std::string& rel, const std::string& bytes) const {
    fs::create_directories(fs::path(origin + "/" + rel).parent_path());
    std::ofstream(origin + "/" + rel, std::ios::binary) << bytes;
  }
};

std::unique_ptr<ObjectStore> OpenCache(const std::string& dir, uint64_t capacity) {
  StoreOptions o;
  o.dir = dir;
  o.capacity_bytes = capacity;
  return std::move(*ObjectStore::Open(o));
}

std::string Contents(ObjectStore& s, const std::string& key) {
  auto info = s.Get("data", key);
  if (!info) return "<miss>";
  std::string out(info->size_bytes, '\0');
  EXPECT_EQ(pread(info->file->fd(), out.data(), out.size(),
                  static_cast<off_t>(info->file->data_offset())),
            static_cast<ssize_t>(out.size()));
  return out;
}

// Fill, waited for: what a parked connection eventually gets.
StoreStatus FillNow(Origin& origin, const std::string& bucket, const std::string& key,
                    ObjectStore* store) {
  std::promise<StoreStatus> landed;
  origin.Fill(bucket, key, store, [&](const StoreStatus& s) { landed.set_value(s); });
  return landed.get_future().get();
}

// A copy held at its start until Release (a slow origin), and how many copies started.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int started = 0;
  void Hold(const std::string&) {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(Origin, CopiesAMissIntoTheStoreOnce) {
  Dirs d;
  std::string body(300000, 'o');
  d.Write("data/train/a.bin", body);
  auto store = OpenCache(d.cache, 1 << 20);
  auto origin = std::move(*Origin::Open(d.origin));
  ASSERT_TRUE(FillNow(*origin, "data", "train/a.bin", store.get()).ok());
  EXPECT_EQ(Contents(*store, "train/a.bin"), body);
  EXPECT_EQ(store->Get("data", "train/a.bin")->etag, Xxh64(body));
  EXPECT_TRUE(FillNow(*origin, "data", "train/a.bin", store.get()).ok());  // already cached
  EXPECT_EQ(origin->fetches(), 1u);
  EXPECT_EQ(origin->fetched_bytes(), body.size());
  EXPECT_TRUE(fs::is_empty(d.cache + "/tmp"));
}

TEST(Origin, MissingDirectoriesAndSymlinksAreNotFound) {
  Dirs d;
  d.Write("data/dir/inside.bin", "inside");
  std::ofstream(d.root + "/secret") << "outside the origin";
  fs::create_directories(d.root + "/elsewhere");
  std::ofstream(d.root + "/elsewhere/file") << "outside too";
  fs::create_symlink(d.root + "/secret", d.origin + "/data/leaf-link");
  fs::create_symlink(d.root + "/elsewhere", d.origin + "/data/dir-link");
  fs::create_symlink("dir/inside.bin", d.origin + "/data/inner-link");  // inside, still refused
  fs::create_symlink(d.root, d.origin + "/bucket-link");
  auto store = OpenCache(d.cache, 1 << 20);
  auto origin = std::move(*Origin::Open(d.origin));
  for (auto [bucket, key] : std::vector<std::pair<std::string, std::string>>{
           {"data", "nope"},
           {"data", "dir"},  // a directory, not a regular file
           {"data", "dir/inside.bin/x"},
           {"data", "leaf-link"},
           {"data", "dir-link/file"},
           {"data", "inner-link"},
           {"bucket-link", "secret"},
           {"nobucket", "x"},
           {"data", "dir/../dir/inside.bin"},  // names are re-validated before any open
           {"..", "origin/data/dir/inside.bin"}}) {
    StoreStatus s = FillNow(*origin, bucket, key, store.get());
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << bucket << "/" << key;
    EXPECT_FALSE(store->Stat(bucket, key).has_value());
  }
  EXPECT_EQ(origin->fetches(), 0u);
  EXPECT_EQ(origin->errors(), 0u);
  EXPECT_TRUE(FillNow(*origin, "data", "dir/inside.bin", store.get()).ok());
  EXPECT_FALSE(Origin::Open(d.root + "/missing").has_value());
}

TEST(Origin, CopiesCountAgainstCapacityAndEvict) {
  Dirs d;
  for (int i = 0; i < 5; ++i) d.Write("data/f" + std::to_string(i), std::string(4000, 'a' + i));
  d.Write("data/huge", std::string(20000, 'h'));
  auto store = OpenCache(d.cache, 10000);
  auto origin = std::move(*Origin::Open(d.origin));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(FillNow(*origin, "data", "f" + std::to_string(i), store.get()).ok());
  EXPECT_LE(store->used_bytes(), 10000u);
  EXPECT_GE(store->evictions(), 3u);
  EXPECT_EQ(Contents(*store, "f4"), std::string(4000, 'e'));
  StoreStatus huge = FillNow(*origin, "data", "huge", store.get());
  EXPECT_EQ(huge.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(huge.shortage(), Shortage::kRoom);
  EXPECT_EQ(origin->errors(), 1u);
  EXPECT_FALSE(store->Stat("data", "huge").has_value());
}

TEST(Origin, ConcurrentMissesOfOneKeyCopyOnce) {
  Dirs d;
  std::string body(8 << 20, 's');
  d.Write("data/shared.bin", body);
  auto store = OpenCache(d.cache, 64 << 20);
  auto origin = std::move(*Origin::Open(d.origin));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      if (FillNow(*origin, "data", "shared.bin", store.get()).ok()) ok.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(origin->fetches(), 1u);  // waiters took the first copy, latecomers found it cached
  EXPECT_EQ(store->object_count(), 1u);
  EXPECT_EQ(Contents(*store, "shared.bin"), body);
}

// Fill returns at once; the copy runs on a fill thread. Misses of one name that arrive while
// its copy is held all wait for that one copy; another name is copied meanwhile.
TEST(Origin, FillReturnsAtOnceAndWaitersShareTheCopyInFlight) {
  Dirs d;
  d.Write("data/slow.bin", std::string(100000, 's'));
  d.Write("data/other.bin", "other");
  auto store = OpenCache(d.cache, 1 << 20);
  Gate gate;
  OriginOptions options;
  options.fill_threads = 2;
  options.before_copy = [&](const std::string& name) {
    if (name == "data/slow.bin") gate.Hold(name);
  };
  auto origin = std::move(*Origin::Open(d.origin, options));
  std::mutex mu;
  std::vector<StoreStatus> landed;
  for (int i = 0; i < 3; ++i)
    origin->Fill("data", "slow.bin", store.get(), [&](const StoreStatus& s) {
      std::lock_guard<std::mutex> lock(mu);
      landed.push_back(s);
    });
  gate.WaitStarted(1);
  EXPECT_TRUE(FillNow(*origin, "data", "other.bin", store.get()).ok());  // not behind slow.bin
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(landed.empty());
  }
  gate.Release();
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (landed.size() == 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(landed.size(), 3u);
  for (const StoreStatus& s : landed) EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(gate.started, 1);        // one copy for three misses
  EXPECT_EQ(origin->fetches(), 2u);  // slow.bin and other.bin
}

// Every fill is answered once, also at shutdown: b is either copied (the release won the race
// with the destructor) or answered kUnavailable from the queue; it never goes unanswered.
TEST(Origin, ShutdownAnswersEveryQueuedFill) {
  Dirs d;
  d.Write("data/a", "a");
  d.Write("data/b", "b");
  auto store = OpenCache(d.cache, 1 << 20);
  Gate gate;
  OriginOptions options;
  options.fill_threads = 1;
  options.before_copy = [&](const std::string& name) { gate.Hold(name); };
  auto origin = std::move(*Origin::Open(d.origin, options));
  std::promise<StoreStatus> a, b;
  origin->Fill("data", "a", store.get(), [&](const StoreStatus& s) { a.set_value(s); });
  gate.WaitStarted(1);  // a is being copied; b waits in the queue behind it
  origin->Fill("data", "b", store.get(), [&](const StoreStatus& s) { b.set_value(s); });
  std::thread stop([&] { origin.reset(); });
  gate.Release();
  stop.join();
  EXPECT_TRUE(a.get_future().get().ok());
  StatusCode code = b.get_future().get().code();
  EXPECT_TRUE(code == StatusCode::kOk || code == StatusCode::kUnavailable) << static_cast<int>(code);
}

}  // namespace
}  // namespace kumo::cache
