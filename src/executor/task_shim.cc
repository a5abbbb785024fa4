// The task shim: `kumo __task-shim [--cgroup=<dir>] <run_dir> <cwd> -- argv...`.
//
// It sits between the server and the command so that the command's exit status is recorded
// even when the server is gone: the shim, not the server, is the command's parent. It is kept
// small and single-threaded; everything between fork() and exec() is async-signal-safe.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "executor/local_executor.h"

namespace kumo::executor {
namespace {

// Asynchronous signals the shim ignores once the command runs (and records for it before): they
// are sent to the task's whole process group (the checkpoint signal may be any of them, e.g.
// SIGUSR1), and only the command should react. The shim must survive to record the exit. SIGCHLD
// stays default (ignoring it would make the kernel auto-reap the command and break waitpid);
// SIGKILL/SIGSTOP cannot be ignored.
std::vector<int> IgnoredSignals() {
  std::vector<int> sigs = {SIGHUP,  SIGINT,  SIGQUIT,   SIGTERM,   SIGPIPE, SIGUSR1,
                           SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,   SIGXCPU, SIGXFSZ,
                           SIGTSTP, SIGTTIN, SIGTTOU,   SIGSTKFLT, SIGPWR,  SIGIO};
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) sigs.push_back(s);
  return sigs;
}

// Signals received before the command was forked (indexed by number; written by the handler).
volatile sig_atomic_t g_early_signals[_NSIG] = {};
void RecordSignal(int sig) {
  if (sig > 0 && sig < _NSIG) g_early_signals[sig] = 1;
}

void WriteAll(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}
void WriteStr(int fd, const char* s) { WriteAll(fd, s, std::strlen(s)); }

// "kumo-shim: <what> \"<arg>\": <strerror(err)>\n" with write() only: also used in the child
// between fork and exec.
void Complain(int fd, const char* what, const char* arg, int err) {
  WriteStr(fd, "kumo-shim: ");
  WriteStr(fd, what);
  WriteStr(fd, " \"");
  WriteStr(fd, arg);
  WriteStr(fd, "\": ");
  WriteStr(fd, strerror(err));
  WriteStr(fd, "\n");
}

// Writes run_dir/exit atomically: a reader sees no file or the whole file, and after a crash
// of the machine the file is either absent or complete (fsync before rename, then the dir).
bool WriteExitFile(const std::string& run_dir, const std::string& content, int err_fd) {
  const std::string tmp = run_dir + "/exit.tmp";
  const std::string final_path = run_dir + "/exit";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    Complain(err_fd, "cannot write", tmp.c_str(), errno);
    return false;
  }
  WriteAll(fd, content.data(), content.size());
  bool ok = fsync(fd) == 0;
  int fsync_err = errno;
  close(fd);
  if (!ok) {
    Complain(err_fd, "cannot fsync", tmp.c_str(), fsync_err);
    return false;
  }
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    Complain(err_fd, "cannot rename", tmp.c_str(), errno);
    return false;
  }
  int dir = open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return true;
}

int OpenLog(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

}  // namespace

int RunTaskShim(int argc, char** argv) {
  int i = 1;  // argv[0] is "__task-shim"
  std::string cgroup;
  if (i < argc && std::strncmp(argv[i], "--cgroup=", 9) == 0) cgroup = argv[i++] + 9;
  if (argc - i < 4 || std::strcmp(argv[i + 2], "--") != 0) {
    std::fprintf(stderr,
                 "usage: kumo __task-shim [--cgroup=<dir>] <run_dir> <cwd> -- <command...>\n");
    return 2;
  }
  const std::string run_dir = argv[i];
  const char* cwd = argv[i + 1];
  char** command = argv + i + 3;

  // Launch spawns us as a session leader already (EPERM then); when run by hand, this is what
  // makes our pid the task's process group id.
  setsid();
  // Launch closes the server's descriptors; when run by hand, do not pass ours on either.
  close_range(3, ~0U, 0);

  // Signals before the command exists (a cancel right after Launch) must not be lost: until the
  // fork they are recorded, then forwarded to the command; from then on the group signal
  // reaches the command directly and the shim ignores its own copy. Launch spawned us with the
  // common ones blocked, so none could take the default action before this handler was set.
  const std::vector<int> ignored = IgnoredSignals();
  struct sigaction record = {};
  record.sa_handler = RecordSignal;
  sigfillset(&record.sa_mask);
  for (int s : ignored) sigaction(s, &record, nullptr);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGCHLD, &dfl, nullptr);
  sigset_t none, shim_signals;
  sigemptyset(&none);
  sigemptyset(&shim_signals);
  for (int s : ignored) sigaddset(&shim_signals, s);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // delivers (records) what arrived blocked

  int out_fd = OpenLog(run_dir + "/stdout");
  int err_fd = OpenLog(run_dir + "/stderr");
  if (out_fd < 0 || err_fd < 0) {
    // Nowhere to report to, and the exit file would likely fail the same way: Poll will say
    // kLost, which is the truth (the command never ran).
    return 127;
  }

  auto fail_before_start = [&](const char* what, const char* arg, int err) {
    Complain(err_fd, what, arg, err);
    WriteExitFile(run_dir, "exit 127\n", err_fd);
    return 127;
  };

  if (!cgroup.empty()) {
    // Join before forking, so the command is inside its limits from its first instruction.
    const std::string procs = cgroup + "/cgroup.procs";
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail_before_start("cannot open", procs.c_str(), errno);
    const std::string self = std::to_string(getpid());
    ssize_t n = write(fd, self.data(), self.size());
    int write_err = errno;
    close(fd);
    if (n != static_cast<ssize_t>(self.size()))
      return fail_before_start("cannot join cgroup", cgroup.c_str(), write_err);
  }

  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return fail_before_start("cannot open", "/dev/null", errno);

  // Blocked across the fork: in the child until it has default dispositions again (so a group
  // signal in between acts on the command, not on a copy of our handler); in the shim until
  // they are ignored.
  sigprocmask(SIG_BLOCK, &shim_signals, nullptr);
  pid_t child = fork();
  if (child < 0) return fail_before_start("cannot fork for", command[0], errno);
  if (child == 0) {
    // Child: async-signal-safe calls only until exec.
    for (int s : ignored) sigaction(s, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    if (chdir(cwd) != 0) {
      Complain(2, "cannot chdir to", cwd, errno);
      _exit(127);
    }
    // PATH lookup uses our environment, which Launch set to the task's.
    execvp(command[0], command);
    Complain(2, "cannot run", command[0], errno);
    _exit(127);
  }
  close(null_fd);
  close(out_fd);
  // From now on the group's signals reach the command themselves. Pending copies (blocked since
  // before the fork) are discarded by SIG_IGN; those recorded before the fork are passed on.
  struct sigaction ign = {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  for (int s : ignored) sigaction(s, &ign, nullptr);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : ignored)
    if (g_early_signals[s] != 0) kill(child, s);

  int wstatus = 0;
  pid_t r;
  do {
    r = waitpid(child, &wstatus, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    Complain(err_fd, "cannot wait for", command[0], errno);
    return 127;  // no exit file: Poll reports kLost, as we do not know how the command ended
  }
  std::string content;
  int code;
  if (WIFSIGNALED(wstatus)) {
    content = "signal " + std::to_string(WTERMSIG(wstatus)) + "\n";
    code = 128 + WTERMSIG(wstatus);
  } else {
    content = "exit " + std::to_string(WEXITSTATUS(wstatus)) + "\n";
    code = WEXITSTATUS(wstatus);
  }
  WriteExitFile(run_dir, content, err_fd);
  close(err_fd);
  return code;
}

}  // namespace kumo::executor
