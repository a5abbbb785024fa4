// LocalExecutor tests: real processes under the real shim (kumo-shim, KUMO_SHIM_BINARY).
// Every wait is a bounded poll (10 s); every process a test starts is killed by pid at the end.
#include "executor/local_executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include "test/support/temp_dir.h"

namespace kumo::executor {
namespace {

using namespace std::chrono_literals;

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Field 3 (state) and 22 (start time) of /proc/<pid>/stat; state '\0' when there is no process.
struct PidInfo {
  char state = '\0';
  long long start = 0;
};
PidInfo ProcInfo(pid_t pid) {
  std::string text = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  PidInfo info;
  size_t p = text.rfind(')');
  if (p == std::string::npos) return info;
  std::istringstream in(text.substr(p + 1));
  std::string f;
  for (int i = 3; i <= 22 && (in >> f); ++i) {
    if (i == 3) info.state = f[0];
    if (i == 22) info.start = std::stoll(f);
  }
  return info;
}
bool Alive(pid_t pid) {
  char s = ProcInfo(pid).state;
  return s != '\0' && s != 'Z' && s != 'X';
}

class LocalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.shim_binary = KUMO_SHIM_BINARY;  // the one the server uses (static, starts fast)
    exec_ = std::make_unique<LocalExecutor>(config_);
  }

  void TearDown() override {
    // Kill what is left: tasks by group, stray pids (grandchildren) one by one; then reap.
    for (const auto& h : handles_) exec_->Signal(h, SIGKILL);
    for (const auto& [pid, start] : stray_pids_) {
      PidInfo info = ProcInfo(pid);
      if (info.state != '\0' && info.start == start) kill(pid, SIGKILL);
    }
    // Until each shim is reaped too (Poll reaps it once it has exited), not left a zombie.
    for (const auto& h : handles_) {
      WaitFor([&] {
        bool done = exec_->Poll(h).state != TaskState::kRunning;
        PidInfo info = ProcInfo(h.pid);
        return done && (info.state == '\0' || info.start != h.start_ticks);
      });
    }
    exec_.reset();
  }

  TaskLaunch Task(std::vector<std::string> argv, const std::string& name) {
    TaskLaunch l;
    l.argv = std::move(argv);
    l.cwd = dir_;
    l.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    l.run_dir = dir_ + "/run-" + name;
    l.cgroup_name = "test-" + std::to_string(getpid()) + "-" + name;
    return l;
  }
  TaskLaunch Shell(const std::string& script, const std::string& name) {
    return Task({"sh", "-c", script}, name);
  }

  TaskHandle MustLaunch(const TaskLaunch& l) {
    auto h = exec_->Launch(l);
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().message());
    if (!h) return {};
    handles_.push_back(*h);
    return *h;
  }

  TaskStatus WaitDone(const TaskHandle& h, LocalExecutor* e = nullptr) {
    if (e == nullptr) e = exec_.get();
    TaskStatus st;
    WaitFor([&] { return (st = e->Poll(h)).state != TaskState::kRunning; });
    return st;
  }

  // Waits for a file a task writes (with its pid in it, say) and returns its trimmed content.
  std::string WaitForFile(const std::string& path) {
    std::string text;
    WaitFor([&] {
      text = ReadFile(path);
      return !text.empty() && text.back() == '\n';
    });
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }
  // Remembers a pid a task reported so TearDown kills it even if the test failed early.
  pid_t TrackPid(const std::string& text) {
    pid_t pid = text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
    if (pid > 1) stray_pids_.push_back({pid, ProcInfo(pid).start});
    return pid;
  }

  ::kumo::testing::TempDir tmp_{"kumo-exec"};  // removed after TearDown stopped every task
  const std::string dir_ = tmp_.path();
  ExecutorConfig config_;
  std::unique_ptr<LocalExecutor> exec_;
  std::vector<TaskHandle> handles_;
  std::vector<std::pair<pid_t, long long>> stray_pids_;
};

TEST_F(LocalExecutorTest, ExitCodeAndOutputFiles) {
  TaskHandle h = MustLaunch(Shell("echo hi; echo err >&2; exit 3", "exit3"));
  ASSERT_GT(h.pid, 1);
  EXPECT_GT(h.start_ticks, 0);
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.term_signal, 0);
  EXPECT_EQ(ReadFile(h.run_dir + "/stdout"), "hi\n");
  EXPECT_EQ(ReadFile(h.run_dir + "/stderr"), "err\n");
  EXPECT_EQ(ReadFile(h.run_dir + "/exit"), "exit 3\n");
  EXPECT_FALSE(std::filesystem::exists(h.run_dir + "/exit.tmp"));
  // Polling again is stable, and signalling a finished task is a harmless no-op.
  exec_->Signal(h, SIGTERM);
  EXPECT_EQ(exec_->Poll(h).exit_code, 3);
}

TEST_F(LocalExecutorTest, WaitForExitsNamesEndedShimsOnce) {
  ASSERT_TRUE(exec_->watching()) << "this kernel has pidfds (Linux >= 5.3)";
  TaskHandle sleeper = MustLaunch(Shell("sleep 30", "sleeper"));
  TaskHandle quick = MustLaunch(Shell("exit 0", "quick"));
  std::vector<pid_t> ended;
  ASSERT_TRUE(WaitFor([&] {
    for (pid_t p : exec_->WaitForExits(100)) ended.push_back(p);
    return !ended.empty();
  }));
  EXPECT_EQ(ended, std::vector<pid_t>{quick.pid});  // the sleeper is not named
  EXPECT_EQ(WaitDone(quick).state, TaskState::kExited);
  // One-shot: the ended shim is not named again.
  EXPECT_TRUE(exec_->WaitForExits(50).empty());
  exec_->Signal(sleeper, SIGKILL);
  ended.clear();
  ASSERT_TRUE(WaitFor([&] {
    for (pid_t p : exec_->WaitForExits(100)) ended.push_back(p);
    return !ended.empty();
  }));
  EXPECT_EQ(ended, std::vector<pid_t>{sleeper.pid});
  EXPECT_EQ(WaitDone(sleeper).state, TaskState::kLost);
}

TEST_F(LocalExecutorTest, WatchAdoptsAShimFromAnotherInstance) {
  TaskHandle h = MustLaunch(Shell("sleep 30", "adopted"));
  LocalExecutor other(config_);
  other.Watch(h);
  EXPECT_TRUE(other.WaitForExits(50).empty());
  exec_->Signal(h, SIGKILL);
  std::vector<pid_t> ended;
  ASSERT_TRUE(WaitFor([&] {
    for (pid_t p : other.WaitForExits(100)) ended.push_back(p);
    return !ended.empty();
  }));
  EXPECT_EQ(ended, std::vector<pid_t>{h.pid});
  WaitDone(h);
}

TEST_F(LocalExecutorTest, EnvAndCwdArriveAndNothingElse) {
  // Something the test process has but the task must not: the env is complete, not merged.
  setenv("KUMO_TEST_LEAK", "leaked", 1);
  std::filesystem::create_directory(dir_ + "/work");
  TaskLaunch l =
      Shell("echo \"foo=$FOO\"; pwd; echo \"leak=$KUMO_TEST_LEAK\"; ls -l /proc/self/fd/0", "env");
  l.cwd = dir_ + "/work";
  l.env["FOO"] = "bar baz";
  TaskHandle h = MustLaunch(l);
  TaskStatus st = WaitDone(h);
  unsetenv("KUMO_TEST_LEAK");
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 0) << ReadFile(h.run_dir + "/stderr");
  std::string out = ReadFile(h.run_dir + "/stdout");
  EXPECT_NE(out.find("foo=bar baz\n"), std::string::npos) << out;
  EXPECT_NE(out.find(dir_ + "/work\n"), std::string::npos) << out;
  EXPECT_NE(out.find("leak=\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/null"), std::string::npos) << "stdin is /dev/null: " << out;
}

TEST_F(LocalExecutorTest, SigtermLetsTheTaskCheckpointAndExitZero) {
  // The checkpoint story: TERM is trapped, the task saves and exits 0; the shim survives TERM.
  TaskHandle h = MustLaunch(
      Shell("trap 'echo saved > ckpt; exit 0' TERM; echo ready > ready.tmp; mv ready.tmp ready; "
            "while true; do sleep 0.05; done",
            "term"));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/ready"); }));
  EXPECT_EQ(exec_->Poll(h).state, TaskState::kRunning);
  exec_->Signal(h, SIGTERM);
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/ckpt"), "saved\n");
}

TEST_F(LocalExecutorTest, AnyCheckpointSignalReachesOnlyTheCommand) {
  // SIGUSR1 would kill a shim that did not ignore it (default action: terminate).
  TaskHandle h =
      MustLaunch(Shell("trap 'exit 4' USR1; echo ready > ready.tmp; mv ready.tmp ready; "
                       "while true; do sleep 0.05; done",
                       "usr1"));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/ready"); }));
  exec_->Signal(h, SIGUSR1);
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 4);
}

TEST_F(LocalExecutorTest, UnhandledSigtermIsReportedAsTheSignal) {
  // Sent at once: usually before the shim has forked the command, which still gets it.
  TaskHandle h = MustLaunch(Task({"sleep", "1000"}, "term-default"));
  ASSERT_EQ(exec_->Poll(h).state, TaskState::kRunning);
  exec_->Signal(h, SIGTERM);
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.term_signal, SIGTERM);
  EXPECT_EQ(st.exit_code, 128 + SIGTERM);
}

TEST_F(LocalExecutorTest, SigkillKillsTheWholeGroupIncludingGrandchildren) {
  TaskHandle h = MustLaunch(Shell("sleep 1000 & echo $! > gc.pid; wait", "kill"));
  pid_t grandchild = TrackPid(WaitForFile(dir_ + "/gc.pid"));
  ASSERT_GT(grandchild, 1);
  ASSERT_TRUE(Alive(grandchild));
  exec_->Signal(h, SIGKILL);
  // SIGKILL takes the shim too, so no exit file: kLost (the caller knows it killed the task).
  EXPECT_EQ(WaitDone(h).state, TaskState::kLost);
  EXPECT_TRUE(WaitFor([&] { return !Alive(grandchild); })) << "grandchild " << grandchild;
}

// A command that exits leaving a background process in its group: the task ends with it, so
// nothing of the task keeps running (GPUs the scheduler counts as free, a uid given on).
TEST_F(LocalExecutorTest, ProcessesLeftInTheGroupEndWithTheTask) {
  TaskHandle h = MustLaunch(Shell("sleep 1000 & echo $! > bg.pid; exit 0", "leftover"));
  TaskStatus st = WaitDone(h);
  EXPECT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 0);
  pid_t left = TrackPid(WaitForFile(dir_ + "/bg.pid"));
  ASSERT_GT(left, 1);
  EXPECT_TRUE(WaitFor([&] { return !Alive(left); })) << "left behind: " << left;
}

TEST_F(LocalExecutorTest, ShimKilledAloneIsLostAndSignalStillReachesTheGroup) {
  // Documented behaviour: the command outlives its shim (it is not tied to it, so that it also
  // survives the server), nobody can learn its exit status, so the task is kLost; Signal can
  // still kill the orphaned group.
  TaskHandle h = MustLaunch(Shell("echo $$ > cmd.pid; exec sleep 1000", "lost"));
  pid_t cmd = TrackPid(WaitForFile(dir_ + "/cmd.pid"));
  ASSERT_GT(cmd, 1);
  ASSERT_EQ(kill(h.pid, SIGKILL), 0);
  EXPECT_EQ(WaitDone(h).state, TaskState::kLost);
  EXPECT_TRUE(Alive(cmd));
  exec_->Signal(h, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !Alive(cmd); })) << "command " << cmd;
}

TEST_F(LocalExecutorTest, SecondInstanceAdoptsARunningTask) {
  TaskHandle h = MustLaunch(Shell("while [ ! -e go ]; do sleep 0.02; done; exit 5", "adopt"));
  ASSERT_EQ(exec_->Poll(h).state, TaskState::kRunning);
  // As after a server restart: the first executor is gone, a new one gets only the handle.
  exec_ = std::make_unique<LocalExecutor>(config_);
  TaskHandle persisted{h.pid, h.start_ticks, h.run_dir, h.cgroup_path};
  EXPECT_EQ(exec_->Poll(persisted).state, TaskState::kRunning);
  std::ofstream(dir_ + "/go") << "go\n";
  TaskStatus st = WaitDone(persisted);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 5);
  // The shim is reaped, not left a zombie.
  EXPECT_TRUE(WaitFor([&] {
    exec_->Poll(persisted);
    return ProcInfo(h.pid).state == '\0';
  }));
}

TEST_F(LocalExecutorTest, FindRunningTasksFindsLiveShimsByRunDir) {
  TaskHandle running =
      MustLaunch(Shell("touch started; while [ ! -e go ]; do sleep 0.02; done", "found"));
  TaskHandle ended = MustLaunch(Shell("exit 0", "ended"));
  // Past its shim's exec: a shim's command line is in /proc only once that is complete.
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/started"); }));
  ASSERT_EQ(WaitDone(ended).state, TaskState::kExited);
  // The exit file comes just before the shim's own exit: wait until it is gone and reaped.
  ASSERT_TRUE(WaitFor([&] {
    exec_->Poll(ended);
    return ProcInfo(ended.pid).state == '\0';
  }));
  // As after a restart: a new instance, and only the run dir prefix to go on.
  LocalExecutor restarted(config_);
  std::map<std::string, TaskHandle> found = restarted.FindRunningTasks(dir_ + "/run-");
  ASSERT_EQ(found.count(running.run_dir), 1u);
  EXPECT_EQ(found[running.run_dir].pid, running.pid);
  EXPECT_EQ(found[running.run_dir].start_ticks, running.start_ticks);
  EXPECT_EQ(found.count(ended.run_dir), 0u);
  EXPECT_TRUE(restarted.FindRunningTasks(dir_ + "/elsewhere/").empty());
  std::ofstream(dir_ + "/go") << "go\n";
  EXPECT_EQ(WaitDone(running).exit_code, 0);
}

// The bug of issue 11: the shim's command line had `--cgroup=<dir>` before the run dir when
// cgroups were enforced, and the /proc scan read the run dir from a fixed place, so after a
// crash such a shim could be neither adopted nor killed. A plain directory stands in for the
// cgroup2 mount, so this runs where cgroups are not writable.
TEST_F(LocalExecutorTest, FindRunningTasksFindsAShimStartedWithACgroup) {
  ExecutorConfig c = config_;
  c.cgroup_root = dir_ + "/cgroup2";
  c.assume_cgroups_for_test = true;
  LocalExecutor e(c);
  ASSERT_TRUE(e.cgroups_enforced());
  TaskLaunch l = Shell("while [ ! -e go ]; do sleep 0.02; done", "cg-found");
  const std::string cgroup = c.cgroup_root + "/kumo/" + l.cgroup_name;
  std::filesystem::create_directories(cgroup);
  for (const char* file : {"/memory.max", "/cpu.max", "/cgroup.procs"})
    std::ofstream(cgroup + file).flush();
  l.memory_bytes = 64 << 20;
  auto launched = e.Launch(l);
  ASSERT_TRUE(launched.has_value()) << launched.error().message();
  const TaskHandle h = *launched;
  handles_.push_back(h);
  // The shim read --cgroup too: it wrote its pid into cgroup.procs before forking the command.
  // (Its command line is in /proc only once its exec is complete, which is not yet sure when
  // Launch returns.)
  ASSERT_TRUE(WaitFor([&] { return ReadFile(cgroup + "/cgroup.procs") == std::to_string(h.pid); }))
      << ReadFile(cgroup + "/cgroup.procs");
  // As after a restart: a new instance, and only the run dir prefix to go on.
  std::map<std::string, TaskHandle> found = LocalExecutor(c).FindRunningTasks(dir_ + "/");
  ASSERT_EQ(found.count(h.run_dir), 1u);
  EXPECT_EQ(found[h.run_dir].pid, h.pid);
  EXPECT_EQ(found[h.run_dir].start_ticks, h.start_ticks);
  EXPECT_EQ(found[h.run_dir].cgroup_path, cgroup);
  EXPECT_EQ(h.cgroup_path, cgroup);
  EXPECT_EQ(ReadFile(cgroup + "/memory.max"), "67108864");
  std::ofstream(dir_ + "/go") << "go\n";
  EXPECT_EQ(WaitDone(h, &e).exit_code, 0);
}

TEST_F(LocalExecutorTest, RecycledPidIsNeitherRunningNorSignalled) {
  TaskHandle h = MustLaunch(Task({"sleep", "1000"}, "recycled"));
  ASSERT_EQ(exec_->Poll(h).state, TaskState::kRunning);
  // Same pid, another start time: what a handle looks like after the pid was reused.
  TaskHandle stale = h;
  stale.start_ticks += 1;
  stale.run_dir = dir_ + "/run-stale";  // no exit file there
  EXPECT_EQ(exec_->Poll(stale).state, TaskState::kLost);
  exec_->Signal(stale, SIGKILL);
  std::this_thread::sleep_for(50ms);  // give a wrongly sent signal time to land
  EXPECT_EQ(exec_->Poll(h).state, TaskState::kRunning);
  EXPECT_TRUE(Alive(h.pid));
}

TEST_F(LocalExecutorTest, StaleExitFileFromAnEarlierAttemptIsIgnored) {
  TaskLaunch l = Task({"sleep", "1000"}, "stale-exit");
  std::filesystem::create_directories(l.run_dir);
  std::ofstream(l.run_dir + "/exit") << "exit 0\n";
  TaskHandle h = MustLaunch(l);
  EXPECT_EQ(exec_->Poll(h).state, TaskState::kRunning);
}

TEST_F(LocalExecutorTest, LaunchErrors) {
  auto fails = [&](TaskLaunch l, StatusCode code, const std::string& part) {
    auto r = exec_->Launch(l);
    ASSERT_FALSE(r.has_value()) << "launched " << l.argv[0];
    EXPECT_EQ(r.error().code(), code) << r.error().message();
    EXPECT_NE(r.error().message().find(part), std::string::npos) << r.error().message();
  };
  TaskLaunch missing_cwd = Task({"true"}, "e1");
  missing_cwd.cwd = dir_ + "/nope";
  fails(missing_cwd, StatusCode::kNotFound, "cwd");
  std::ofstream(dir_ + "/file") << "x";
  TaskLaunch file_cwd = Task({"true"}, "e2");
  file_cwd.cwd = dir_ + "/file";
  fails(file_cwd, StatusCode::kInvalidArgument, "not a directory");
  fails(Task({"no-such-command-kumo"}, "e3"), StatusCode::kNotFound,
        "not found on the task's PATH");
  fails(Task({"./nope.sh"}, "e4"), StatusCode::kNotFound, "not found");
  // Relative paths are relative to cwd; a file without the exec bit is refused.
  fails(Task({"./file"}, "e5"), StatusCode::kFailedPrecondition, "not an executable");
  fails(Task({}, "e6"), StatusCode::kInvalidArgument, "argv is empty");
  TaskLaunch no_path = Task({"sh", "-c", "true"}, "e7");
  no_path.env.clear();  // execvp's default path then: /bin:/usr/bin, where sh is
  EXPECT_GT(MustLaunch(no_path).pid, 1);
  TaskLaunch empty_path = Task({"sh"}, "e8");
  empty_path.env["PATH"] = dir_ + "/empty-dir";
  fails(empty_path, StatusCode::kNotFound, "not found");
  // Nothing was left running by the failures (only e7 ran, and it exits at once).
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/run-e1/exit"));
}

// The gang launch every executor inherits: all or nothing.
TEST_F(LocalExecutorTest, LaunchGangIsAllOrNothing) {
  auto gang = exec_->LaunchGang({Shell("sleep 30", "g0"), Shell("sleep 30", "g1")});
  ASSERT_TRUE(gang.has_value()) << gang.error().message();
  ASSERT_EQ(gang->size(), 2u);
  handles_.insert(handles_.end(), gang->begin(), gang->end());
  EXPECT_EQ((*gang)[0].run_dir, dir_ + "/run-g0");
  EXPECT_EQ((*gang)[1].run_dir, dir_ + "/run-g1");
  EXPECT_EQ(exec_->Poll((*gang)[1]).state, TaskState::kRunning);

  // Rank 1 cannot start: rank 0, already running, is killed again and the error names rank 1.
  auto broken = exec_->LaunchGang({Shell("sleep 30", "b0"), Task({"no-such-command-kumo"}, "b1")});
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(broken.error().message().rfind("task 1: ", 0), 0u) << broken.error().message();
  EXPECT_TRUE(WaitFor([&] { return exec_->FindRunningTasks(dir_ + "/run-b").empty(); }));
}

TEST_F(LocalExecutorTest, ExecFailureIsExitCode127WithAMessage) {
  // Passes Launch's checks (an executable file) but exec fails: its interpreter is missing.
  const std::string script = dir_ + "/bad.sh";
  std::ofstream(script) << "#!/nonexistent/interpreter\n";
  chmod(script.c_str(), 0755);
  TaskHandle h = MustLaunch(Task({script}, "exec-fail"));
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited);
  EXPECT_EQ(st.exit_code, 127);
  EXPECT_NE(ReadFile(h.run_dir + "/stderr").find("cannot run"), std::string::npos)
      << ReadFile(h.run_dir + "/stderr");
}

// Tasks that end at once while other threads launch (and so reap) must still launch: each
// shim's stat is read before any other thread may reap it.
TEST_F(LocalExecutorTest, ConcurrentLaunchesFromSeveralThreads) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<TaskHandle> hs(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        auto r = exec_->Launch(n % 2 ? Shell("exit " + std::to_string(n), "conc" + std::to_string(n))
                                     : Task({"true"}, "conc" + std::to_string(n)));
        if (r) hs[n] = *r;
        else ADD_FAILURE() << "launch " << n << ": " << r.error().message();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& h : hs) {
    ASSERT_GT(h.pid, 1);
    handles_.push_back(h);
  }
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    TaskStatus st = WaitDone(hs[n]);
    EXPECT_EQ(st.state, TaskState::kExited);
    EXPECT_EQ(st.exit_code, n % 2 ? n : 0);
  }
}

TEST_F(LocalExecutorTest, WithoutCgroupsTasksRunUnenforced) {
  // A directory that is not a cgroup2 mount: the probe fails quietly.
  ExecutorConfig c = config_;
  c.cgroup_root = dir_;
  LocalExecutor e(c);
  EXPECT_FALSE(e.cgroups_enforced());
  TaskLaunch l = Shell("exit 0", "nocg");
  l.cpu_millis = 500;
  l.memory_bytes = 64 << 20;
  auto h = e.Launch(l);
  ASSERT_TRUE(h.has_value()) << h.error().message();
  handles_.push_back(*h);
  EXPECT_TRUE(h->cgroup_path.empty());
  EXPECT_EQ(WaitDone(*h, &e).exit_code, 0);
  ExecutorConfig off = config_;
  off.use_cgroups = false;
  EXPECT_FALSE(LocalExecutor(off).cgroups_enforced());
}

TEST_F(LocalExecutorTest, CgroupLimitsWhenEnforced) {
  if (!exec_->cgroups_enforced())
    GTEST_SKIP() << "cgroup v2 with memory+cpu is not writable here (" << config_.cgroup_root
                 << "); tasks run with accounted-only limits";
  TaskLaunch l = Shell("cat /proc/self/cgroup; while [ ! -e go ]; do sleep 0.02; done", "cg");
  l.cpu_millis = 500;
  l.memory_bytes = 64 << 20;
  TaskHandle h = MustLaunch(l);
  ASSERT_FALSE(h.cgroup_path.empty());
  EXPECT_EQ(ReadFile(h.cgroup_path + "/memory.max"), "67108864\n");
  EXPECT_EQ(ReadFile(h.cgroup_path + "/cpu.max"), "50000 100000\n");
  const std::string leaf = h.cgroup_path.substr(h.cgroup_path.rfind('/'));
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(h.run_dir + "/stdout").find("/kumo" + leaf) != std::string::npos;
  })) << ReadFile(h.run_dir + "/stdout");
  std::ofstream(dir_ + "/go") << "go\n";
  EXPECT_EQ(WaitDone(h).exit_code, 0);
  // The empty cgroup goes away (perhaps on a later Poll, once the shim has left it).
  EXPECT_TRUE(WaitFor([&] {
    exec_->Poll(h);
    return !std::filesystem::exists(h.cgroup_path);
  }));
}

// Issue #12: an isolated task runs as its own uid in a mount namespace where the hidden dir
// (here the test's 0700 temp dir, standing in for the data dir) shows nothing but its writable
// dir and its read-only dataset (bound at another path, as at a job's mountPath); the shim itself stays outside and still records the exit.
TEST_F(LocalExecutorTest, IsolatedTaskSeesOnlyItsOwnDirsAsItsOwnUid) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (setuid, mount namespaces)";
  const std::string out = dir_ + "/out", data = dir_ + "/dataset";
  std::filesystem::create_directories(out);
  std::filesystem::create_directories(data);
  const std::string mount = dir_ + "/mnt/ds";  // inside the hidden dir: made in the tmpfs
  chmod(data.c_str(), 0755);
  std::ofstream(dir_ + "/secret.txt") << "s3cret-of-the-server\n";
  std::ofstream(data + "/file") << "dataset-bytes\n";
  TaskLaunch l = Shell(
      "id -u > $OUT/uid; cat $SECRET; echo cat=$? > $OUT/tries; cat $DS/file > $OUT/ds; "
      "touch $DS/new 2>/dev/null; echo touch=$? >> $OUT/tries; pwd > $OUT/pwd",
      "isolated");
  l.env["OUT"] = out;
  l.env["DS"] = mount;
  l.env["SECRET"] = dir_ + "/secret.txt";
  l.cwd = dir_ + "/work";  // exists for the server, hidden from the task
  std::filesystem::create_directories(l.cwd);
  l.isolation = {true, 201234, 201234, {}, dir_, {out}, {{data, mount}}};
  TaskHandle h = MustLaunch(l);
  TaskStatus st = WaitDone(h);
  ASSERT_EQ(st.state, TaskState::kExited) << ReadFile(l.run_dir + "/stderr");
  EXPECT_EQ(st.exit_code, 0) << ReadFile(l.run_dir + "/stderr");
  EXPECT_EQ(ReadFile(out + "/uid"), "201234\n");
  EXPECT_EQ(ReadFile(out + "/tries"), "cat=1\ntouch=1\n");  // hidden; read-only
  EXPECT_EQ(ReadFile(out + "/ds"), "dataset-bytes\n");
  EXPECT_EQ(ReadFile(out + "/pwd"), "/tmp\n");  // its cwd is hidden: Slurm's fallback
  EXPECT_EQ(ReadFile(l.run_dir + "/stdout").find("s3cret"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(data + "/new"));
  struct stat o;
  ASSERT_EQ(stat(out.c_str(), &o), 0);
  EXPECT_EQ(o.st_uid, 201234u);
  EXPECT_EQ(o.st_mode & 07777, 0700u);
  struct stat log;
  ASSERT_EQ(stat((l.run_dir + "/stdout").c_str(), &log), 0);
  EXPECT_EQ(log.st_uid, 0u);  // the shim's, which the task cannot open
  EXPECT_EQ(log.st_mode & 07777, 0600u);
}

// The job's environment reaches the command but not the shim, which runs as root: with a
// dynamically linked shim (`kumo __task-shim`, or an ASan build) a job's LD_PRELOAD ran its
// library as root. The loader reads a process's initial environment, /proc/PID/environ.
TEST_F(LocalExecutorTest, TheTasksEnvironmentReachesTheCommandButNotTheShim) {
  TaskLaunch l = Shell("echo \"$SECRET_TOKEN $LD_PRELOAD\"; sleep 30", "env");
  l.env["SECRET_TOKEN"] = "s3cret";
  l.env["LD_PRELOAD"] = "/nonexistent/evil.so";
  TaskHandle h = MustLaunch(l);
  WaitFor([&] { return !ReadFile(l.run_dir + "/stdout").empty(); });
  EXPECT_EQ(ReadFile(l.run_dir + "/stdout"), "s3cret /nonexistent/evil.so\n");
  const std::string shim_env = ReadFile("/proc/" + std::to_string(h.pid) + "/environ");
  EXPECT_FALSE(shim_env.empty());
  EXPECT_EQ(shim_env.find("SECRET_TOKEN"), std::string::npos) << shim_env;
  EXPECT_EQ(shim_env.find("LD_PRELOAD"), std::string::npos) << shim_env;
  EXPECT_FALSE(std::filesystem::exists(l.run_dir + "/env"));  // read once, then removed
  exec_->Signal(h, SIGKILL);
  WaitDone(h);
}

// A mount point outside the hidden dir is made on the host with the task's identity, never as
// root: a dataset mountPath of /etc/nologin made that directory as root and locked every
// non-root login out. Where the task itself may create directories, they are made, as its own.
TEST_F(LocalExecutorTest, AMountPointOutsideTheHiddenDirIsMadeAsTheTask) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (setuid, mount namespaces)";
  ::kumo::testing::TempDir host;  // stands in for the host's file system
  const std::string etc = host.Path("etc"), scratch = host.Path("scratch");
  const std::string data = dir_ + "/dataset";
  for (const std::string& d : {etc, scratch, data}) std::filesystem::create_directories(d);
  chmod(host.path().c_str(), 0755);
  chmod(etc.c_str(), 0755);      // root's, like /etc
  chmod(scratch.c_str(), 01777);  // like /tmp
  chmod(data.c_str(), 0755);

  TaskLaunch l = Shell("true", "mount-in-etc");
  l.isolation = {true, 201236, 201236, {}, dir_, {}, {{data, etc + "/nologin"}}};
  TaskStatus st = WaitDone(MustLaunch(l));
  EXPECT_EQ(st.state, TaskState::kExited);
  EXPECT_NE(st.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(etc + "/nologin"));
  EXPECT_NE(ReadFile(l.run_dir + "/stderr").find("cannot make mount point"), std::string::npos)
      << ReadFile(l.run_dir + "/stderr");

  TaskLaunch ok = Shell("ls " + scratch + "/mnt/ds", "mount-in-scratch");
  ok.isolation = {true, 201236, 201236, {}, dir_, {}, {{data, scratch + "/mnt/ds"}}};
  st = WaitDone(MustLaunch(ok));
  EXPECT_EQ(st.exit_code, 0) << ReadFile(ok.run_dir + "/stderr");
  struct stat made;
  ASSERT_EQ(stat((scratch + "/mnt").c_str(), &made), 0);
  EXPECT_EQ(made.st_uid, 201236u);  // the task's, not root's
}

// A bind path with "." or ".." is refused before the shim runs (and by the shim itself).
TEST_F(LocalExecutorTest, ASandboxPathWithDotDotIsRefused) {
  TaskLaunch l = Shell("true", "dotdot");
  l.isolation = {true, 201237, 201237, {}, "", {dir_ + "/x/.."}, {}};
  auto h = exec_->Launch(l);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), StatusCode::kInvalidArgument);
  l.isolation = {true, 201237, 201237, {}, "", {}, {{dir_, "/data/../etc"}}};
  EXPECT_FALSE(exec_->Launch(l).has_value());
  // Nor a mount point inside a dir the task owns: its links would lead root's mkdir.
  std::filesystem::create_directories(dir_ + "/ckpt");
  l.isolation = {true, 201237, 201237, {}, "", {dir_ + "/ckpt"}, {{dir_, dir_ + "/ckpt/evil/x"}}};
  h = exec_->Launch(l);
  ASSERT_FALSE(h.has_value());
  EXPECT_NE(h.error().message().find("inside the task's own dir"), std::string::npos)
      << h.error().message();
}

// A dataset's mount point is an absolute path without ':' (the shim's --ro=SOURCE:TARGET).
TEST_F(LocalExecutorTest, ADatasetMountPointMustBeAbsoluteWithoutAColon) {
  TaskLaunch l = Shell("true", "bad-mount");
  l.isolation = {true, 201235, 201235, {}, "", {}, {{dir_, "/data/a:b"}}};
  auto h = exec_->Launch(l);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), StatusCode::kInvalidArgument);
  l.isolation.readonly_binds = {{dir_, "data"}};
  EXPECT_FALSE(exec_->Launch(l).has_value());
}

TEST_F(LocalExecutorTest, IsolationNeverRunsATaskAsRoot) {
  TaskLaunch l = Shell("true", "as-root");
  l.isolation = {true, 0, 1000, {}, "", {}, {}};
  auto h = exec_->Launch(l);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), StatusCode::kInvalidArgument);
  l.isolation = {true, 1000, 1000, {}, "relative/dir", {}, {}};
  EXPECT_FALSE(exec_->Launch(l).has_value());
}

}  // namespace
}  // namespace kumo::executor
