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

}  // namespace
}  // namespace kumo::executor
