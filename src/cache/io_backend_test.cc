// The --io choice: the pure decision (ChooseIoBackend) and the real binary with the probe's test
// hook KUMO_CACHE_DISABLE_URING=1 standing in for a kernel without io_uring.
#include "cache/io_backend.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace kumo::cache {
namespace {

TEST(CacheIoBackend, ParsesTheThreeChoicesAndNamesBadInput) {
  EXPECT_EQ(*ParseIoChoice("epoll"), IoChoice::kEpoll);
  EXPECT_EQ(*ParseIoChoice("uring"), IoChoice::kUring);
  EXPECT_EQ(*ParseIoChoice("auto"), IoChoice::kAuto);
  Result<IoChoice> bad = ParseIoChoice("io_uring");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "--io wants epoll, uring or auto, not \"io_uring\"");
}

TEST(CacheIoBackend, UringNeedsTheProbeAutoFallsBackToEpollWithANote) {
  UringProbe ok{true, "ok (kernel 6.1)"}, off{false, "disabled by the kernel"};
  std::string note;
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kEpoll, off, &note), IoBackend::kEpoll);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kUring, ok, &note), IoBackend::kUring);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kAuto, ok, &note), kAutoPreferredBackend);
  EXPECT_EQ(note, "");
  Result<IoBackend> refused = ChooseIoBackend(IoChoice::kUring, off, &note);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("--io uring: io_uring is not usable here: disabled by "
                                           "the kernel"),
            std::string::npos);
  EXPECT_EQ(*ChooseIoBackend(IoChoice::kAuto, off, &note), IoBackend::kEpoll);
  EXPECT_EQ(note, "--io auto: io_uring not usable (disabled by the kernel), using epoll");
}

TEST(CacheIoBackend, TestHookMakesTheProbeFail) {
  setenv("KUMO_CACHE_DISABLE_URING", "1", 1);
  UringProbe p = ProbeUring();
  unsetenv("KUMO_CACHE_DISABLE_URING");
  EXPECT_FALSE(p.usable);
  EXPECT_EQ(p.detail, "disabled by KUMO_CACHE_DISABLE_URING=1");
}

// Runs a shell command, returns its exit status and (via *out) stdout + stderr.
int Shell(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  out->clear();
  while (fgets(buf, sizeof buf, p)) *out += buf;
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class CacheIoFlagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kumo-cache-io-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Serve(const std::string& extra) const {
    return std::string(KUMO_BINARY) + " cache serve --listen 127.0.0.1:0 --dir " + dir_ +
           "/cache --capacity 1MiB --no-auth --workers 1 --port-file " + dir_ + "/port " + extra;
  }
  // Starts the server in the background, waits for its port file, stops it with SIGTERM.
  int ServeUntilListening(const std::string& env, const std::string& extra, std::string* out) {
    std::string script =
        "(rm -f " + dir_ + "/port; " + env + " " + Serve(extra) + " > " + dir_ +
        "/log 2>&1 & pid=$!; " + "for i in $(seq 300); do [ -s " + dir_ + "/port ] && break; " +
        "kill -0 $pid 2>/dev/null || break; sleep 0.1; done; " +
        "kill -TERM $pid 2>/dev/null; wait $pid; rc=$?; cat " + dir_ + "/log; exit $rc)";
    return Shell(script, out);
  }
  std::string dir_;
};

TEST_F(CacheIoFlagTest, UringWithoutIoUringFailsNamingWhy) {
  std::string out;
  EXPECT_EQ(Shell("KUMO_CACHE_DISABLE_URING=1 " + Serve("--io uring"), &out), 2) << out;
  EXPECT_NE(out.find("kumo cache: --io uring: io_uring is not usable here: disabled by "
                     "KUMO_CACHE_DISABLE_URING=1 (use --io epoll or auto)"),
            std::string::npos)
      << out;
  // The same through --config.
  std::ofstream(dir_ + "/config.yaml") << "io: uring\n";
  EXPECT_EQ(Shell("KUMO_CACHE_DISABLE_URING=1 " + Serve("--config " + dir_ + "/config.yaml"), &out),
            2)
      << out;
  EXPECT_NE(out.find("--io uring: io_uring is not usable here"), std::string::npos) << out;
  EXPECT_EQ(Shell(Serve("--io fast"), &out), 2) << out;
  EXPECT_NE(out.find("--io wants epoll, uring or auto, not \"fast\""), std::string::npos) << out;
}

TEST_F(CacheIoFlagTest, AutoFallsBackToEpollAndSaysSo) {
  std::string out;
  EXPECT_EQ(ServeUntilListening("KUMO_CACHE_DISABLE_URING=1", "--io auto", &out), 0) << out;
  EXPECT_NE(out.find("--io auto: io_uring not usable (disabled by KUMO_CACHE_DISABLE_URING=1), "
                     "using epoll"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("io epoll; io_uring probe: disabled by KUMO_CACHE_DISABLE_URING=1"),
            std::string::npos)
      << out;
}

TEST_F(CacheIoFlagTest, StartupLineNamesTheBackendAndTheProbe) {
  std::string out;
  EXPECT_EQ(ServeUntilListening("", "", &out), 0) << out;
  EXPECT_NE(out.find(", io epoll; io_uring probe: "), std::string::npos) << out;
  if (!ProbeUring().usable) return;  // nothing more to see on a kernel without io_uring
  EXPECT_EQ(ServeUntilListening("", "--io uring", &out), 0) << out;
  EXPECT_NE(out.find(", io uring; io_uring probe: ok (kernel "), std::string::npos) << out;
}

}  // namespace
}  // namespace kumo::cache
