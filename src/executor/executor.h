// Executor: what the server drives to run a gang's tasks somewhere and learn how they ended.
//
// LocalExecutor (local_executor.h) runs each task as a process on this machine;
// KubernetesExecutor (kubernetes/kubernetes_executor.h) runs each task as a pod bound to the node
// the core chose. The server launches a gang at once (LaunchGang), persists each TaskHandle, polls (or is woken by WaitForExits), signals
// for checkpoints and kills, and after its own restart adopts what is still running: handles it
// had persisted (Poll + Watch) and tasks it had launched but not yet persisted
// (FindRunningTasks, by run dir).
//
// Tasks outlive the executor object and the server process on purpose: destroying an executor
// never stops a task.
//
// Thread safety: every method may be called from several threads at once (the server's loop
// launches and polls while its exit watcher blocks in WaitForExits).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/snapshot.h"

namespace kumo::executor {

// Who a task runs as and what of this machine's files it sees (docs/security.md). The local
// executor's shim sets it up between fork and exec (task_sandbox.h): a new mount namespace with
// `hidden_dir` covered by an empty tmpfs, `writable_dirs` bound back (given to uid:gid, 0700),
// each of `readonly_binds` bound read-only at its target; procfs showing the task's own processes only; then the uid,
// gid and groups, and no_new_privs. Off: the task runs as the server, seeing what it sees.
// A tree the server made (a dataset version), shown to the task read-only at `target`.
struct ReadOnlyBind {
  std::string source;  // absolute, an existing directory
  std::string target;  // absolute, without ':'; made (empty, 0755) if missing
  bool operator==(const ReadOnlyBind&) const = default;
};

struct TaskIsolation {
  bool enabled = false;
  uid_t uid = 0;                           // REQUIRES (enabled): not 0
  gid_t gid = 0;                           // REQUIRES (enabled): not 0
  std::vector<gid_t> groups;               // supplementary groups; empty: none
  std::string hidden_dir;                  // absolute; empty: nothing hidden
  std::vector<std::string> writable_dirs;  // absolute, existing directories (output, checkpoint)
  std::vector<ReadOnlyBind> readonly_binds;  // a job's datasets at their mountPaths
};

struct TaskLaunch {
  std::vector<std::string> argv;           // argv[0] is looked up on PATH if it has no '/'
  std::string cwd;                         // must exist
  std::map<std::string, std::string> env;  // the complete environment of the task
  std::string run_dir;  // created if missing (0700); holds stdout, stderr, exit (0600)
  int64_t cpu_millis = 0;                  // CPU limit in milli-cores (0: no limit)
  int64_t memory_bytes = 0;                // memory limit in bytes (0: no limit)
  std::string cgroup_name;                 // unique name of the task, e.g. "job-12.a1.t0"
  TaskIsolation isolation;

  // What an executor that runs tasks on other machines needs besides (Kubernetes); the local
  // executor runs every task here and ignores them.
  std::string node;          // the node the scheduling core chose
  std::string image;         // container image (the task group's `image`)
  std::map<std::string, std::string> annotations;  // the job's metadata.annotations
  int64_t gpu_milli = 0;     // GPUs: a multiple of 1000 (whole devices) or a share 1..999
  std::map<std::string, int64_t> extended;  // whole units of named devices, e.g. {"rdma/hca": 1}
  int64_t grace_period_s = 30;  // the job's checkpoint grace: SIGTERM, then this long to exit
  int64_t job_id = 0;
  int32_t attempt = 0;
  int32_t rank = 0;
};

// What the caller persists to find the task again after a restart. run_dir names the task to
// every executor (the Kubernetes executor finds its pod by it); pid, start_ticks and
// cgroup_path are the local executor's and stay 0 / empty elsewhere.
struct TaskHandle {
  pid_t pid = 0;            // the task's process group id (the local shim's pid)
  int64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat at launch: tells a recycled pid apart
  std::string run_dir;
  std::string cgroup_path;  // empty when limits are not enforced
};

enum class TaskState { kRunning, kExited, kLost };

struct TaskStatus {
  TaskState state = TaskState::kRunning;
  int exit_code = 0;    // kExited: the command's exit code, or 128+signal if killed by one
  int term_signal = 0;  // kExited: the signal that killed it, 0 if it exited
  std::string reason;   // why, when the executor knows more than the code: "OOMKilled",
                        // "Evicted", "ErrImagePull", "NodeNotReady"; empty otherwise
};

// A gang the scheduling core did not place in its last pass, and the core's sentence why.
struct WaitingGang {
  int64_t job_id = 0;
  std::string message;  // for people: "needs 16 GPUs in one leaf; largest free leaf has 12"
  // The next attempt's tasks as LaunchGang will receive them, except that `node` is empty; empty
  // when only the sentence changed since the last GangWaits for this job (the server builds
  // launches once per wait, not once per sentence: a queue's sentences change every pass).
  std::vector<TaskLaunch> launches;
};

class Executor {
 public:
  virtual ~Executor() = default;

  // Starts the task. Fails (nothing left running) for what can be checked before starting it:
  // argv, cwd, env, the command's existence. A command that then cannot start ends as kExited
  // with exit code 127. The previous attempt's exit status in run_dir is discarded first;
  // stdout/stderr are appended to, so attempts accumulate in one log.
  virtual Result<TaskHandle> Launch(const TaskLaunch& launch) = 0;

  // Starts every task of a gang, all or nothing: the handles by the launches' order, or an
  // error after whatever had started is stopped again. kUnavailable: the cluster refused for
  // now (a binding conflict, the API server down) and the gang may simply be requeued; any
  // other code: the launch itself is wrong (a missing image, a command not found). The default
  // launches one task after another and kills those started before a failure.
  virtual Result<std::vector<TaskHandle>> LaunchGang(const std::vector<TaskLaunch>& launches);

  // A gang waits for the scheduler, and why; called again whenever the sentence changes.
  // Executors whose tasks are objects that people and tools watch (Kubernetes: pods waiting for
  // their scheduler) show the wait there; the local executor has nowhere to and ignores it.
  // The wait ends with LaunchGang for that job (which may reuse what GangWaits made) or with
  // GangStopsWaiting (cancelled, requeued for later, no longer schedulable). Never blocks:
  // callers hold the server's lock.
  virtual void GangWaits(const WaitingGang&) {}
  virtual void GangStopsWaiting(int64_t /*job_id*/) {}

  // Questions whose answers differ between executors, so that no server code names a kind.
  // Whether nodes come and go on their own (a cluster's Node objects: autoscalers add them, and
  // they are known only once listed): then a job that no node could hold now is not refused at
  // submit; it waits as Unschedulable.
  virtual bool NodesAreElastic() const = 0;
  // Whether tasks run on this machine inside the server's sandbox (task_sandbox.h), whose
  // configuration the server then checks at start; pods are isolated by their container runtime.
  virtual bool NeedsLocalSandbox() const = 0;

  // The nodes to place tasks on now. Executors that run what the server's inventory declares
  // (the local one) return `configured` as it is; the Kubernetes executor returns its Node
  // objects instead (capacity net of pods kumo does not manage, NotReady nodes unschedulable).
  virtual std::vector<core::Node> Nodes(const std::vector<core::Node>& configured) {
    return configured;
  }

  // Sends the POSIX signal `sig` to all of the task's processes: SIGTERM (or the job's
  // checkpoint signal) asks it to save and exit, SIGKILL ends it. Never reaches anything but the
  // task, also for a stale handle; no-op once the task is gone.
  virtual void Signal(const TaskHandle& handle, int sig) = 0;

  // The task's state now; never blocks. kLost: it ended and nobody knows how (it was killed
  // with SIGKILL, or vanished). Works for handles of earlier executor instances (adoption).
  virtual TaskStatus Poll(const TaskHandle& handle) = 0;

  // Exit notification, so the caller need not poll every task to learn that one ended. Tasks
  // this instance launched are watched from Launch on; Watch adds one an earlier instance
  // launched (adoption). WaitForExits blocks up to timeout_ms (milliseconds) and returns the
  // handle.pid of each watched task that ended since the last call, each once; Poll of a
  // finished task stops watching it. When watching() is false WaitForExits only sleeps: callers
  // must poll every task now and then anyway, as the safety net.
  virtual void Watch(const TaskHandle& handle) = 0;
  virtual std::vector<pid_t> WaitForExits(int timeout_ms) = 0;
  virtual bool watching() const = 0;

  // Tasks still running that any instance of this executor launched with a run dir starting
  // with `run_dir_prefix`, by run dir: after a crash, those whose handles were never persisted.
  virtual std::map<std::string, TaskHandle> FindRunningTasks(const std::string& run_dir_prefix) = 0;
};

}  // namespace kumo::executor
