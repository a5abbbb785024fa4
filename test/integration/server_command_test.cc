// `kumo server`'s flags (CLI11 through kumo::ParseFlags): the paths that end before a server
// starts, run on the real binary.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

#include "test/support/temp_dir.h"

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `kumo server <args>` (args already shell-quoted where needed).
CommandResult KumoServer(const std::string& args) {
  kumo::testing::TempDir dir;
  std::string cmd = std::string(KUMO_BINARY) + " server " + args + " >" + dir.Path("out") +
                    " 2>" + dir.Path("err") + " </dev/null";
  int status = std::system(cmd.c_str());
  auto slurp = [](const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir.Path("out")),
          slurp(dir.Path("err"))};
}

TEST(ServerCommandFlags, HelpListsTheFlagsAndExitsZero) {
  CommandResult r = KumoServer("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--data-dir", "--listen", "--config", "--inventory", "--no-cgroups"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " missing from\n" << r.out;
}

TEST(ServerCommandFlags, UsageErrorsExitTwoAndNameTheCommand) {
  for (const char* bad : {"--nope", "--listen", "--no-cgroups=maybe"}) {
    CommandResult r = KumoServer(bad);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.err.rfind("kumo server: ", 0), 0u) << bad << ": " << r.err;
  }
}

TEST(ServerCommandFlags, ARepeatedFlagTakesItsLastValue) {
  CommandResult r = KumoServer("--data-dir /nonexistent --config /a.yaml --config /b.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("kumo server: /b.yaml: ", 0), 0u) << r.err;
}

TEST(ServerCommandFlags, DataDirIsRequired) {
  CommandResult r = KumoServer("--listen 127.0.0.1:0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("kumo server: --data-dir is required\n", 0), 0u) << r.err;
}

TEST(ServerCommandFlags, AConfigFileThatCannotBeReadExitsTwo) {
  CommandResult r = KumoServer("--data-dir /nonexistent --config /nonexistent/kumo.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("kumo server: /nonexistent/kumo.yaml: ", 0), 0u) << r.err;
}

}  // namespace
