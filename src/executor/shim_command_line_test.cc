#include "executor/shim_command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kumo::executor {
namespace {

using Argv = std::vector<std::string>;

TEST(ShimCommandLineTest, RunDirIsArgvTwoWithAndWithoutACgroup) {
  ShimCommandLine plain{"/data/jobs/7/attempt-1/task-0", "/home/u", "", {"python3", "train.py"}};
  EXPECT_EQ(ShimArgv("/opt/kumo-shim", plain),
            (Argv{"/opt/kumo-shim", "__task-shim", "/data/jobs/7/attempt-1/task-0", "/home/u", "--",
                  "python3", "train.py"}));
  ShimCommandLine limited = plain;
  limited.cgroup_path = "/sys/fs/cgroup/kumo/job-7.a1.t0";
  EXPECT_EQ(ShimArgv("/opt/kumo-shim", limited),
            (Argv{"/opt/kumo-shim", "__task-shim", "/data/jobs/7/attempt-1/task-0", "/home/u",
                  "--cgroup=/sys/fs/cgroup/kumo/job-7.a1.t0", "--", "python3", "train.py"}));
}

TEST(ShimCommandLineTest, ParseInvertsShimArgv) {
  // The task's own argv may hold anything the shim's flags look like.
  const std::vector<ShimCommandLine> lines = {
      {"/r", "/c", "", {"true"}},
      {"/r", "/c", "/cg/kumo/t", {"sh", "-c", "x", "--", "--cgroup=/elsewhere"}},
      {"/with space", "--cgroup=/odd-cwd", "", {"--"}},
  };
  for (const ShimCommandLine& line : lines) {
    auto parsed = ParseShimArgv(ShimArgv("kumo", line));
    ASSERT_TRUE(parsed.has_value()) << line.run_dir;
    EXPECT_EQ(parsed->run_dir, line.run_dir);
    EXPECT_EQ(parsed->cwd, line.cwd);
    EXPECT_EQ(parsed->cgroup_path, line.cgroup_path);
    EXPECT_EQ(parsed->command, line.command);
  }
}

TEST(ShimCommandLineTest, ParseRejectsOtherCommandLines) {
  const std::vector<Argv> others = {
      {},
      {"kumo"},
      {"sleep", "10"},
      {"kumo", "server", "/r", "/c", "--", "x"},
      {"kumo", "__task-shim", "/r", "/c", "x"},                  // no "--"
      {"kumo", "__task-shim", "/r", "/c", "--"},                 // no command
      {"kumo", "__task-shim", "/r", "/c", "--cgroup=/g", "--"},  // no command
      {"kumo", "__task-shim", "/r", "/c", "--cgroup=/g", "x", "--", "y"},
  };
  for (const Argv& argv : others) {
    EXPECT_FALSE(ParseShimArgv(argv).has_value())
        << ::testing::PrintToString(argv) << " parsed as a shim";
  }
}

TEST(ShimCommandLineTest, SandboxFlagsRoundTrip) {
  ShimCommandLine line{"/d/jobs/7/attempt-1/task-0", "/home/u", "/cg/kumo/t", {"python3", "x.py"}, {}};
  line.isolation = {true, 200006, 200006, {27, 1001}, "/d", {"/d/jobs/7/attempt-1/output",
                    "/d/jobs/7/checkpoint"}, {{"/d/datasets/3b1f", "/data/mnist"}}};
  Argv argv = ShimArgv("kumo-shim", line);
  EXPECT_EQ(argv, (Argv{"kumo-shim", "__task-shim", "/d/jobs/7/attempt-1/task-0", "/home/u",
                        "--cgroup=/cg/kumo/t", "--uid=200006", "--gid=200006", "--groups=27,1001",
                        "--hide=/d", "--rw=/d/jobs/7/attempt-1/output", "--rw=/d/jobs/7/checkpoint",
                        "--ro=/d/datasets/3b1f:/data/mnist", "--", "python3", "x.py"}));
  auto parsed = ParseShimArgv(argv);
  ASSERT_TRUE(parsed.has_value());
  const TaskIsolation& iso = parsed->isolation;
  EXPECT_TRUE(iso.enabled);
  EXPECT_EQ(iso.uid, 200006u);
  EXPECT_EQ(iso.gid, 200006u);
  EXPECT_EQ(iso.groups, (std::vector<gid_t>{27, 1001}));
  EXPECT_EQ(iso.hidden_dir, "/d");
  EXPECT_EQ(iso.writable_dirs, line.isolation.writable_dirs);
  EXPECT_EQ(iso.readonly_binds, line.isolation.readonly_binds);
  EXPECT_EQ(parsed->command, line.command);
  EXPECT_EQ(parsed->run_dir, line.run_dir);
}

// A malformed sandbox must never degrade into running the command as the server (root).
TEST(ShimCommandLineTest, ParseRejectsSandboxesThatWouldRunAsRoot) {
  const std::vector<Argv> bad = {
      {"k", "__task-shim", "/r", "/c", "--uid=0", "--gid=5", "--", "x"},
      {"k", "__task-shim", "/r", "/c", "--uid=5", "--gid=0", "--", "x"},
      {"k", "__task-shim", "/r", "/c", "--uid=5", "--", "x"},                // no gid
      {"k", "__task-shim", "/r", "/c", "--gid=5", "--", "x"},                // no uid
      {"k", "__task-shim", "/r", "/c", "--hide=/d", "--", "x"},              // no uid
      {"k", "__task-shim", "/r", "/c", "--uid=5x", "--gid=5", "--", "x"},
      {"k", "__task-shim", "/r", "/c", "--uid=5", "--gid=5", "--rw=rel", "--", "x"},
      {"k", "__task-shim", "/r", "/c", "--uid=5", "--gid=5", "--groups=1,,2", "--", "x"},
      {"k", "__task-shim", "/r", "/c", "--uid=5", "--gid=5", "--groups=1;2", "--", "x"},
  };
  for (const Argv& argv : bad)
    EXPECT_FALSE(ParseShimArgv(argv).has_value()) << ::testing::PrintToString(argv);
}

}  // namespace
}  // namespace kumo::executor
