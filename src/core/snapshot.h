// Snapshot: everything the scheduling core knows when it makes one pass.
//
// The core is a pure function of a Snapshot and a SchedulerConfig: no I/O, no clock (the
// caller passes `now`), no threads, no hidden randomness. Equal input gives equal decisions.
// Names (nodes, jobs, projects) are the caller's identifiers; the core never invents them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/resources.h"

namespace kumo::core {

struct Label {
  std::string key;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};

enum class TaintEffect { kNoSchedule, kPreferNoSchedule, kNoExecute };

// Kubernetes semantics: a NoSchedule/NoExecute taint repels tasks that do not tolerate it;
// PreferNoSchedule only lowers the node's placement score.
struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::kNoSchedule;
};

// Tolerates taints with `key` (empty key + exists = every taint) and, for kEqual, `value`;
// `effect` empty tolerates every effect.
struct Toleration {
  enum class Operator { kEqual, kExists };
  std::string key;
  Operator op = Operator::kEqual;
  std::string value;
  std::optional<TaintEffect> effect;
};

struct Gpu {
  int32_t index = 0;         // device index on the node (what CUDA_VISIBLE_DEVICES names)
  std::string model;         // e.g. "A100-80G", "V100M32"
  int32_t nvlink_group = 0;  // GPUs sharing an NVLink / NUMA group talk fastest to each other
};

struct Node {
  std::string name;
  // cpu, memory and extended devices the scheduler may hand out. The gpu component is ignored:
  // GPUs are the `gpus` list.
  ResourceVector allocatable;
  std::vector<Gpu> gpus;
  std::vector<Label> labels;
  std::vector<Taint> taints;
  // Domain name at each level of Snapshot::topology_levels (outermost first), e.g.
  // {"spine-1", "leaf-7"}. Empty when the snapshot declares no levels.
  std::vector<std::string> topology;
  bool unschedulable = false;  // cordoned: running tasks stay, nothing new is placed
};

// Where a job's tasks must (or should) be: all within one domain of `level`, where level is
// one of Snapshot::topology_levels, or "node" (all tasks on one node).
struct TopologyConstraint {
  enum class Mode { kNone, kPreferred, kRequired };
  std::string level;
  Mode mode = Mode::kNone;
};

// A set of identical tasks (replicas) of a job, e.g. "launcher" x1, "worker" x8.
struct TaskGroup {
  std::string name;
  int32_t replicas = 1;
  // Per task. gpu_milli is either a multiple of 1000 (whole GPUs, each given entirely to the
  // task) or 1..999 (a share of one physical GPU).
  ResourceVector resources;
  // Acceptable GPU models (any of); empty accepts every model.
  std::vector<std::string> gpu_models;
};

// The placement of one task: node and the GPUs (by device index) with the milli-GPU taken.
struct GpuShare {
  int32_t gpu_index = 0;
  int64_t milli = 0;
  friend bool operator==(const GpuShare&, const GpuShare&) = default;
};
struct TaskPlacement {
  int32_t group = 0;  // index into Job::groups
  int32_t index = 0;  // replica index within the group
  std::string node;
  std::vector<GpuShare> gpus;
  friend bool operator==(const TaskPlacement&, const TaskPlacement&) = default;
};

enum class JobPhase {
  kPending,      // waiting to be placed
  kRunning,      // placed; `placements` holds every task
  kTerminating,  // being stopped (preempted or cancelled): still holds its resources
};

struct Job {
  std::string id;
  std::string project;
  std::string user;
  int32_t priority = 0;     // larger runs first; resolved from the priority class by the caller
  bool may_preempt = true;  // false: the class has preemptionPolicy Never
  bool preemptible = true;  // false: never chosen as a victim
  Seconds submit_time = 0;
  std::vector<TaskGroup> groups;
  std::vector<Label> node_selector;  // every label must be on the node
  std::vector<Toleration> tolerations;
  TopologyConstraint topology;
  // Runtime limit; also the backfill estimate. kNever means none was given.
  Seconds max_runtime = kNever;
  // How long the job will probably run, from the history of similar jobs (runtime_estimate.h);
  // never a limit. EASY reserves on it when there is no max_runtime; "drf-predicted" orders by
  // it (capped at max_runtime). kNever: no estimate.
  Seconds runtime_estimate = kNever;
  // Set by a driver that applies LAS (core/las.h); read only by the gain rule of LAS preemption
  // (SchedulerConfig::preempt_for_gain): the priority the job declared before LAS folded its
  // queue into `priority` (absent: `priority` is the declared one and no preemption is LAS's),
  // and the seconds it has run over all its attempts so far, the current one included.
  std::optional<int32_t> las_declared_priority;
  Seconds executed_s = 0;
  // A running job is not preempted before it has run this long.
  Seconds min_runtime = 0;
  bool checkpointable = false;

  // Pending only: this job preempted victims in an earlier pass (it was a PreemptDecision's
  // preemptor) and has not started yet. The driver sets it from the decisions and clears it when
  // the job starts. Nominated jobs are considered before the queue, so the resources their
  // victims free go to them (like Kubernetes' nominatedNodeName).
  bool nominated = false;
  // Pending only: whether EASY may reserve for it when it is the first blocked job. A driver
  // applying LAS's deadline guard clears it until the guard fires (core/las.h, MayReserve):
  // jobs behind it backfill greedily meanwhile. A job that declared a higher priority than some
  // job in the snapshot (las_declared_priority) may reserve regardless (backfill/easy.cc).
  bool may_reserve = true;
  // Pending only: the placement of this job's reservation in the last pass (the driver copies it
  // from the ReservationDecision). The core keeps it while it is still feasible as early as
  // anything it would find anew, so jobs backfilled around it can never delay the job.
  std::vector<TaskPlacement> reservation;

  JobPhase phase = JobPhase::kPending;
  // Running/terminating jobs only.
  Seconds start_time = 0;
  Seconds last_checkpoint_time = -1;  // -1: never checkpointed in this attempt
  std::vector<TaskPlacement> placements;
};

struct Project {
  std::string name;
  double weight = 1.0;  // fair-share weight (> 0)
  // Quotas per resource kind. guaranteed: always obtainable (reclaimed from borrowers if lent
  // out). max: never exceeded. Defaults: nothing guaranteed, no maximum.
  ResourceVector guaranteed;
  ResourceVector max = ResourceVector::Filled(kUnlimited);
};

struct Snapshot {
  Seconds now = 0;
  // Topology levels from the outermost inwards, e.g. {"spine", "leaf"}. The cluster is the
  // implicit root and "node" the implicit innermost level.
  std::vector<std::string> topology_levels;
  // Names of extended resources, slot i of ResourceVector::extended <-> extended_resources[i].
  std::vector<std::string> extended_resources;
  std::vector<Node> nodes;
  std::vector<Project> projects;
  std::vector<Job> jobs;  // pending, running and terminating
};

}  // namespace kumo::core
