// A restarted `kumo server` and a task shim it never recorded: the real binary, a real shim.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "executor/shim_command_line.h"
#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

namespace fs = std::filesystem;

// Starts `argv` as a child of the test; the shim makes itself a session and group leader.
pid_t Spawn(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// A shim whose start never committed (the server was killed right after spawning it) is
// killed by the next server, also when its command line carries --cgroup: before issue 11 the
// run dir was then not where the /proc scan looked, and the shim ran on beside the job's next
// attempt. A plain directory stands in for the cgroup (the shim only writes its pid into
// cgroup.procs), so this runs where cgroups are not writable.
TEST(ShimReconcileTest, RestartKillsAnUnrecordedShimStartedWithACgroup) {
  TempDir tmp;
  const std::string data = tmp.path() + "/data";
  ServerProcess server(data, std::string(KUMO_EXAMPLES_DIR) + "/inventory-2x4.yaml");
  ASSERT_TRUE(server.Start()) << ReadFile(data + ".log");
  server.Kill(SIGKILL);

  const std::string run_dir = fs::canonical(data).string() + "/jobs/999/attempt-1/task-0";
  const std::string cgroup = tmp.path() + "/cgroup";
  fs::create_directories(run_dir);
  fs::create_directories(cgroup);
  std::ofstream(cgroup + "/cgroup.procs").flush();
  pid_t shim =
      Spawn(executor::ShimArgv(KUMO_BINARY, {run_dir, tmp.path(), cgroup, {"sleep", "600"}}));
  ASSERT_GT(shim, 1);
  auto wait_for = [](auto done) {  // up to 10 s; calls done() until it first says true
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  // The shim joins its cgroup just before it forks the command.
  ASSERT_TRUE(wait_for([&] { return ReadFile(cgroup + "/cgroup.procs") == std::to_string(shim); }))
      << ReadFile(run_dir + "/stderr");

  ASSERT_TRUE(server.Start()) << ReadFile(data + ".log");
  int status = 0;
  bool reaped = wait_for([&] { return waitpid(shim, &status, WNOHANG) == shim; });
  if (!reaped) {
    ADD_FAILURE() << "the restarted server left shim " << shim << " running";
    kill(-shim, SIGKILL);
    waitpid(shim, &status, 0);
    return;
  }
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  // Linux keeps the group id from reuse while any member lives, so this asks about our group.
  EXPECT_TRUE(wait_for([&] { return kill(-shim, 0) != 0; })) << "its command is still alive";
}

}  // namespace
}  // namespace kumo::testing
