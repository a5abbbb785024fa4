// Translate: the server's records in the words of the scheduling core and of the executor.
//
//   ToCoreJob:   a submitted job (spec, project, priority class) -> core::Job, what one pass reads;
//   ToLaunches:  the core's placements of a gang -> one executor::TaskLaunch per rank, with the
//                environment a distributed-training launcher expects (torchrun's RANK, WORLD_SIZE,
//                LOCAL_RANK, MASTER_ADDR/PORT) and kumo's own KUMO_* variables.
//
// Pure functions: no I/O, no clock, no server state. What they need from outside (priority
// classes, the inventory's extended resources, directories, a free port, inherited variables) is
// passed in, so tests call them directly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/snapshot.h"
#include "executor/executor.h"
#include "server/records.h"

namespace kumo::server {

struct TranslatedJob {
  core::Job job;
  // Non-empty when the job asks for something no node offers (an extended resource the
  // inventory does not name): the job is Unschedulable and never enters a pass.
  std::string invalid;
};

// `job.spec` as the core sees it. A priority class not in `classes` counts as value 0,
// preemptible. `extended_resources` are the inventory's names, in the core's index order
// (core::kExtended0 + i).
TranslatedJob ToCoreJob(const JobRec& job, const std::vector<PriorityClass>& classes,
                        const std::vector<std::string>& extended_resources);

struct LaunchContext {
  std::string attempt_dir;     // the attempt's directory; tasks run in <attempt_dir>/task-<rank>
  std::string checkpoint_dir;  // KUMO_CHECKPOINT_DIR, shared by every attempt of the job
  int master_port = 0;         // MASTER_PORT on 127.0.0.1
  std::map<std::string, std::string> inherited_env;  // the server's PATH, HOME, ... (overridable)
  executor::TaskIsolation isolation;  // every task's (task_isolation.h)
  std::map<std::string, std::string> dataset_paths;  // dataset name -> where the task reads it
};

// One gang start: the tasks to record and what to launch for each, both indexed by rank.
struct LaunchPlan {
  std::vector<TaskRec> tasks;  // handles not set yet
  std::vector<executor::TaskLaunch> launches;
};

// Ranks follow (task group, replica index) order, whatever the placements' order. LOCAL_RANK
// counts ranks per node. A task's env is the inherited variables, then its group's `env`, then
// kumo's variables (these win). REQUIRES: job.attempt is the attempt being started (>= 1); every
// placement names a task group of job.spec.
LaunchPlan ToLaunches(const JobRec& job, const std::vector<core::TaskPlacement>& placements,
                      const LaunchContext& context);

}  // namespace kumo::server
