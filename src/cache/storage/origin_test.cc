#include "cache/storage/origin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

TEST(Origin, CopiesAMissIntoTheStoreOnce) {
  Dirs d;
  std::string body(300000, 'o');
  d.Write("data/train/a.bin", body);
  auto store = OpenCache(d.cache, 1 << 20);
  auto origin = std::move(*Origin::Open(d.origin));
  ASSERT_TRUE(origin->Fetch("data", "train/a.bin", store.get()).ok());
  EXPECT_EQ(Contents(*store, "train/a.bin"), body);
  EXPECT_EQ(store->Get("data", "train/a.bin")->etag, Xxh64(body));
  EXPECT_TRUE(origin->Fetch("data", "train/a.bin", store.get()).ok());  // already cached
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
    StoreStatus s = origin->Fetch(bucket, key, store.get());
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << bucket << "/" << key;
    EXPECT_FALSE(store->Stat(bucket, key).has_value());
  }
  EXPECT_EQ(origin->fetches(), 0u);
  EXPECT_EQ(origin->errors(), 0u);
  EXPECT_TRUE(origin->Fetch("data", "dir/inside.bin", store.get()).ok());
  EXPECT_FALSE(Origin::Open(d.root + "/missing").has_value());
}

TEST(Origin, CopiesCountAgainstCapacityAndEvict) {
  Dirs d;
  for (int i = 0; i < 5; ++i) d.Write("data/f" + std::to_string(i), std::string(4000, 'a' + i));
  d.Write("data/huge", std::string(20000, 'h'));
  auto store = OpenCache(d.cache, 10000);
  auto origin = std::move(*Origin::Open(d.origin));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(origin->Fetch("data", "f" + std::to_string(i), store.get()).ok());
  EXPECT_LE(store->used_bytes(), 10000u);
  EXPECT_GE(store->evictions(), 3u);
  EXPECT_EQ(Contents(*store, "f4"), std::string(4000, 'e'));
  StoreStatus huge = origin->Fetch("data", "huge", store.get());
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
      if (origin->Fetch("data", "shared.bin", store.get()).ok()) ok.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(origin->fetches(), 1u);  // waiters took the first copy, latecomers found it cached
  EXPECT_EQ(store->object_count(), 1u);
  EXPECT_EQ(Contents(*store, "shared.bin"), body);
}

}  // namespace
}  // namespace kumo::cache
