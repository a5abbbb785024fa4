/* kumo-shim: the task shim as its own small, statically linked program.
 *
 * The server starts one shim per task. As `kumo __task-shim` every start paid for loading the
 * whole control plane (libstdc++, yaml-cpp, SQLite, OpenSSL relocations): ~30 ms of CPU per task
 * on this machine under load, which capped a 2-core node at a few dozen short tasks a second.
 * This binary holds only the shim (task_shim.c) and links nothing dynamically; with musl-gcc
 * installed it is linked against musl, whose start-up does not probe the CPU (see task_shim.c).
 * Its command line is the same as the built-in one (`<binary> __task-shim ...`), so adoption
 * after a restart finds either kind; the server uses it when it sits next to the kumo binary. */
#include <stdio.h>
#include <string.h>

#include "executor/task_shim.h"

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "__task-shim") == 0)
    return kumo_run_task_shim(argc - 1, argv + 1);
  fputs("usage: kumo-shim __task-shim <run_dir> <cwd> [--cgroup=<dir>] -- <command...>\n"
        "(started by kumo server for each task; not meant to be run by hand)\n",
        stderr);
  return 2;
}
