// LocalExecutor: validation, spawning the shim, polling and signalling tasks, cgroup v2 setup.
// The shim itself (what runs between the server and the command) is in task_shim.c.
#include "executor/local_executor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "base/path.h"
#include "executor/private_files.h"
#include "executor/procfs.h"
#include "executor/shim_command_line.h"

namespace kumo::executor {
namespace {

constexpr long kCgroup2SuperMagic = 0x63677270;  // CGROUP2_SUPER_MAGIC from <linux/magic.h>
constexpr int64_t kCpuPeriodMicros = 100000;     // cpu.max period: the kernel's default 100 ms
constexpr int64_t kMinCpuQuotaMicros = 1000;     // the kernel rejects quotas below 1 ms

std::string Errno(int err) { return std::strerror(err); }

// Writes to an existing control file (cgroupfs): no O_CREAT, no O_TRUNC, one write() call,
// because the kernel parses each write as one command.
bool WriteControlFile(const std::string& path, std::string_view value, int* err) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  ssize_t n;
  do {
    n = write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) *err = errno;
  close(fd);
  return n == static_cast<ssize_t>(value.size());
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Paths in the task's terms: the shim chdirs to cwd before execvp, so relative paths (in argv[0]
// or in PATH entries) are relative to cwd, not to the server's working directory.
std::string InCwd(const std::string& cwd, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return cwd + "/" + path;
}

// Checks what execvp will do in the shim, so the common mistakes fail Launch with a clear
// message instead of an exit code 127 later.
Status CheckCommand(const std::string& cmd, const std::string& cwd,
                    const std::map<std::string, std::string>& env) {
  if (cmd.empty()) return Status::InvalidArgument("argv[0] is empty");
  if (cmd.find('/') != std::string::npos) {
    std::string path = InCwd(cwd, cmd);
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
      return Status::NotFound("command \"" + cmd + "\" not found: " + Errno(errno));
    if (!IsExecutableFile(path))
      return Status::FailedPrecondition("command \"" + cmd + "\" is not an executable file");
    return Status::Ok();
  }
  // glibc's execvp searches confstr(_CS_PATH) ("/bin:/usr/bin") when PATH is unset.
  auto it = env.find("PATH");
  std::string path_var = it != env.end() ? it->second : "/bin:/usr/bin";
  size_t begin = 0;
  for (;;) {
    size_t end = path_var.find(':', begin);
    std::string dir = path_var.substr(begin, end == std::string::npos ? end : end - begin);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
    if (IsExecutableFile(InCwd(cwd, dir) + "/" + cmd)) return Status::Ok();
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return Status::NotFound("command \"" + cmd + "\" not found on the task's PATH \"" + path_var +
                          "\"");
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// What the shim's sandbox needs and cannot check well itself (its complaints end as exit 127):
// never root, clean absolute existing paths (base/path.h; the shim refuses "." and ".." too), no
// more binds than its command line takes.
Status CheckIsolation(const TaskIsolation& iso) {
  if (!iso.enabled) return Status::Ok();
  if (iso.uid == 0 || iso.gid == 0)
    return Status::InvalidArgument("an isolated task may not run as uid or gid 0");
  if (iso.writable_dirs.size() > KUMO_SANDBOX_MAX_BINDS ||
      iso.readonly_binds.size() > KUMO_SANDBOX_MAX_BINDS || iso.groups.size() > 64)
    return Status::InvalidArgument("too many binds or groups for the task sandbox");
  std::vector<std::string> paths = iso.writable_dirs;
  for (const ReadOnlyBind& b : iso.readonly_binds) {
    if (!IsCleanAbsolutePath(b.target) || b.target.find(':') != std::string::npos)
      return Status::InvalidArgument("sandbox mount point \"" + b.target +
                                     "\" is not an absolute path without ':', '.' or '..'");
    // The task owns its writable dirs (across attempts): a link it left there would lead the
    // mount point's creation, which is root's inside them, anywhere on the host.
    for (const std::string& w : iso.writable_dirs)
      if (IsAtOrBeneath(b.target, w))
        return Status::InvalidArgument("sandbox mount point \"" + b.target +
                                       "\" is inside the task's own dir \"" + w + "\"");
    paths.push_back(b.source);
  }
  if (!iso.hidden_dir.empty()) paths.push_back(iso.hidden_dir);
  for (const std::string& p : paths) {
    struct stat st;
    if (!IsCleanAbsolutePath(p))
      return Status::InvalidArgument("sandbox path \"" + p +
                                     "\" is not an absolute path without '.' or '..'");
    if (stat(p.c_str(), &st) != 0)
      return Status::NotFound("sandbox path \"" + p + "\": " + Errno(errno));
  }
  return Status::Ok();
}

// A cgroup leaf name becomes one directory under kumo/: no separators, and nothing that could
// be mistaken for the kernel's "cgroup.*" files or our own ".probe-*" directory.
bool ValidCgroupName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  if (name.find('/') != std::string::npos || HasNul(name)) return false;
  return name.rfind("cgroup.", 0) != 0;
}

// Where every prerequisite holds, returns <root>/kumo with +memory +cpu enabled for its
// children. Any failure means "not enforced" (the caller falls back to accounting only).
std::optional<std::string> ProbeCgroups(const std::string& root) {
  struct statfs fs;
  if (statfs(root.c_str(), &fs) != 0 || static_cast<long>(fs.f_type) != kCgroup2SuperMagic)
    return std::nullopt;
  if (access(root.c_str(), W_OK) != 0) return std::nullopt;
  auto controllers = ReadSmallFile(root + "/cgroup.controllers");
  if (!controllers) return std::nullopt;
  bool memory = false, cpu = false;
  std::istringstream words(*controllers);
  for (std::string w; words >> w;) {
    memory = memory || w == "memory";
    cpu = cpu || w == "cpu";
  }
  if (!memory || !cpu) return std::nullopt;
  const std::string dir = root + "/kumo";
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return std::nullopt;
  int err = 0;
  // Both levels: root's subtree_control makes the controllers available in kumo/, kumo's makes
  // them available in each task's cgroup. (kumo/ itself holds no processes, as cgroup v2's
  // no-internal-process rule requires.)
  if (!WriteControlFile(root + "/cgroup.subtree_control", "+memory +cpu", &err))
    return std::nullopt;
  if (!WriteControlFile(dir + "/cgroup.subtree_control", "+memory +cpu", &err)) return std::nullopt;
  // Prove a task cgroup can be made and limited before promising enforcement.
  const std::string probe = dir + "/.probe-" + std::to_string(getpid());
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) return std::nullopt;
  bool ok = WriteControlFile(probe + "/memory.max", "max", &err) &&
            WriteControlFile(probe + "/cpu.max", "max 100000", &err);
  rmdir(probe.c_str());
  if (!ok) return std::nullopt;
  return dir;
}

// The exit file: "exit <code>\n" or "signal <number>\n", written by the shim.
std::optional<TaskStatus> ReadExitFile(const std::string& run_dir) {
  auto text = ReadSmallFile(run_dir + "/exit");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string kind;
  int value = -1;
  TaskStatus status;
  status.state = TaskState::kExited;
  if (!(in >> kind >> value) || value < 0) {
    // The shim renames a complete file into place, so this is not a half-written file but
    // something foreign: the exit status is unknown.
    status.state = TaskState::kLost;
    return status;
  }
  if (kind == "exit") {
    status.exit_code = value;
  } else if (kind == "signal") {
    status.term_signal = value;
    status.exit_code = 128 + value;
  } else {
    status.state = TaskState::kLost;
  }
  return status;
}

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

Status RemoveIfPresent(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status(StatusCode::kInternal, "cannot remove " + path + ": " + Errno(errno));
  return Status::Ok();
}

// The task's environment for the shim to hand to the command (task_shim.h: <run_dir>/env,
// "K=V" entries each ending in NUL, 0600 in the private run dir).
Status WriteTaskEnv(const std::string& run_dir, const std::map<std::string, std::string>& env) {
  std::string bytes;
  for (const auto& [k, v] : env) bytes += k + "=" + v + '\0';
  const std::string path = run_dir + "/env";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status(StatusCode::kInternal, "cannot write " + path + ": " + Errno(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int err = errno;
  close(fd);
  if (done != bytes.size())
    return Status(StatusCode::kInternal, "cannot write " + path + ": " + Errno(err));
  return Status::Ok();
}

}  // namespace

LocalExecutor::LocalExecutor(ExecutorConfig config) : config_(std::move(config)) {
  if (config_.use_cgroups && config_.assume_cgroups_for_test) {
    cgroups_enforced_ = true;
    cgroup_root_ = config_.cgroup_root + "/kumo";
  } else if (config_.use_cgroups) {
    if (auto dir = ProbeCgroups(config_.cgroup_root)) {
      cgroups_enforced_ = true;
      cgroup_root_ = *dir;
    }
  }
  // pidfds need Linux >= 5.3; without them callers fall back to polling every task.
  int self = PidfdOpen(getpid());
  if (self >= 0) {
    close(self);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  }
}

LocalExecutor::~LocalExecutor() {
  // Tasks outlive the executor on purpose (they must survive a server restart); only tidy up.
  std::lock_guard lock(mu_);
  ReapChildren();
  TryRemoveCgroups();
  for (const auto& [pid, w] : watched_) close(w.pidfd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void LocalExecutor::Watch(const TaskHandle& handle) {
  if (epoll_fd_ < 0 || handle.pid <= 1) return;
  std::lock_guard lock(mu_);
  auto it = watched_.find(handle.pid);
  if (it != watched_.end()) {
    if (it->second.start_ticks == handle.start_ticks) return;
    // The number was recycled: the old shim is long gone.
    close(it->second.pidfd);
    watched_.erase(it);
  }
  int fd = PidfdOpen(handle.pid);
  if (fd < 0) return;  // already gone: the caller's next full poll finds out
  // The pidfd pins the process it was opened for; if that is still our shim (same start time),
  // it is the right one, even should the number be recycled later.
  ProcStat ps = ReadProcStat(handle.pid);
  if (ps.presence != ProcPresence::kPresent || ps.start_ticks != handle.start_ticks) {
    close(fd);
    return;
  }
  AddWatchLocked(handle, fd);
}

void LocalExecutor::AddWatchLocked(const TaskHandle& handle, int pidfd) {
  auto it = watched_.find(handle.pid);
  if (it != watched_.end()) {  // a recycled number: the old shim is long gone
    close(it->second.pidfd);
    watched_.erase(it);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;  // readable once the process has exited
  ev.data.u64 = static_cast<uint64_t>(handle.pid);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
    close(pidfd);
    return;
  }
  watched_[handle.pid] = {pidfd, handle.start_ticks};
}

std::vector<pid_t> LocalExecutor::WaitForExits(int timeout_ms) {
  std::vector<pid_t> out;
  if (epoll_fd_ < 0) {
    usleep(static_cast<useconds_t>(timeout_ms) * 1000);
    return out;
  }
  epoll_event evs[128];
  int n = epoll_wait(epoll_fd_, evs, 128, timeout_ms);
  for (int i = 0; i < n; ++i) out.push_back(static_cast<pid_t>(evs[i].data.u64));
  return out;
}

void LocalExecutor::Unwatch(pid_t pid, int64_t start_ticks) {
  auto it = watched_.find(pid);
  if (it == watched_.end() || it->second.start_ticks != start_ticks) return;
  close(it->second.pidfd);  // which also takes it out of the epoll set
  watched_.erase(it);
}

Result<TaskHandle> LocalExecutor::Launch(const TaskLaunch& launch) {
  {
    std::lock_guard lock(mu_);
    ReapChildren();  // shims that exited since the last call, even if nobody polls them again
  }
  if (Status s = CheckLaunch(launch); !s.ok()) return Error(s);
  if (Status s = MakePrivateDirs(launch.run_dir); !s.ok()) return Error(s);
  // An exit file left by an earlier attempt in the same run_dir would read as this one's.
  for (const char* name : {"/exit", "/exit.tmp"})
    if (Status s = RemoveIfPresent(launch.run_dir + name); !s.ok()) return Error(s);

  std::string cgroup_path;
  if (cgroups_enforced_) {
    auto made = MakeTaskCgroup(launch);
    if (!made) return Error(made.error());
    cgroup_path = *made;
  }
  if (Status s = WriteTaskEnv(launch.run_dir, launch.env); !s.ok()) {
    if (!cgroup_path.empty()) rmdir(cgroup_path.c_str());
    return Error(s);
  }
  auto spawned = SpawnShim(
      ShimArgv(config_.shim_binary,
               {launch.run_dir, launch.cwd, cgroup_path, launch.argv, launch.isolation}));
  if (!spawned) {
    if (!cgroup_path.empty()) rmdir(cgroup_path.c_str());
    (void)RemoveIfPresent(launch.run_dir + "/env");  // nobody will read it
    return Error(spawned.error());
  }
  const pid_t pid = *spawned;
  // Until the pid joins children_ nobody reaps it (other threads' Launch and Poll reap only
  // pids in children_), so it cannot vanish or be recycled: a task that ends at once stays a
  // zombie, and its stat and pidfd are still there to read.
  ProcStat ps = ReadProcStat(pid);
  if (ps.presence != ProcPresence::kPresent) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    std::lock_guard lock(mu_);
    children_.insert(pid);
    ReapChildren();
    return Error(Status(StatusCode::kInternal,
                        "cannot read /proc/" + std::to_string(pid) + "/stat of the task shim: " +
                            (ps.error ? Errno(ps.error) : "unparsable")));
  }
  TaskHandle handle{pid, ps.start_ticks, launch.run_dir, cgroup_path};
  // Unreaped, so the pidfd is for the very process just read: no second stat as in Watch.
  int fd = epoll_fd_ >= 0 ? PidfdOpen(pid) : -1;
  std::lock_guard lock(mu_);
  if (fd >= 0) AddWatchLocked(handle, fd);
  children_.insert(pid);
  return handle;
}

Status LocalExecutor::CheckLaunch(const TaskLaunch& launch) const {
  if (launch.argv.empty()) return Status::InvalidArgument("argv is empty");
  for (const auto& a : launch.argv)
    if (HasNul(a)) return Status::InvalidArgument("argv contains a NUL character");
  if (launch.cwd.empty()) return Status::InvalidArgument("cwd is empty");
  if (launch.run_dir.empty()) return Status::InvalidArgument("run_dir is empty");
  if (HasNul(launch.cwd) || HasNul(launch.run_dir))
    return Status::InvalidArgument("cwd or run_dir contains a NUL character");
  for (const auto& [k, v] : launch.env) {
    if (k.empty() || k.find('=') != std::string::npos || HasNul(k) || HasNul(v))
      return Status::InvalidArgument("invalid environment variable name \"" + k + "\"");
  }
  struct stat st;
  if (stat(launch.cwd.c_str(), &st) != 0)
    return Status::NotFound("cwd \"" + launch.cwd + "\": " + Errno(errno));
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument("cwd \"" + launch.cwd + "\" is not a directory");
  if (Status s = CheckCommand(launch.argv[0], launch.cwd, launch.env); !s.ok()) return s;
  return CheckIsolation(launch.isolation);
}

Result<std::string> LocalExecutor::MakeTaskCgroup(const TaskLaunch& launch) {
  std::string name = launch.cgroup_name;
  if (name.empty()) {
    std::lock_guard lock(mu_);
    name = "task-" + std::to_string(getpid()) + "-" + std::to_string(next_cgroup_id_++);
  }
  if (!ValidCgroupName(name))
    return Error(Status::InvalidArgument("invalid cgroup name \"" + name + "\""));
  std::string cgroup_path = cgroup_root_ + "/" + name;
  // A leftover from an earlier attempt is reused (mkdir EEXIST): its limits are rewritten.
  if (mkdir(cgroup_path.c_str(), 0755) != 0 && errno != EEXIST)
    return Error(Status(StatusCode::kInternal,
                        "cannot create cgroup " + cgroup_path + ": " + Errno(errno)));
  std::string memory_max =
      launch.memory_bytes > 0 ? std::to_string(launch.memory_bytes) : std::string("max");
  std::string cpu_max = "max " + std::to_string(kCpuPeriodMicros);
  if (launch.cpu_millis > 0) {
    int64_t quota = std::max(kMinCpuQuotaMicros, launch.cpu_millis * kCpuPeriodMicros / 1000);
    cpu_max = std::to_string(quota) + " " + std::to_string(kCpuPeriodMicros);
  }
  int err = 0;
  if (!WriteControlFile(cgroup_path + "/memory.max", memory_max, &err) ||
      !WriteControlFile(cgroup_path + "/cpu.max", cpu_max, &err)) {
    rmdir(cgroup_path.c_str());
    return Error(
        Status(StatusCode::kInternal, "cannot set limits in " + cgroup_path + ": " + Errno(err)));
  }
  return cgroup_path;
}

Result<pid_t> LocalExecutor::SpawnShim(std::vector<std::string> args) const {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The shim's own environment is fixed: the task's is in run_dir/env, which the shim gives
  // the command only as the task's uid (task_shim.h).
  char path_var[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_var, nullptr};

  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  // SETSID: the shim is a session and group leader from its first instruction, so Signal(-pid)
  // works even right after Launch. SETSIGDEF: nothing the server ignores leaks into the task.
  // SETSIGMASK: everything arrives blocked, so a SIGTERM sent before the shim has installed its
  // handlers stays pending (the shim then records and forwards it) instead of killing the shim.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &all);
  // The shim must not hold the server's descriptors: an inherited stdout pipe would keep
  // whoever reads the server's output waiting for EOF until every task ends, and sockets would
  // stay open after the server dies. Its own messages go to run_dir/stderr.
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  int rc =
      posix_spawn(&pid, config_.shim_binary.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Error(Status(StatusCode::kInternal, "cannot start the task shim \"" +
                                                   config_.shim_binary + "\": " + Errno(rc)));
  return pid;
}

void LocalExecutor::Signal(const TaskHandle& handle, int sig) {
  if (handle.pid <= 1) return;  // kill(-1) or kill(0) would reach far more than the task
  ProcStat ps = ReadProcStat(handle.pid);
  if (ps.presence == ProcPresence::kPresent && ps.start_ticks != handle.start_ticks) return;
  if (ps.presence == ProcPresence::kUnknown) return;
  // Present with our start time: the shim (perhaps a zombie) leads the group. Absent: the
  // number is not in use as a pid, and Linux keeps a pid number allocated while any process
  // still uses it as its group or session id, so a surviving group with that id is ours.
  // (The window between this check and kill() is a few microseconds; a new process would have
  // to be given the freed number and make itself a group leader within it.)
  kill(-handle.pid, sig);
}

TaskStatus LocalExecutor::Poll(const TaskHandle& handle) {
  std::lock_guard lock(mu_);
  auto same_shim = [&](const ProcStat& ps) {
    return ps.presence == ProcPresence::kPresent && ps.start_ticks == handle.start_ticks;
  };
  ProcStat ps = handle.pid > 1 ? ReadProcStat(handle.pid) : ProcStat{ProcPresence::kAbsent};
  // A shim of this process that another executor instance spawned (a restart within the
  // process, tests): reap it like our own, or it stays a zombie.
  if (same_shim(ps) && ps.ppid == getpid()) children_.insert(handle.pid);
  ReapChild(handle.pid);
  auto finished = [&](TaskStatus status) {
    Unwatch(handle.pid, handle.start_ticks);
    if (!handle.cgroup_path.empty()) {
      cgroups_to_remove_.insert(handle.cgroup_path);
      TryRemoveCgroups();
    }
    return status;
  };
  if (auto exited = ReadExitFile(handle.run_dir)) return finished(*exited);

  if (handle.pid > 1) ps = ReadProcStat(handle.pid);  // reaping may have just removed it
  if (same_shim(ps) && ps.state != 'Z' && ps.state != 'X') return TaskStatus{TaskState::kRunning};
  if (ps.presence == ProcPresence::kUnknown) return TaskStatus{TaskState::kRunning};
  // The shim writes the exit file before it exits, so a shim that is gone now has either left
  // the file (perhaps just after the first look) or died without writing it.
  if (auto exited = ReadExitFile(handle.run_dir)) return finished(*exited);
  return finished(TaskStatus{TaskState::kLost});
}

std::map<std::string, TaskHandle> LocalExecutor::FindRunningTasks(
    const std::string& run_dir_prefix) {
  return FindShims(run_dir_prefix);
}

void LocalExecutor::ReapChildren() {
  for (auto it = children_.begin(); it != children_.end();) {
    int wstatus;
    pid_t r = waitpid(*it, &wstatus, WNOHANG);
    if (r == *it || (r < 0 && errno == ECHILD)) {
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
}

void LocalExecutor::ReapChild(pid_t pid) {
  if (!children_.count(pid)) return;
  int wstatus;
  pid_t r = waitpid(pid, &wstatus, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) children_.erase(pid);
}

void LocalExecutor::TryRemoveCgroups() {
  for (auto it = cgroups_to_remove_.begin(); it != cgroups_to_remove_.end();) {
    const std::string& path = *it;
    // Handles are persisted and read back: only ever remove a directory directly under ours.
    bool under_root = !cgroup_root_.empty() && path.size() > cgroup_root_.size() + 1 &&
                      path.compare(0, cgroup_root_.size() + 1, cgroup_root_ + "/") == 0 &&
                      path.find('/', cgroup_root_.size() + 1) == std::string::npos &&
                      path.find("..") == std::string::npos;
    // EBUSY: processes (an exiting shim, a straggler the command left behind) are still in it;
    // try again on a later call.
    if (under_root && rmdir(path.c_str()) != 0 && errno == EBUSY) {
      ++it;
    } else {
      it = cgroups_to_remove_.erase(it);
    }
  }
}

}  // namespace kumo::executor
