// PassState: the working state of one scheduling pass, shared by the pass's job loop and the
// policies it calls (internal to the core).
//
// It holds the cluster (a journaled ClusterState: tentative placements, preemption trials and
// reservation probes are rolled back, never copied), the jobs and projects of the snapshot in
// dense form, and the EASY reservation once one is made. The job loop (pass.h) decides; the
// preemption and backfill policies (preemption/, backfill/) read and change this state through
// the operations below, so every policy admits jobs and counts quota the same way.
//
// Not thread-safe; one per pass, over a Snapshot that outlives it.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/status.h"
#include "core/cluster_state.h"
#include "core/decisions.h"
#include "core/gang_placer.h"
#include "core/node_index.h"
#include "core/scheduler.h"

namespace kumo::core::internal {

struct JobRt {
  const Job* job = nullptr;
  int32_t project = -1;
  int32_t user = 0;
  ResourceVector request;          // total over tasks
  std::vector<PlacedTask> placed;  // running / terminating / admitted in this pass
  bool running = false;            // holds resources (running, terminating or admitted)
  bool terminating = false;
  bool admitted_in_pass = false;
  Seconds start = 0;
  std::string invalid;  // why a pending job can never run
  GangRequest gang;
  std::string shape;             // identical shapes place identically (see PlaceCached)
  std::vector<PlacedTask> hint;  // last pass's reservation placement (Job::reservation)
  bool gang_built = false;       // BuildGang ran
};

struct ProjectRt {
  const Project* spec = nullptr;
  ResourceVector usage;          // running + terminating + admitted in pass
  std::vector<int32_t> running;  // running, not terminating; see SortRunning
  bool running_dirty = true;
};

// The EASY reservation of this pass (at most one).
struct Reservation {
  int32_t job = -1;
  Seconds at = 0;  // the reserved start time
  // By node id: the reservation places a task there. Its holds, and the releases by the reserved
  // time that it counts on, are all on these nodes.
  std::vector<uint8_t> on_node;
};

class PassState {
 public:
  PassState(const SchedulerConfig& config, const PlacementPolicy& policy, const Snapshot& snap)
      : config(config), snap(snap), placer(cluster, policy, config.max_domain_attempts) {}
  PassState(const PassState&) = delete;
  PassState& operator=(const PassState&) = delete;

  // Indexes nodes and projects and loads the running jobs' placements. Fails (InvalidArgument)
  // when the snapshot is inconsistent as a whole.
  Status Load();

  // Validates pending job j (sets JobRt::invalid) and resolves its topology level.
  void PreparePending(int32_t j);
  // The expensive part of preparing a pending job, done when the pass first considers it.
  void BuildGang(int32_t j);
  // Places j's gang under `use`, skipping shapes this pass already proved unplaceable.
  bool PlaceCached(int32_t j, Use use, std::vector<PlacedTask>* out, bool all_domains = false);
  // j now holds `placed` (it starts, or waits for terminating tasks) and counts as usage.
  void Admit(int32_t j, std::vector<PlacedTask> placed);
  // Victim v stops: it leaves its project's running jobs and counts as terminating.
  // REQUIRES: its tasks were released into `term` (Release, ReleaseKind::kUsedToTerm).
  void MarkTerminating(int32_t v);

  // Quota. `extra`: usage to count on top of the project's (the reserved job's request, for a
  // job of the same project that would still run at the reserved time).
  std::optional<std::string> QuotaMaxViolation(int32_t j, const ResourceVector& extra) const;
  // Index into projects[p].running (sorted) where borrowed capacity begins.
  size_t BorrowingStart(int32_t p);
  // Whether project p stays within its guarantee (on every quota kind) after adding `add`.
  bool InGuaranteeAfter(int32_t p, const ResourceVector& add) const;

  std::vector<TaskPlacement> ToPlacements(const std::vector<PlacedTask>& placed) const;
  // "replicas x GPUs per task" for every group, joined by " + ".
  std::string JobTasksText(const JobRt& jr) const;

  const SchedulerConfig& config;
  const Snapshot& snap;
  ClusterState cluster;
  GangPlacer placer;
  NodeIndex nodes;
  std::vector<JobRt> jobs;          // by snapshot index
  std::vector<ProjectRt> projects;  // by snapshot index
  std::vector<int32_t> pending;     // job indices, snapshot order
  int32_t user_count = 0;           // dense user ids over (project, user)
  std::vector<int> quota_kinds;     // resource kinds some project has a guarantee for
  // The lowest priority of a job running (not terminating) and preemptible when the pass began;
  // INT32_MAX when there is none. Victims come only from those jobs, so a preemptor of no higher
  // priority has no victim under the "priority" rule (eviction.cc skips its search: with ten
  // thousand jobs of one priority, the search over every running job for every blocked one was
  // most of a pass).
  int32_t lowest_victim_priority = INT32_MAX;
  // The lowest Job::las_declared_priority of any job in the snapshot; none while LAS is off.
  std::optional<int32_t> lowest_declared_priority;
  std::optional<Reservation> reservation;
  // Gang shapes for which the "defragment" policy found no move in this pass. Idle GPUs only
  // get fewer as the pass goes on, so trying again for an equal shape would mostly repeat the
  // search. (Policies are shared by concurrent passes; what they remember lives here.)
  std::unordered_set<std::string> failed_moves;
  std::unordered_set<std::string> failed_fills;  // the same for the "fill" policy
  // Bumped whenever a job starts or turns terminating in this pass (Admit, MarkTerminating): what
  // depends only on the running jobs and their ends may be reused while it is unchanged.
  uint64_t running_epoch = 0;
  // EASY backfill: the running_epoch at which no running job had a known end, so no job could be
  // given a reservation (easy.cc). Searching again for each blocked job found the same nothing
  // in O(all jobs): with 8,000 running pods without maxRuntime and 2,000 blocked, 100 ms a pass.
  std::optional<uint64_t> no_release_epoch;

 private:
  Status IndexProjects();
  Status LoadJobs();
  void LoadRunning(int32_t j);
  void LoadHint(int32_t j);
  void SortRunning(int32_t p);

  std::unordered_map<std::string, int32_t> project_by_name_;
  std::map<std::pair<int32_t, std::string>, int32_t> user_ids_;
  // Gang shapes the cluster aggregates proved unplaceable in this pass, by Use. Within a pass
  // what kNow and kShort may use only shrinks (starts take; holds grow, or are taken together
  // with the free they hold), so such a proof stays true. (Failures of the greedy search itself
  // are not cached: the search is not monotone, and a shape that failed may fit later.)
  std::unordered_set<std::string> failed_now_, failed_short_;
};

}  // namespace kumo::core::internal
