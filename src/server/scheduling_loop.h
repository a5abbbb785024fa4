// SchedulingLoop: the control plane's one writer of job progress.
//
// It wakes on every change (ServerState::Kick: a submission, a cancel, a task exit seen by the
// exit watcher) and at least every `tick_s`, and then, under state.mu:
//   1. polls the running tasks (only those whose shim the executor saw end, and all of them once
//      a tick period) and records exits and losses;
//   2. advances each job: a cancel while pending, failures, success, deadlines, grace periods;
//   3. runs a pass of the scheduling core on a snapshot (at most one per pass_min_interval_s, at
//      least one a second) and applies its decisions: preemptions, starts, reservations, the
//      queue order and the waiting jobs' reasons.
// The core runs and tasks spawn with state.mu released, so API requests proceed meanwhile.
//
// Thread safety: Start and Stop from one thread (the ControlPlane's); the loop's own fields are
// used by its threads only, or under state.mu where marked.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/scheduler.h"
#include "server/checkpoint_watch.h"
#include "server/dataset_stager.h"
#include "server/history.h"
#include "server/runtime_estimates.h"
#include "server/server_state.h"
#include "server/translate.h"

namespace kumo::server {

class SchedulingLoop {
 public:
  SchedulingLoop(ServerState& state, core::Scheduler scheduler)
      : state_(state),
        scheduler_(std::move(scheduler)),
        estimates_(state.config.policy.estimates, &state.metrics.estimate_error) {}
  ~SchedulingLoop() { Stop(); }
  SchedulingLoop(const SchedulingLoop&) = delete;
  SchedulingLoop& operator=(const SchedulingLoop&) = delete;

  // Starts the loop and the exit watcher threads.
  void Start();
  // Sets state.stopping and joins both threads. Tasks keep running.
  void Stop();

 private:
  // A gang start, in three steps so that spawning processes (milliseconds each on a busy
  // machine) never holds mu: PrepareStart under mu (attempt, directories, environments),
  // SpawnStart without it (datasets materialised, the executor), CommitStart under mu (Running, or LaunchFailed).
  struct PreparedStart;
  using Lock = std::unique_lock<std::mutex>;

  void Run();
  void WatchExits();
  void Tick(Lock& lock);
  void PollTasks(double now);
  void PollJob(JobRec& job, bool full, double now);
  void AdvanceJob(JobRec& job, double now);
  void AdvanceRunning(JobRec& job, double now);
  void AdvanceTerminating(JobRec& job, double now);
  // Builds the snapshot under mu, runs the core with mu released, then applies the decisions
  // under mu again.
  void RunPass(double now, Lock& lock);
  void RefreshCheckpoints(double now, Lock& lock);
  core::Snapshot BuildSnapshot(double now, std::map<std::string, JobRec*>& by_id);
  // A waiting job's reason and message; an event when the reason changes. REQUIRES: mu held.
  void SetWaiting(JobRec& job, const std::string& reason, const std::string& message, double now);
  void ApplyDecisions(const core::Decisions& decisions, std::map<std::string, JobRec*>& by_id,
                      double now, std::vector<std::pair<JobRec*, PreparedStart>>& starts);
  void TellExecutorWhoWaits(const core::Decisions& decisions,
                            std::map<std::string, JobRec*>& by_id);
  std::vector<executor::TaskLaunch> WaitingLaunches(JobRec& job);
  int32_t NextAttempt(const JobRec& job) const;
  LaunchContext AttemptContext(const JobRec& job, bool isolated) const;
  void StartGangs(std::vector<std::pair<JobRec*, PreparedStart>>& starts, double now, Lock& lock);
  // The job as the core sees it (translated once: specs are immutable); sets *invalid when the
  // job asks for something no node offers.
  const core::Job& CoreJob(JobRec& job, std::string* invalid);
  PreparedStart PrepareStart(JobRec& job, const std::vector<core::TaskPlacement>& placements);
  // `job`'s spec only is read (immutable after submit): its datasets are materialised first.
  void SpawnStart(const JobRec& job, PreparedStart& start);
  void CommitStart(JobRec& job, PreparedStart& start, double now);

  ServerState& state_;
  core::Scheduler scheduler_;    // used by the loop thread only, with mu released
  RuntimeEstimates estimates_;   // guarded by state_.mu
  double last_pass_ = 0;         // guarded by state_.mu
  size_t launched_ = 0;          // gangs launched so far; guarded by state_.mu
  double last_full_poll_ = 0;    // when PollTasks last looked at every task; guarded by state_.mu
  std::set<pid_t> exited_pids_;  // shims the executor saw end, not yet polled; guarded by mu
  HistoryRecorder history_;      // guarded by state_.mu
  std::map<int64_t, std::string> told_waiting_;  // job -> the sentence the executor has; mu
  CheckpointWatch checkpoints_;  // when running jobs last saved (LAS, victims); loop thread only
  DatasetStager stager_{state_};  // pending jobs' datasets onto the node; its own thread and mutex
  std::thread loop_;
  std::thread exit_watcher_;
};

}  // namespace kumo::server
