// LocalExecutor: the Executor (executor.h) that runs each task as a process on this machine.
//
// Every task runs under a shim, task_shim.c: `kumo-shim __task-shim ...` (the small static
// binary beside kumo) or `kumo __task-shim ...` where there is none; ExecutorConfig::shim_binary
// says which, shim_command_line.h has the command line. Launch spawns the shim as the leader of
// a new session (so the task's process group id is the shim's pid), with the task's environment
// as its own, none of the server's descriptors, and every signal blocked until its handlers are
// in place. The shim joins the task's cgroup (when enforced), forks the command with its cwd,
// stdin from /dev/null and stdout/stderr appended to <run_dir>/stdout and <run_dir>/stderr,
// waits for it, and writes its exit status to <run_dir>/exit atomically (temp file, fsync,
// rename); a command that cannot be started gets "exit 127" and a line in stderr.
//
// Because the shim, not the server, waits for the task, a task outlives a `kill -9` of the
// server, and a restarted server can adopt it: the handle (pid + the process start time from
// /proc/<pid>/stat, which tells a recycled pid apart) is persisted by the caller, and Poll()
// reads the exit file, or reports the task lost when the shim is gone without one. A shim whose
// handle was never persisted is found by the run dir on its command line (FindRunningTasks).
//
// Signals go to the whole process group (-pgid): SIGTERM for a checkpoint, then SIGKILL after
// the grace period (the caller keeps the timer). The asynchronous signals a checkpoint might
// use (SIGTERM, SIGINT, SIGHUP, SIGUSR1, the real-time ones, ...) that arrive before the shim
// has forked the command (a cancel right after Launch) are recorded and passed on to the
// command once it exists; from the fork on the shim ignores its own copy, as the group signal
// reaches the command directly. A SIGKILL of the group kills the shim too, and then there is no
// exit file: Poll says kLost and the caller knows it killed the task.
//
// Lost tasks: if the shim alone dies without writing the exit file (someone `kill -9`s it, the
// OOM killer picks it), Poll reports kLost even though the command may still be running: nobody
// is left to learn its exit status. The command is deliberately not tied to the shim's life
// (no PR_SET_PDEATHSIG), because it must survive the server; instead Signal still reaches the
// orphaned group (see Signal), so the caller can clean up a lost task with SIGKILL.
//
// Isolation (TaskLaunch::isolation, docs/security.md): the shim's child enters the task's
// sandbox before exec (task_sandbox.h: own mount namespace hiding the data dir, the task's dirs
// bound back, datasets read-only, hidepid /proc, the task's uid, no_new_privs). The shim itself
// stays this process's uid, so Signal, Poll and adoption work as for any task; run dirs are 0700
// and the shim's files 0600, out of the task's sight.
//
// cgroup v2: where /sys/fs/cgroup is a writable cgroup2 mount with the memory and cpu
// controllers delegated, each task gets its own cgroup under `kumo/` with memory.max and
// cpu.max from its request (enforced); otherwise limits are only accounted by the scheduler.
// cgroups_enforced() tells which; docs/control-plane.md says the same for users.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "executor/executor.h"
#include "executor/task_shim.h"

namespace kumo::executor {

struct ExecutorConfig {
  std::string shim_binary;  // kumo-shim, or the kumo binary (both run `<binary> __task-shim`)
  bool use_cgroups = true;  // try cgroup v2; silently accounted-only if unavailable
  std::string cgroup_root = "/sys/fs/cgroup";  // the cgroup2 mount (tests may point elsewhere)
  // Tests only: take cgroup_root as a delegated cgroup2 mount without probing it, so that the
  // --cgroup path through Launch and the shim runs where cgroups are not writable (a plain
  // directory whose task cgroup holds memory.max, cpu.max and cgroup.procs stands in for one).
  bool assume_cgroups_for_test = false;
};

class LocalExecutor final : public Executor {
 public:
  explicit LocalExecutor(ExecutorConfig config);
  ~LocalExecutor() override;

  // Also fails when the command is not executable (checked here as execvp will look for it) or
  // the task's cgroup cannot be set up. A stale `exit` file in run_dir (an earlier attempt's) is
  // removed first, so Poll cannot mistake it for this attempt's.
  Result<TaskHandle> Launch(const TaskLaunch& launch) override;
  bool NodesAreElastic() const override { return false; }  // the inventory's, fixed at start
  bool NeedsLocalSandbox() const override { return true; }

  // Sends `sig` to the task's process group. Never signals a recycled pid: it signals only when
  // /proc/<pid> still shows the shim (same start_ticks), or when no process has that pid at all
  // (the shim died, its group may live on: Linux does not reuse a pid number while a process
  // group of that id exists, so the group is still ours). No-op otherwise and when it is gone.
  void Signal(const TaskHandle& handle, int sig) override;

  // Reaps the shim if it is a child of this process. Removes the task's cgroup once the task
  // has exited (or is lost) and the cgroup is empty (retried on later calls while stragglers
  // remain).
  TaskStatus Poll(const TaskHandle& handle) override;

  // Each shim is watched through a pidfd (Linux >= 5.3); without pidfds watching() is false.
  void Watch(const TaskHandle& handle) override;
  std::vector<pid_t> WaitForExits(int timeout_ms) override;
  bool watching() const override { return epoll_fd_ >= 0; }

  // The shims in /proc by the run dir on their command line (FindShims), whichever kumo binary
  // or executor instance started them.
  std::map<std::string, TaskHandle> FindRunningTasks(const std::string& run_dir_prefix) override;

  bool cgroups_enforced() const { return cgroups_enforced_; }

 private:
  // Launch's steps: the launch is well-formed and its command and cwd usable; the task's cgroup
  // with its limits (the path); the task's environment in run_dir/env; the shim started in its
  // own session with nothing of ours and a fixed environment.
  Status CheckLaunch(const TaskLaunch& launch) const;
  Result<std::string> MakeTaskCgroup(const TaskLaunch& launch);
  Result<pid_t> SpawnShim(std::vector<std::string> args) const;
  void ReapChildren();      // waitpid(WNOHANG) every shim this instance spawned; needs mu_
  void ReapChild(pid_t pid);  // the same for one shim; needs mu_
  void Unwatch(pid_t pid, int64_t start_ticks);  // needs mu_
  // Adds `pidfd` (opened for handle.pid, owned from here on) to the epoll set; needs mu_.
  void AddWatchLocked(const TaskHandle& handle, int pidfd);
  void TryRemoveCgroups();  // rmdir the task cgroups queued for removal; needs mu_

  ExecutorConfig config_;
  bool cgroups_enforced_ = false;
  std::string cgroup_root_;  // <cgroup_root>/kumo when enforced

  std::mutex mu_;
  std::set<pid_t> children_;                 // spawned here and not yet reaped
  std::set<std::string> cgroups_to_remove_;  // task cgroups whose tasks have ended
  uint64_t next_cgroup_id_ = 0;              // for launches without a cgroup_name
  int epoll_fd_ = -1;                        // the pidfds of watched shims; -1: no pidfds
  struct Watched {
    int pidfd;
    int64_t start_ticks;
  };
  std::map<pid_t, Watched> watched_;         // watched shims by pid
};

// The shim's main (task_shim.h has the contract; the code is C, task_shim.c).
inline int RunTaskShim(int argc, char** argv) { return kumo_run_task_shim(argc, argv); }

}  // namespace kumo::executor
