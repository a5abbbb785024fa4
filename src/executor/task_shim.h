/* The task shim's main, in C (task_shim.c) so kumo-shim can link statically against musl.
 *
 * Its command line, from "__task-shim" on (argv[0] == "__task-shim"):
 *   __task-shim <run_dir> <cwd> [--cgroup=<dir>] [sandbox flags] -- <command argv...>
 * The run dir is always argv[1], whether or not --cgroup is given: a restarted server finds its
 * shims in /proc by it (FindShims in shim_command_line.h, which parses with
 * kumo_parse_task_shim_args below, the parser the shim itself uses). The task's environment is
 * in <run_dir>/env ("K=V" entries each ending in NUL, written by Launch, removed once read); the
 * shim runs with a fixed environment of its own and gives the command the task's only after the
 * sandbox dropped root (a job's LD_PRELOAD must never reach a dynamically linked shim's loader,
 * which runs as root). Without that file (a shim run by hand) the command inherits the shim's.
 * --cgroup: the shim moves itself into <dir> before forking the command, so the command never
 * runs outside its limits. The sandbox flags (--uid=, --gid=, --groups=, --hide=, --rw=, --ro=;
 * task_sandbox.h) make the command run as another uid in its own mount namespace; the shim
 * itself stays the server's uid, outside it, so the task can neither signal it nor touch its
 * run dir (stdout, stderr and exit are opened or written by the shim, mode 0600). An isolated
 * command whose cwd it cannot enter runs in /tmp instead, with a line in stderr (as Slurm does).
 *
 * kumo_run_task_shim returns the shim's exit code: the command's (128+signal when a signal
 * killed it), 127 when the command could not be started, 2 on a usage error. Must run before
 * the process starts any thread (it forks). */
#ifndef KUMO_EXECUTOR_TASK_SHIM_H_
#define KUMO_EXECUTOR_TASK_SHIM_H_

#include "executor/task_sandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kumo_task_shim_args {
  const char* run_dir;
  const char* cwd;
  const char* cgroup; /* NULL without --cgroup */
  struct kumo_task_sandbox sandbox; /* .enabled == 0 without --uid */
  char** command;     /* the command's argv: at least one element, NULL-terminated like argv */
};

/* "kumo-shim: <what> \"<arg>\": <strerror(err)>\n" to fd, with write() only (async-signal-safe:
 * also used in the child between fork and exec). */
void kumo_shim_complain(int fd, const char* what, const char* arg, int err);

/* Parses the command line above (argv[argc] must be NULL, as in main). Returns 1 and fills
 * *out when it is well formed (pointers into argv), 0 otherwise. */
int kumo_parse_task_shim_args(int argc, char** argv, struct kumo_task_shim_args* out);

int kumo_run_task_shim(int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* KUMO_EXECUTOR_TASK_SHIM_H_ */
