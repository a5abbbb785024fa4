/* The task sandbox (task_sandbox.h has the contract and the order of the steps). Plain C with
 * system calls only, like the rest of the shim, so kumo-shim stays a small static binary; it
 * runs in the shim's child between fork and exec. */
#define _GNU_SOURCE
#include "executor/task_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor/task_shim.h"

#define KUMO_SANDBOX_MAX_GROUPS 64

/* "<prefix><decimal>" with nothing after the number; 1 and *out on success. */
static int ParseId(const char* arg, const char* prefix, unsigned* out) {
  size_t n = strlen(prefix);
  if (strncmp(arg, prefix, n) != 0) return 0;
  const char* digits = arg + n;
  if (*digits < '0' || *digits > '9') return -1;
  char* end = NULL;
  errno = 0;
  unsigned long v = strtoul(digits, &end, 10);
  if (errno != 0 || *end != '\0' || v >= 0xffffffffUL) return -1;
  *out = (unsigned)v;
  return 1;
}

/* Whether the absolute `path` (up to `end`, or its NUL) has a "." or ".." component. */
static int HasDotComponent(const char* path, const char* end) {
  if (end == NULL) end = path + strlen(path);
  for (const char* c = path; c < end; ++c) {
    if (*c != '/') continue;
    const char* name = c + 1;
    size_t len = 0;
    while (name + len < end && name[len] != '/') ++len;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) return 1;
  }
  return 0;
}

/* "<prefix><absolute path>": 1 and *out, -1 for a relative path or one with "." or "..", 0 for
 * another flag. */
static int ParsePath(const char* arg, const char* prefix, const char** out) {
  size_t n = strlen(prefix);
  if (strncmp(arg, prefix, n) != 0) return 0;
  if (arg[n] != '/' || HasDotComponent(arg + n, NULL)) return -1;
  *out = arg + n;
  return 1;
}

static int AddBind(const char* arg, const char* prefix, const char** list, int* count) {
  const char* path = NULL;
  int r = ParsePath(arg, prefix, &path);
  if (r <= 0) return r;
  if (*count >= KUMO_SANDBOX_MAX_BINDS) return -1;
  list[(*count)++] = path;
  return 1;
}

/* "--ro=<source>:<target>", both absolute: split at the last ':' into fresh strings. */
static int AddReadOnlyBind(const char* arg, struct kumo_task_sandbox* sb) {
  const char* value = NULL;
  int r = ParsePath(arg, "--ro=", &value);
  if (r <= 0) return r;
  const char* colon = strrchr(value, ':');
  if (colon == NULL || colon[1] != '/' || sb->ro_count >= KUMO_SANDBOX_MAX_BINDS ||
      HasDotComponent(value, colon))
    return -1;
  char* source = strndup(value, (size_t)(colon - value));
  if (source == NULL) return -1;
  sb->ro[sb->ro_count] = source;
  sb->ro_at[sb->ro_count++] = colon + 1;
  return 1;
}

void kumo_release_sandbox_flags(struct kumo_task_sandbox* sb) {
  for (int i = 0; i < sb->ro_count; ++i) free((char*)sb->ro[i]);
  sb->ro_count = 0;
}

int kumo_parse_sandbox_flag(const char* arg, struct kumo_task_sandbox* sb) {
  int r = ParseId(arg, "--uid=", &sb->uid);
  if (r == 1) {
    sb->enabled = 1;
    return sb->uid == 0 ? -1 : 1; /* never root: the point of the sandbox */
  }
  if (r != 0) return r;
  if ((r = ParseId(arg, "--gid=", &sb->gid)) != 0) return r;
  if (strncmp(arg, "--groups=", 9) == 0) {
    sb->groups = arg + 9;
    int count = 1;
    for (const char* c = sb->groups; *c != '\0'; ++c) {
      if (*c == ',' && (c == sb->groups || c[1] == '\0' || c[1] == ',')) return -1; /* "" */
      if (*c == ',') ++count;
      if ((*c < '0' || *c > '9') && *c != ',') return -1;
    }
    return count <= KUMO_SANDBOX_MAX_GROUPS ? 1 : -1;
  }
  if ((r = ParsePath(arg, "--hide=", &sb->hide)) != 0) return r;
  if ((r = AddBind(arg, "--rw=", sb->rw, &sb->rw_count)) != 0) return r;
  return AddReadOnlyBind(arg, sb);
}

/* mkdir -p of path's missing components (0755); the last one is a directory, or an empty file
 * when `file` (a mount point for a single-file bind). What exists (as the caller's current
 * file-system identity sees it) is left as it is; only what is missing is made, with that
 * identity. */
static int MakeMountPoint(const char* path, int file) {
  char buf[PATH_MAX];
  struct stat st;
  size_t len = strlen(path);
  if (len >= sizeof buf) return ENAMETOOLONG;
  memcpy(buf, path, len + 1);
  for (char* p = buf + 1; *p != '\0'; ++p) {
    if (*p != '/') continue;
    *p = '\0';
    if (stat(buf, &st) != 0 && mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
    *p = '/';
  }
  if (stat(buf, &st) == 0) return 0;
  if (!file) return mkdir(buf, 0755) != 0 && errno != EEXIST ? errno : 0;
  int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

/* The groups of --groups (digits and commas: the parser checked). */
static size_t ParseGroups(const char* p, gid_t* groups);

/* Whether `path` is `dir` or beneath it. */
static int IsBeneath(const char* path, const char* dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* A mount point inside the --hide tmpfs is made as root (the tmpfs is the task's own skeleton,
 * gone with its namespace); anywhere else it is made on the host with the task's file-system
 * identity — its uid, gid and groups — so a job's mountPath creates only what its command
 * could. setfsuid to a non-zero uid drops CAP_DAC_OVERRIDE and the other file capabilities
 * (capabilities(7)); setting it back to 0 restores them for the mounts that follow. */
static int MakeMountPointFor(const struct kumo_task_sandbox* sb, const char* path, int file) {
  if (sb->hide != NULL && IsBeneath(path, sb->hide)) return MakeMountPoint(path, file);
  gid_t groups[KUMO_SANDBOX_MAX_GROUPS];
  if (setgroups(ParseGroups(sb->groups, groups), groups) != 0) return errno;
  setfsgid(sb->gid);
  setfsuid(sb->uid);
  int err = (uid_t)setfsuid((uid_t)-1) == sb->uid ? MakeMountPoint(path, file) : EPERM;
  setfsuid(0);
  setfsgid(0);
  return err;
}

/* Binds the open descriptor `fd` at `target` (read-only when `ro`). */
static int BindAt(const struct kumo_task_sandbox* sb, int fd, const char* target, int ro,
                  int err_fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return kumo_shim_complain(err_fd, "cannot stat", target, errno), -1;
  int err = MakeMountPointFor(sb, target, !S_ISDIR(st.st_mode));
  if (err != 0) return kumo_shim_complain(err_fd, "cannot make mount point", target, err), -1;
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
  if (mount(source, target, NULL, MS_BIND, NULL) != 0)
    return kumo_shim_complain(err_fd, "cannot bind", target, errno), -1;
  if (ro && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                  NULL) != 0)
    return kumo_shim_complain(err_fd, "cannot make read-only", target, errno), -1;
  return 0;
}

static size_t ParseGroups(const char* p, gid_t* groups) {
  size_t n = 0;
  while (p != NULL && *p != '\0' && n < KUMO_SANDBOX_MAX_GROUPS) {
    char* end = NULL;
    groups[n++] = (gid_t)strtoul(p, &end, 10);
    p = *end == ',' ? end + 1 : end;
  }
  return n;
}

/* Step 2: the descriptors of every bind source, --rw dirs given to the task's uid. */
static int OpenSources(const struct kumo_task_sandbox* sb, int* rw_fds, int* ro_fds, int err_fd) {
  for (int i = 0; i < sb->rw_count; ++i) {
    rw_fds[i] = open(sb->rw[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rw_fds[i] < 0) return kumo_shim_complain(err_fd, "cannot open", sb->rw[i], errno), -1;
    if (fchown(rw_fds[i], sb->uid, sb->gid) != 0 || fchmod(rw_fds[i], 0700) != 0)
      return kumo_shim_complain(err_fd, "cannot give to the task", sb->rw[i], errno), -1;
  }
  for (int i = 0; i < sb->ro_count; ++i) {
    ro_fds[i] = open(sb->ro[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ro_fds[i] < 0) return kumo_shim_complain(err_fd, "cannot open", sb->ro[i], errno), -1;
  }
  return 0;
}

/* Step 1. */
static int EnterMountNamespace(int err_fd) {
  if (unshare(CLONE_NEWNS) != 0)
    return kumo_shim_complain(err_fd, "cannot unshare", "mount namespace", errno), -1;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return kumo_shim_complain(err_fd, "cannot make private", "/", errno), -1;
  return 0;
}

/* Steps 3-4: the task's own view of the file system. */
static int BuildMounts(const struct kumo_task_sandbox* sb, const int* rw_fds, const int* ro_fds,
                       int err_fd) {
  /* A --ro target inside a --rw dir would be made by root through whatever links the task left
   * in its own dir (it keeps them across attempts): refused, as LocalExecutor refuses it. */
  for (int i = 0; i < sb->ro_count; ++i)
    for (int w = 0; w < sb->rw_count; ++w)
      if (IsBeneath(sb->ro_at[i], sb->rw[w]))
        return kumo_shim_complain(err_fd, "mount point inside the task's dir", sb->ro_at[i], EPERM),
               -1;
  if (sb->hide != NULL &&
      mount("tmpfs", sb->hide, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m") != 0)
    return kumo_shim_complain(err_fd, "cannot hide", sb->hide, errno), -1;
  for (int i = 0; i < sb->rw_count; ++i)
    if (BindAt(sb, rw_fds[i], sb->rw[i], 0, err_fd) != 0) return -1;
  for (int i = 0; i < sb->ro_count; ++i)
    if (BindAt(sb, ro_fds[i], sb->ro_at[i], 1, err_fd) != 0) return -1;
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0)
    return kumo_shim_complain(err_fd, "cannot mount", "/proc", errno), -1;
  return 0;
}

/* Step 5: the task's identity; after setresuid the process has no capabilities left. */
static int DropPrivileges(const struct kumo_task_sandbox* sb, int err_fd) {
  gid_t groups[KUMO_SANDBOX_MAX_GROUPS];
  if (setgroups(ParseGroups(sb->groups, groups), groups) != 0)
    return kumo_shim_complain(err_fd, "cannot set", "groups", errno), -1;
  if (setresgid(sb->gid, sb->gid, sb->gid) != 0)
    return kumo_shim_complain(err_fd, "cannot set", "gid", errno), -1;
  if (setresuid(sb->uid, sb->uid, sb->uid) != 0)
    return kumo_shim_complain(err_fd, "cannot set", "uid", errno), -1;
  if (geteuid() != sb->uid || getuid() != sb->uid)
    return kumo_shim_complain(err_fd, "cannot set", "uid", EPERM), -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return kumo_shim_complain(err_fd, "cannot set", "no_new_privs", errno), -1;
  return 0;
}

int kumo_enter_task_sandbox(const struct kumo_task_sandbox* sb, int err_fd) {
  int rw_fds[KUMO_SANDBOX_MAX_BINDS], ro_fds[KUMO_SANDBOX_MAX_BINDS];
  /* Sources are opened inside the new namespace: the kernel binds only mounts of the caller's
   * own namespace (EINVAL otherwise), and a descriptor opened before unshare points into the
   * host's. */
  if (EnterMountNamespace(err_fd) != 0) return -1;
  if (OpenSources(sb, rw_fds, ro_fds, err_fd) != 0) return -1;
  if (BuildMounts(sb, rw_fds, ro_fds, err_fd) != 0) return -1;
  /* The descriptors are O_CLOEXEC: exec closes them, and they are the root-opened sources. */
  return DropPrivileges(sb, err_fd);
}
