/* The task shim: `kumo-shim __task-shim <run_dir> <cwd> [--cgroup=<dir>] [sandbox] -- argv...`.
 *
 * It sits between the server and the command so that the command's exit status is recorded
 * even when the server is gone: the shim, not the server, is the command's parent. It is kept
 * small and single-threaded; between fork() and exec() the child makes system calls only (and
 * formats numbers), which a single-threaded parent makes safe. With sandbox flags the child
 * enters the task's sandbox there (task_sandbox.h) while the shim stays the server's uid.
 *
 * Plain C with POSIX calls only, so kumo-shim can be linked statically against musl when
 * musl-gcc is installed: glibc's start-up code probes the CPU with cpuid (cache sizes, features),
 * and in a virtual machine every cpuid traps to the hypervisor — about 1 ms of CPU per exec on
 * this VM, more than the rest of the shim. musl's start-up does not. The kumo binary compiles the
 * same file (as C) for its built-in `kumo __task-shim`. */
#define _GNU_SOURCE
#include "executor/task_shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Asynchronous signals the shim ignores once the command runs (and records for it before): they
 * are sent to the task's whole process group (the checkpoint signal may be any of them, e.g.
 * SIGUSR1), and only the command should react. The shim must survive to record the exit.
 * SIGCHLD stays default (ignoring it would make the kernel auto-reap the command and break
 * waitpid); SIGKILL/SIGSTOP cannot be ignored. */
static const int kFixedSignals[] = {SIGHUP,  SIGINT,  SIGQUIT,   SIGTERM, SIGPIPE, SIGUSR1,
                                    SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ,
                                    SIGTSTP, SIGTTIN, SIGTTOU,   SIGSTKFLT, SIGPWR, SIGIO};

static int g_ignored[128];
static int g_ignored_count;

static void CollectIgnoredSignals(void) {
  g_ignored_count = 0;
  for (size_t i = 0; i < sizeof kFixedSignals / sizeof kFixedSignals[0]; ++i)
    g_ignored[g_ignored_count++] = kFixedSignals[i];
  for (int s = SIGRTMIN; s <= SIGRTMAX && g_ignored_count < 128; ++s) g_ignored[g_ignored_count++] = s;
}

/* Signals received before the command was forked (indexed by number; written by the handler). */
static volatile sig_atomic_t g_early_signals[_NSIG];
static void RecordSignal(int sig) {
  if (sig > 0 && sig < _NSIG) g_early_signals[sig] = 1;
}

static void WriteAll(int fd, const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}
static void WriteStr(int fd, const char* s) { WriteAll(fd, s, strlen(s)); }

void kumo_shim_complain(int fd, const char* what, const char* arg, int err) {
  WriteStr(fd, "kumo-shim: ");
  WriteStr(fd, what);
  WriteStr(fd, " \"");
  WriteStr(fd, arg);
  WriteStr(fd, "\": ");
  WriteStr(fd, strerror(err));
  WriteStr(fd, "\n");
}

/* dir + "/" + name into out (PATH_MAX); 0 when it does not fit. */
static int JoinPath(char* out, const char* dir, const char* name) {
  int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
  return n > 0 && n < PATH_MAX;
}

/* Writes run_dir/exit atomically: a reader sees no file or the whole file, and after a crash
 * of the machine the file is either absent or complete (fsync before rename, then the dir). */
static int WriteExitFile(const char* run_dir, const char* content, int err_fd) {
  char tmp[PATH_MAX], final_path[PATH_MAX];
  if (!JoinPath(tmp, run_dir, "exit.tmp") || !JoinPath(final_path, run_dir, "exit")) {
    kumo_shim_complain(err_fd, "cannot write", run_dir, ENAMETOOLONG);
    return 0;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    kumo_shim_complain(err_fd, "cannot write", tmp, errno);
    return 0;
  }
  WriteAll(fd, content, strlen(content));
  int ok = fsync(fd) == 0;
  int fsync_err = errno;
  close(fd);
  if (!ok) {
    kumo_shim_complain(err_fd, "cannot fsync", tmp, fsync_err);
    return 0;
  }
  if (rename(tmp, final_path) != 0) {
    kumo_shim_complain(err_fd, "cannot rename", tmp, errno);
    return 0;
  }
  int dir = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return 1;
}

/* The process group and state of `pid` from /proc/PID/stat ("pid (comm) S ppid pgrp ..."; comm
 * may hold spaces and parentheses, so the fields are read after its last ')'). 0 if unreadable. */
static int ReadGroupAndState(long pid, pid_t* pgrp, char* state) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char* close_paren = strrchr(buf, ')');
  long ppid, group;
  if (close_paren == NULL || sscanf(close_paren + 1, " %c %ld %ld", state, &ppid, &group) != 3)
    return 0;
  *pgrp = (pid_t)group;
  return 1;
}

/* Ends what the command left behind in its process group -- background jobs, daemons that did
 * not call setsid -- so that no process of the task outlives it, holding GPUs the scheduler
 * counts as free and a uid a later job may be given (Slurm's proctrack ends a step's processes
 * the same way). The group is the shim's own (it is the session leader), and the shim must
 * survive to write the exit file, so kill(-pgid) is not an option: the members are found in
 * /proc and sent SIGKILL until a scan finds none alive (zombies are dead already; bounded). A
 * process that left the group (setsid) escapes this; a cgroup, where enforced, holds it. */
static void KillLeftovers(void) {
  const pid_t self = getpid();
  for (int round = 0; round < 100; ++round) {
    DIR* proc = opendir("/proc");
    if (proc == NULL) return;
    int alive = 0;
    struct dirent* e;
    while ((e = readdir(proc)) != NULL) {
      char* end;
      long pid = strtol(e->d_name, &end, 10);
      pid_t pgrp;
      char state;
      if (*end != '\0' || pid <= 1 || pid == self) continue;
      if (!ReadGroupAndState(pid, &pgrp, &state) || pgrp != self) continue;
      if (state == 'Z' || state == 'X') continue;
      kill((pid_t)pid, SIGKILL);
      alive = 1;
    }
    closedir(proc);
    if (!alive) return;
    struct timespec pause = {0, 1000000}; /* 1 ms for the kills to take effect */
    nanosleep(&pause, NULL);
  }
}

static int OpenLog(const char* run_dir, const char* name) {
  char path[PATH_MAX];
  if (!JoinPath(path, run_dir, name)) return -1;
  /* 0600 whatever the umask: an isolated task writes through the descriptor, never the path. */
  return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Reads all of `fd` (at most `max` bytes) into a fresh NUL-terminated buffer; *len its length.
 * NULL with errno set on failure (E2BIG past `max`). */
static char* ReadAll(int fd, size_t max, size_t* len) {
  char* buf = malloc(max + 1);
  if (buf == NULL) return NULL;
  *len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + *len, max - *len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (n == 0) {
      buf[*len] = '\0';
      return buf;
    }
    *len += (size_t)n;
    if (*len == max) {
      errno = E2BIG;
      break;
    }
  }
  int err = errno;
  free(buf);
  errno = err;
  return NULL;
}

/* The task's environment, from <run_dir>/env (written by Launch: "K=V" entries, each ending
 * in NUL), which is then removed (it may hold secrets). NULL with *err = 0 when there is no
 * such file (a shim run by hand: the command inherits the shim's own environment); NULL with
 * *err set when it cannot be read. The shim itself runs with the fixed environment Launch gave
 * it: a job's LD_PRELOAD or GLIBC_TUNABLES must reach the dynamic loader of the command, which
 * runs as the task's uid, never that of a dynamically linked shim, which runs as root. */
static char** ReadTaskEnv(const char* run_dir, int* err) {
  char path[PATH_MAX];
  *err = 0;
  if (!JoinPath(path, run_dir, "env")) {
    *err = ENAMETOOLONG;
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) *err = errno;
    return NULL;
  }
  size_t len = 0;
  char* buf = ReadAll(fd, (size_t)4 << 20, &len);
  if (buf == NULL) *err = errno;
  close(fd);
  unlink(path);
  if (buf == NULL) return NULL;
  size_t count = 0;
  for (size_t i = 0; i < len; ++i) count += buf[i] == '\0';
  char** env = calloc(count + 1, sizeof *env);
  if (env == NULL) {
    free(buf);
    *err = ENOMEM;
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < len && k < count; i += strlen(buf + i) + 1) env[k++] = buf + i;
  return env; /* buf lives as long as the shim */
}

/* Complains, records "exit 127" (the command never ran) and returns 127. */
static int FailBeforeStart(const char* run_dir, int err_fd, const char* what, const char* arg,
                           int err) {
  kumo_shim_complain(err_fd, what, arg, err);
  WriteExitFile(run_dir, "exit 127\n", err_fd);
  return 127;
}

int kumo_parse_task_shim_args(int argc, char** argv, struct kumo_task_shim_args* out) {
  /* argv[0] is "__task-shim"; the run dir and cwd come first so that their positions do not
   * depend on the optional flag. */
  if (argc < 5 || strcmp(argv[0], "__task-shim") != 0) return 0;
  memset(out, 0, sizeof *out);
  int i = 3;
  if (strncmp(argv[i], "--cgroup=", 9) == 0) out->cgroup = argv[i++] + 9;
  for (; i < argc && strcmp(argv[i], "--") != 0; ++i)
    if (kumo_parse_sandbox_flag(argv[i], &out->sandbox) != 1) return 0;
  if (i + 1 >= argc) return 0;
  /* A sandbox needs a uid and a gid, neither root's; a sandbox flag without --uid would run
   * the command unisolated while the command line says otherwise. */
  const struct kumo_task_sandbox* sb = &out->sandbox;
  if (sb->enabled ? sb->gid == 0
                  : (sb->gid != 0 || sb->groups || sb->hide || sb->rw_count || sb->ro_count))
    return 0;
  out->run_dir = argv[1];
  out->cwd = argv[2];
  out->command = argv + i + 1;
  return 1;
}

int kumo_run_task_shim(int argc, char** argv) {
  struct kumo_task_shim_args args;
  if (!kumo_parse_task_shim_args(argc, argv, &args)) {
    fputs("usage: kumo __task-shim <run_dir> <cwd> [--cgroup=<dir>] [--uid=<n> --gid=<n> ...] -- "
          "<command...>\n",
          stderr);
    return 2;
  }
  const char* run_dir = args.run_dir;
  const char* cwd = args.cwd;
  const char* cgroup = args.cgroup;
  char** command = args.command;

  /* Launch spawns us as a session leader already (EPERM then); when run by hand, this is what
   * makes our pid the task's process group id. */
  setsid();
  /* Launch closes the server's descriptors; when run by hand, do not pass ours on either. */
  syscall(SYS_close_range, 3u, ~0u, 0u);

  /* Signals before the command exists (a cancel right after Launch) must not be lost: until the
   * fork they are recorded, then forwarded to the command; from then on the group signal
   * reaches the command directly and the shim ignores its own copy. Launch spawned us with the
   * common ones blocked, so none could take the default action before this handler was set. */
  CollectIgnoredSignals();
  struct sigaction record;
  memset(&record, 0, sizeof record);
  record.sa_handler = RecordSignal;
  sigfillset(&record.sa_mask);
  for (int k = 0; k < g_ignored_count; ++k) sigaction(g_ignored[k], &record, NULL);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGCHLD, &dfl, NULL);
  sigset_t none, shim_signals;
  sigemptyset(&none);
  sigemptyset(&shim_signals);
  for (int k = 0; k < g_ignored_count; ++k) sigaddset(&shim_signals, g_ignored[k]);
  sigprocmask(SIG_SETMASK, &none, NULL); /* delivers (records) what arrived blocked */

  /* First, so that the file (which may hold secrets) goes whatever fails next. */
  int env_err = 0;
  char** task_env = ReadTaskEnv(run_dir, &env_err);

  int out_fd = OpenLog(run_dir, "stdout");
  int err_fd = OpenLog(run_dir, "stderr");
  if (out_fd < 0 || err_fd < 0) {
    /* Nowhere to report to, and the exit file would likely fail the same way: Poll will say
     * kLost, which is the truth (the command never ran). */
    return 127;
  }
  if (env_err != 0) return FailBeforeStart(run_dir, err_fd, "cannot read", "env", env_err);

  if (cgroup != NULL && cgroup[0] != '\0') {
    /* Join before forking, so the command is inside its limits from its first instruction. */
    char procs[PATH_MAX];
    if (!JoinPath(procs, cgroup, "cgroup.procs"))
      return FailBeforeStart(run_dir, err_fd, "cannot open", cgroup, ENAMETOOLONG);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return FailBeforeStart(run_dir, err_fd, "cannot open", procs, errno);
    char self[32];
    int len = snprintf(self, sizeof self, "%d", (int)getpid());
    ssize_t n = write(fd, self, (size_t)len);
    int write_err = errno;
    close(fd);
    if (n != len) return FailBeforeStart(run_dir, err_fd, "cannot join cgroup", cgroup, write_err);
  }

  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return FailBeforeStart(run_dir, err_fd, "cannot open", "/dev/null", errno);

  /* Blocked across the fork: in the child until it has default dispositions again (so a group
   * signal in between acts on the command, not on a copy of our handler); in the shim until
   * they are ignored. */
  sigprocmask(SIG_BLOCK, &shim_signals, NULL);
  pid_t child = fork();
  if (child < 0) return FailBeforeStart(run_dir, err_fd, "cannot fork for", command[0], errno);
  if (child == 0) {
    /* Child: async-signal-safe calls only until exec. */
    for (int k = 0; k < g_ignored_count; ++k) sigaction(g_ignored[k], &dfl, NULL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    if (args.sandbox.enabled && kumo_enter_task_sandbox(&args.sandbox, 2) != 0) _exit(127);
    if (chdir(cwd) != 0) {
      kumo_shim_complain(2, "cannot chdir to", cwd, errno);
      if (!args.sandbox.enabled || chdir("/tmp") != 0) _exit(127);
      WriteStr(2, "kumo-shim: the task runs in /tmp instead\n");
    }
    /* The task's environment from here on: execvp's PATH lookup reads it, and the command's
     * dynamic loader runs with it as the task's uid. */
    if (task_env != NULL) environ = task_env;
    execvp(command[0], command);
    kumo_shim_complain(2, "cannot run", command[0], errno);
    _exit(127);
  }
  close(null_fd);
  close(out_fd);
  /* From now on the group's signals reach the command themselves. Pending copies (blocked
   * since before the fork) are discarded by SIG_IGN; those recorded before the fork are passed
   * on. */
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  for (int k = 0; k < g_ignored_count; ++k) sigaction(g_ignored[k], &ign, NULL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int k = 0; k < g_ignored_count; ++k)
    if (g_early_signals[g_ignored[k]] != 0) kill(child, g_ignored[k]);

  int wstatus = 0;
  pid_t r;
  do {
    r = waitpid(child, &wstatus, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    kumo_shim_complain(err_fd, "cannot wait for", command[0], errno);
    return 127; /* no exit file: Poll reports kLost, as we do not know how the command ended */
  }
  KillLeftovers(); /* before the exit file: once the task reads as exited, it is all gone */
  char content[32];
  int code;
  if (WIFSIGNALED(wstatus)) {
    snprintf(content, sizeof content, "signal %d\n", WTERMSIG(wstatus));
    code = 128 + WTERMSIG(wstatus);
  } else {
    snprintf(content, sizeof content, "exit %d\n", WEXITSTATUS(wstatus));
    code = WEXITSTATUS(wstatus);
  }
  WriteExitFile(run_dir, content, err_fd);
  close(err_fd);
  return code;
}
