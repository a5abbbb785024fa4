// The --io choice on the real binary, with the probe's test hook KUMO_CACHE_DISABLE_URING=1
// standing in for a kernel without io_uring (the pure decision: src/cache/io/io_backend_test.cc).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cache/io/io_backend.h"
#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

class CacheIoFlagTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test_process::MakeTempDir("kumo-cache-io"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<std::string> Serve(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {KUMO_BINARY, "cache",    "serve",     "--listen",
                                     "127.0.0.1:0", "--dir",  dir_ + "/cache", "--capacity",
                                     "1Mi",        "--no-auth", "--workers", "1",
                                     "--port-file", dir_ + "/port"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  test_process::SpawnOptions Options(const std::vector<std::string>& env) const {
    test_process::SpawnOptions o;
    o.stdout_path = dir_ + "/log";
    o.env = env;
    return o;
  }
  // Runs the server to its exit (a start-up error); its exit code, its output in *out.
  int ServeToExit(const std::vector<std::string>& env, const std::vector<std::string>& extra,
                  std::string* out) const {
    int rc = test_process::RunToExit(Serve(extra), Options(env));
    *out = test_process::ReadAll(dir_ + "/log");
    return rc;
  }
  // Starts the server, waits for its port file (or its early exit), stops it with SIGTERM; its
  // exit code, its output in *out.
  int ServeUntilListening(const std::vector<std::string>& env,
                          const std::vector<std::string>& extra, std::string* out) const {
    std::filesystem::remove(dir_ + "/port");
    pid_t pid = test_process::Spawn(Serve(extra), Options(env));
    if (pid <= 0) return -1;
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 300 && !exited && test_process::ReadAll(dir_ + "/port").empty(); ++i) {
      exited = waitpid(pid, &status, WNOHANG) == pid;
      if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!exited) {
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
    }
    *out = test_process::ReadAll(dir_ + "/log");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string dir_;
};

TEST_F(CacheIoFlagTest, UringWithoutIoUringFailsNamingWhy) {
  std::string out;
  EXPECT_EQ(ServeToExit({"KUMO_CACHE_DISABLE_URING=1"}, {"--io", "uring"}, &out), 2) << out;
  EXPECT_NE(out.find("kumo cache: --io uring: io_uring is not usable here: disabled by "
                     "KUMO_CACHE_DISABLE_URING=1 (use --io epoll or auto)"),
            std::string::npos)
      << out;
  // The same through --config.
  std::ofstream(dir_ + "/config.yaml") << "io: uring\n";
  EXPECT_EQ(ServeToExit({"KUMO_CACHE_DISABLE_URING=1"}, {"--config", dir_ + "/config.yaml"}, &out),
            2)
      << out;
  EXPECT_NE(out.find("--io uring: io_uring is not usable here"), std::string::npos) << out;
  EXPECT_EQ(ServeToExit({}, {"--io", "fast"}, &out), 2) << out;
  EXPECT_NE(out.find("--io wants epoll, uring or auto, not \"fast\""), std::string::npos) << out;
}

TEST_F(CacheIoFlagTest, AutoFallsBackToEpollAndSaysSo) {
  std::string out;
  EXPECT_EQ(ServeUntilListening({"KUMO_CACHE_DISABLE_URING=1"}, {"--io", "auto"}, &out), 0)
      << out;
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
  EXPECT_EQ(ServeUntilListening({}, {}, &out), 0) << out;
  EXPECT_NE(out.find(", io epoll; io_uring probe: "), std::string::npos) << out;
  if (!ProbeUring().usable) return;  // nothing more to see on a kernel without io_uring
  EXPECT_EQ(ServeUntilListening({}, {"--io", "uring"}, &out), 0) << out;
  EXPECT_NE(out.find(", io uring; io_uring probe: ok (kernel "), std::string::npos) << out;
}

// Count flags are checked as a count in --config is (IsCount): atoi would read "2x" as 2 and
// "abc" as 0. The last --workers or --listen wins, so each overrides the fixture's. (Until
// listening: a server that took the value would serve rather than exit.)
TEST_F(CacheIoFlagTest, CountFlagsRefuseWhatIsNotACount) {
  std::string out;
  EXPECT_EQ(ServeUntilListening({}, {"--workers", "2x"}, &out), 2) << out;
  EXPECT_NE(out.find("--workers: \"2x\" is not a count"), std::string::npos) << out;
  EXPECT_EQ(ServeUntilListening({}, {"--workers", "0"}, &out), 2) << out;
  EXPECT_NE(out.find("--workers wants 1..256"), std::string::npos) << out;
  EXPECT_EQ(ServeUntilListening({}, {"--listen", "127.0.0.1:80x"}, &out), 2) << out;
  EXPECT_NE(out.find("--listen wants HOST:PORT with a port 0..65535, not \"127.0.0.1:80x\""),
            std::string::npos)
      << out;
  EXPECT_EQ(ServeUntilListening({}, {"--listen", "127.0.0.1:65536"}, &out), 2) << out;
  EXPECT_NE(out.find("--listen wants HOST:PORT"), std::string::npos) << out;
  std::ofstream(dir_ + "/secret") << "s3cret\n";
  int rc =
      test_process::RunToExit({KUMO_BINARY, "cache", "token", "--secret-file", dir_ + "/secret",
                               "--sub", "system:serviceaccount:a:b", "--ttl-s", "abc"},
                              Options({}));
  out = test_process::ReadAll(dir_ + "/log");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--ttl-s wants whole seconds"), std::string::npos) << out;
}

}  // namespace
}  // namespace kumo::cache
