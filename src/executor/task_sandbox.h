/* The task sandbox: what the shim's child does, as root, between fork and exec so that the
 * command runs as an unprivileged uid that cannot see the server's state (issue #12;
 * docs/security.md is the threat model).
 *
 * On the shim's command line (task_shim.h), all before "--", only when the task is isolated:
 *   --uid=<n> --gid=<n>   the command's uid and gid; REQUIRES: uid != 0 (the parser refuses 0)
 *   --groups=<g1,g2,...>  its supplementary groups (absent: none)
 *   --hide=<dir>          covered by an empty, root-owned tmpfs in the task's mount namespace
 *   --rw=<dir>            (repeatable) bound back at the same path, read-write, after the
 *                         directory itself is given to uid:gid with mode 0700
 *   --ro=<source>:<target> (repeatable) <source> bound read-only at <target> (a job's dataset
 *                         at its mountPath). The source is a tree the server made (a dataset
 *                         version from the node store), opened as root; the split is at the
 *                         last ':' (targets hold none). The missing directories of a target
 *                         outside the --hide dir are made on the host with the TASK's
 *                         file-system identity (setfsuid/setfsgid and its groups), so a job can
 *                         create only what its command could create itself: a target under a
 *                         directory the task cannot write must exist (never /etc/nologin as root)
 * Every path is absolute without "." or ".." components (the parser refuses them: the --rw dirs
 * are given to the task's uid, and "DATA/jobs/7/../.." must not name the data dir).
 *
 * Order of the steps, and why:
 *  1. unshare(CLONE_NEWNS) and make every mount private, so nothing below leaks to the host;
 *  2. open every bind source while the paths still resolve (the tmpfs is about to hide them;
 *     after unshare, because the kernel binds only mounts of the caller's namespace);
 *     chown/chmod the --rw dirs through those descriptors (no path race);
 *  3. mount the tmpfs over --hide, create the mount points inside it, bind each source from
 *     /proc/self/fd/<n> (the descriptor outlives the hidden path), remount --ro binds read-only;
 *  4. a fresh procfs with hidepid=2 over /proc: the task sees only its own uid's processes
 *     (the server's and other jobs' command lines and fds are invisible);
 *  5. setgroups, setresgid, setresuid (which drops every capability), then no_new_privs, so no
 *     setuid binary can give root back.
 * The command keeps the shim's process group, so the server's group signals still reach it. */
#ifndef KUMO_EXECUTOR_TASK_SANDBOX_H_
#define KUMO_EXECUTOR_TASK_SANDBOX_H_

#ifdef __cplusplus
extern "C" {
#endif

#define KUMO_SANDBOX_MAX_BINDS 64

struct kumo_task_sandbox {
  int enabled; /* 1 when --uid was given */
  unsigned uid, gid;
  const char* groups; /* "g1,g2" as given, or NULL */
  const char* hide;   /* NULL: nothing hidden */
  const char* rw[KUMO_SANDBOX_MAX_BINDS];
  int rw_count;
  const char* ro[KUMO_SANDBOX_MAX_BINDS];    /* sources */
  const char* ro_at[KUMO_SANDBOX_MAX_BINDS]; /* their targets */
  int ro_count;
};

/* Takes `arg` if it is one of the flags above: 1 taken, 0 not a sandbox flag, -1 malformed (a
 * bad number, uid 0, too many binds, a relative path). */
int kumo_parse_sandbox_flag(const char* arg, struct kumo_task_sandbox* sb);

/* Frees the --ro sources the parser copied (a --ro flag is split at its last ':'; argv itself is
 * never written, so /proc/PID/cmdline still reads as it was given). The shim never calls it (it
 * execs); an in-process parser (shim_command_line.cc) does once done with `sb`. */
void kumo_release_sandbox_flags(struct kumo_task_sandbox* sb);

/* Steps 1-5 above. REQUIRES: sb->enabled, running as root in a single-threaded child that is
 * about to exec. Returns 0, or -1 after writing one line naming the failed step to err_fd. */
int kumo_enter_task_sandbox(const struct kumo_task_sandbox* sb, int err_fd);

#ifdef __cplusplus
}
#endif

#endif /* KUMO_EXECUTOR_TASK_SANDBOX_H_ */
