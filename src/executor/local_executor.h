// LocalExecutor: runs each task as a process on this machine.
//
// Every task runs under a shim: `kumo __task-shim ...` (the kumo binary re-executed; see
// RunTaskShim). The shim starts a new session (so the task has its own process group whose id
// is the shim's pid), forks the task's command with its cwd, env and stdout/stderr files, waits
// for it, and writes the exit status to `<run_dir>/exit` atomically (temp file + rename).
// Because the shim, not the server, waits for the task, a task outlives a `kill -9` of the
// server, and a restarted server can adopt it: the handle (pid + the process start time from
// /proc/<pid>/stat, which tells a recycled pid apart) is persisted by the caller, and Poll()
// reads the exit file, or reports the task lost when the shim is gone without one.
//
// Signals go to the whole process group (-pgid): SIGTERM for a checkpoint, then SIGKILL after
// the grace period (the caller keeps the timer). The shim ignores SIGTERM/SIGINT/SIGHUP (and the
// other asynchronous signals a checkpoint might use, e.g. SIGUSR1) itself and forwards nothing
// (the group already got it); a SIGKILL of the group kills the shim too, and then there is no
// exit file: Poll says kLost and the caller knows it killed the task. A signal that arrives
// before the command is forked (a cancel right after Launch) is passed on to it once it exists.
//
// Lost tasks: if the shim alone dies without writing the exit file (someone `kill -9`s it, the
// OOM killer picks it), Poll reports kLost even though the command may still be running: nobody
// is left to learn its exit status. The command is deliberately not tied to the shim's life
// (no PR_SET_PDEATHSIG), because it must survive the server; instead Signal still reaches the
// orphaned group (see Signal), so the caller can clean up a lost task with SIGKILL.
//
// cgroup v2: where /sys/fs/cgroup is a writable cgroup2 mount with the memory and cpu
// controllers delegated, each task gets its own cgroup under `kumo/` with memory.max and
// cpu.max from its request (enforced); otherwise limits are only accounted by the scheduler.
// cgroups_enforced() tells which; docs/control-plane.md says the same for users.
//
// Thread safety: Launch, Signal and Poll may be called from several threads at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "executor/task_shim.h"

namespace kumo::executor {

struct TaskLaunch {
  std::vector<std::string> argv;           // argv[0] is looked up on PATH if it has no '/'
  std::string cwd;                         // must exist
  std::map<std::string, std::string> env;  // the complete environment of the task
  std::string run_dir;                     // created if missing; holds stdout, stderr, exit
  int64_t cpu_millis = 0;                  // for cgroup cpu.max (0: no limit)
  int64_t memory_bytes = 0;                // for cgroup memory.max (0: no limit)
  std::string cgroup_name;                 // leaf name, e.g. "job-12.a1.worker-0"
};

// What the caller persists to find the task again after a restart.
struct TaskHandle {
  pid_t pid = 0;            // the shim's pid = the task's process group id
  int64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat at launch
  std::string run_dir;
  std::string cgroup_path;  // empty when cgroups are not enforced
};

enum class TaskState { kRunning, kExited, kLost };

struct TaskStatus {
  TaskState state = TaskState::kRunning;
  int exit_code = 0;    // kExited: the command's exit code, or 128+signal if killed by one
  int term_signal = 0;  // kExited: the signal that killed it, 0 if it exited
};

struct ExecutorConfig {
  std::string shim_binary;  // path of the kumo binary (re-executed as `__task-shim`)
  bool use_cgroups = true;  // try cgroup v2; silently accounted-only if unavailable
  std::string cgroup_root = "/sys/fs/cgroup";  // the cgroup2 mount (tests may point elsewhere)
  // Tests only: take cgroup_root as a delegated cgroup2 mount without probing it, so that the
  // --cgroup path through Launch and the shim runs where cgroups are not writable (a plain
  // directory whose task cgroup holds memory.max, cpu.max and cgroup.procs stands in for one).
  bool assume_cgroups_for_test = false;
};

class LocalExecutor {
 public:
  explicit LocalExecutor(ExecutorConfig config);
  ~LocalExecutor();

  // Starts the task. Fails (nothing left running) when cwd is missing, argv empty, the command
  // is not found or not executable (the shim reports exec failure as exit code 127 with a line
  // in stderr; Launch itself fails only for what it can check before forking). A stale `exit`
  // file in run_dir (an earlier attempt's) is removed first, so Poll cannot mistake it for this
  // attempt's. stdout/stderr are appended to, so attempts accumulate in one log.
  Result<TaskHandle> Launch(const TaskLaunch& launch);

  // Sends `sig` to the task's process group. Never signals a recycled pid: it signals only when
  // /proc/<pid> still shows the shim (same start_ticks), or when no process has that pid at all
  // (the shim died, its group may live on: Linux does not reuse a pid number while a process
  // group of that id exists, so the group is still ours). No-op otherwise and when it is gone.
  void Signal(const TaskHandle& handle, int sig);

  // Current state; reaps the shim if it is our child. Never blocks. Removes the task's cgroup
  // once the task has exited (or is lost) and the cgroup is empty (retried on later calls while
  // stragglers remain).
  TaskStatus Poll(const TaskHandle& handle);

  bool cgroups_enforced() const { return cgroups_enforced_; }

  // Exit notification, so a caller need not poll every task to learn that one ended. Each
  // launched shim is watched through a pidfd (Linux >= 5.3); Watch() adds one that another
  // instance launched (adoption after a restart). WaitForExits blocks up to timeout_ms and
  // returns the pids of watched shims that ended since the last call (each once); Poll() of a
  // finished task stops watching it. Without pidfds (watching() false) it only sleeps: callers
  // must keep polling every task now and then anyway, as the safety net.
  void Watch(const TaskHandle& handle);
  std::vector<pid_t> WaitForExits(int timeout_ms);
  bool watching() const { return epoll_fd_ >= 0; }

 private:
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
