// A full disk under the real `kumo cache serve`: the cache directory sits on a small tmpfs
// (mounted here; we run as root in CI) so ENOSPC is real, not simulated. Checks that a full
// filesystem makes the server evict or answer 507 — never a 201 for a partial object — that
// every object it serves is intact, that temp files do not pile up, that a restart after a
// crash mid-upload indexes only whole objects, and that with --capacity below the filesystem
// size eviction alone keeps it under the capacity.
//
// Without mount privileges set KUMO_SKIP_MOUNT_TESTS=1 to skip (otherwise the test fails and
// says why). Every server is stopped by its PID; the tmpfs is unmounted in TearDown.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

namespace fs = std::filesystem;
using test_process::Metrics;
using test_process::MetricValue;
using test_process::SendAll;

using Reply = test_process::HttpReply;

// One request on its own connection ("Connection: close", read to EOF). A PUT sends its body
// only after "100 Continue", so a refusal (507) arrives before any body byte.
Reply Call(uint16_t port, const std::string& method, const std::string& key,
           const std::string& body = "") {
  Reply r;
  int fd = test_process::ConnectLoopback(port);
  if (fd < 0) return r;
  std::string req = method + " /v1/objects/data/" + key + " HTTP/1.1\r\nHost: t\r\n" +
                    "Connection: close\r\n";
  if (method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n";
  SendAll(fd, req + "\r\n");
  std::string in;
  char buf[65536];
  if (method == "PUT") {  // wait for 100 Continue or the final answer
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    if (in.starts_with("HTTP/1.1 100")) {
      in.erase(0, in.find("\r\n\r\n") + 4);
      SendAll(fd, body);
    }
  }
  if (!test_process::ReadReply(fd, &in, method == "HEAD", &r)) r = Reply{};
  close(fd);
  return r;
}

std::string Body(int i, size_t size) {
  return test_process::RandomBytes(size, static_cast<uint32_t>(i) * 7919u + 1);
}

class CacheFullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test_process::MakeTempDir("kumo-cache-full");
    ASSERT_FALSE(root_.empty());
    mnt_ = root_ + "/mnt";
    fs::create_directories(mnt_);
    if (mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=8m") != 0) {
      std::string why = std::strerror(errno);
      if (std::getenv("KUMO_SKIP_MOUNT_TESTS") != nullptr)
        GTEST_SKIP() << "mount tmpfs: " << why << " (KUMO_SKIP_MOUNT_TESTS is set)";
      FAIL() << "mount -t tmpfs -o size=8m on " << mnt_ << " failed: " << why
             << "; this test needs root (or CAP_SYS_ADMIN). Set KUMO_SKIP_MOUNT_TESTS=1 to skip.";
    }
    mounted_ = true;
  }
  void TearDown() override {
    Stop(SIGTERM);
    if (mounted_ && umount2(mnt_.c_str(), MNT_DETACH) != 0)
      ADD_FAILURE() << "umount " << mnt_ << ": " << std::strerror(errno);
    fs::remove_all(root_);
  }

  void StartServer(const std::string& capacity) {
    ASSERT_TRUE(server_.Start({"--dir", cache_dir(), "--capacity", capacity, "--workers", "1",
                               "--no-auth"},
                              root_ + "/port", root_ + "/server.log", /*append_log=*/true));
    port_ = server_.port();
  }

  // SIGTERM waits up to 5 s for a clean exit, then SIGKILL; SIGKILL is a crash.
  void Stop(int sig) {
    server_.Stop(sig);
    port_ = 0;
  }

  std::string cache_dir() const { return mnt_ + "/cache"; }
  size_t TempFiles() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(cache_dir() + "/tmp")) ++n;
    return n;
  }
  uint64_t ObjectFileBytes() const {
    uint64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(cache_dir() + "/objects"))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  }

  // GETs keys 0..count-1: each is whole (200, exact bytes) or absent (404). Returns how many
  // are resident.
  size_t CheckEveryObjectIsWholeOrAbsent(int count, size_t size) {
    size_t resident = 0;
    for (int i = 0; i < count; ++i) {
      Reply r = Call(port_, "GET", "k" + std::to_string(i));
      EXPECT_TRUE(r.status == 200 || r.status == 404) << "k" << i << ": " << r.status;
      if (r.status != 200) continue;
      EXPECT_TRUE(r.body == Body(i, size)) << "k" << i << " is not the object that was PUT";
      ++resident;
    }
    return resident;
  }

  std::string root_, mnt_;
  bool mounted_ = false;
  test_process::ServeProcess server_;
  uint16_t port_ = 0;
};

TEST_F(CacheFullDiskTest, CapacityAboveTheFilesystemEvictsOr507sAndNeverCorrupts) {
  StartServer("64Mi");  // 8× the filesystem: the disk, not the capacity, runs out
  constexpr int kObjects = 40;
  constexpr size_t kSize = 512 * 1024;  // 40 × 512 KiB = 20 MiB > 8 MiB
  int created = 0;
  for (int i = 0; i < kObjects; ++i) {
    Reply r = Call(port_, "PUT", "k" + std::to_string(i), Body(i, kSize));
    ASSERT_TRUE(r.status == 201 || r.status == 507) << "k" << i << ": " << r.status << r.body;
    created += r.status == 201;
  }
  std::string m = Metrics(port_);
  EXPECT_GT(created, 0);
  EXPECT_GT(MetricValue(m, "kumo_cache_evictions_total"), 0u) << m;  // the full disk made room
  size_t resident = CheckEveryObjectIsWholeOrAbsent(kObjects, kSize);
  EXPECT_GT(resident, 0u);
  EXPECT_EQ(MetricValue(m, "kumo_cache_objects"), resident);
  EXPECT_EQ(TempFiles(), 0u);

  // Crash in the middle of an upload: half the body sent, then SIGKILL.
  int fd = test_process::ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  std::string half = Body(999, kSize).substr(0, kSize / 2);
  SendAll(fd, "PUT /v1/objects/data/k999 HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                  std::to_string(kSize) + "\r\n\r\n" + half);
  // The server has the partial upload once the temp file holds bytes beyond the header.
  bool in_flight = false;
  for (int i = 0; i < 100 && !in_flight; ++i) {
    for (const auto& e : fs::directory_iterator(cache_dir() + "/tmp"))
      in_flight |= e.file_size() > 0;
    if (!in_flight) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(in_flight) << "no temp file for the upload in flight";
  Stop(SIGKILL);
  close(fd);
  StartServer("64Mi");
  EXPECT_EQ(TempFiles(), 0u);  // emptied at open
  EXPECT_EQ(Call(port_, "GET", "k999").status, 404);
  size_t after_restart = CheckEveryObjectIsWholeOrAbsent(kObjects, kSize);
  // The crashed upload reserved its blocks up front, which may have evicted an object or two.
  EXPECT_LE(after_restart, resident);
  EXPECT_GT(after_restart, 0u);
  EXPECT_EQ(MetricValue(Metrics(port_), "kumo_cache_objects"), after_restart);

  // Someone else fills the disk: only eviction can make room, and an object larger than the
  // whole filesystem gets 507 however much is evicted.
  {
    std::ofstream filler(mnt_ + "/filler", std::ios::binary);
    std::string mib(1 << 20, 'f');
    for (int i = 0; i < 16 && filler.write(mib.data(), mib.size()); ++i) {
    }
  }
  Reply huge = Call(port_, "PUT", "huge", std::string(12 << 20, 'h'));
  EXPECT_EQ(huge.status, 507) << huge.body;
  EXPECT_EQ(Call(port_, "GET", "huge").status, 404);
  EXPECT_EQ(TempFiles(), 0u);
  fs::remove(mnt_ + "/filler");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(Call(port_, "PUT", "k" + std::to_string(i), Body(i, kSize)).status, 201);
  CheckEveryObjectIsWholeOrAbsent(kObjects, kSize);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(CacheFullDiskTest, CapacityBelowTheFilesystemIsKeptByEviction) {
  StartServer("4Mi");
  constexpr int kObjects = 40;
  constexpr size_t kSize = 256 * 1024;  // 10 MiB in all: more than the capacity and the disk
  for (int i = 0; i < kObjects; ++i)
    ASSERT_EQ(Call(port_, "PUT", "k" + std::to_string(i), Body(i, kSize)).status, 201) << i;
  std::string m = Metrics(port_);
  EXPECT_LE(MetricValue(m, "kumo_cache_used_bytes"), 4u << 20) << m;
  EXPECT_GE(MetricValue(m, "kumo_cache_evictions_total"), static_cast<uint64_t>(kObjects - 16));
  size_t resident = CheckEveryObjectIsWholeOrAbsent(kObjects, kSize);
  EXPECT_EQ(resident, MetricValue(m, "kumo_cache_objects"));
  EXPECT_EQ(Call(port_, "GET", "k39").body, Body(39, kSize));
  // On disk too: the object files (bytes plus a header of 40 + name bytes each).
  EXPECT_LE(ObjectFileBytes(), (4u << 20) + resident * (40 + 16));
  EXPECT_EQ(TempFiles(), 0u);
}

}  // namespace
}  // namespace kumo::cache
