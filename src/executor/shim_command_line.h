// The local executor's shim command line, written and read in one place: Launch spawns
// `<shim_binary> __task-shim <run_dir> <cwd> [--cgroup=<dir>] [sandbox flags] -- <command...>`
// (ShimArgv; the sandbox flags are task_sandbox.h's, from TaskIsolation), and
// after a restart FindShims reads the same line back from /proc (ParseShimArgv, which is the
// shim's own parser, kumo_parse_task_shim_args in task_shim.c). The run dir comes before the
// optional flag, so a shim is found by it whether or not its task has a cgroup.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "executor/executor.h"

namespace kumo::executor {

struct ShimCommandLine {
  std::string run_dir;
  std::string cwd;
  std::string cgroup_path;           // empty: no --cgroup (cgroups not enforced)
  std::vector<std::string> command;  // the task's argv; REQUIRES: not empty
  TaskIsolation isolation;           // REQUIRES (enabled): at most 64 binds of each kind
};

// The shim's full argv, argv[0] = shim_binary.
std::vector<std::string> ShimArgv(const std::string& shim_binary, const ShimCommandLine& line);

// The inverse of ShimArgv for any shim_binary; nullopt for every other command line.
std::optional<ShimCommandLine> ParseShimArgv(const std::vector<std::string>& argv);

// The shims alive on this machine (of any executor instance, any kumo binary) whose run dir
// starts with `run_dir_prefix`, by run dir. Each handle has the shim's pid and start ticks, its
// run dir and its --cgroup path. A shim shows once its exec is complete, moments after Launch
// has returned. Reads /proc only; safe from any thread.
std::map<std::string, TaskHandle> FindShims(const std::string& run_dir_prefix);

}  // namespace kumo::executor
