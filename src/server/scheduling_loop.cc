#include "server/scheduling_loop.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/driver.h"
#include "executor/private_files.h"
#include "server/job_datasets.h"
#include "server/job_lifecycle.h"
#include "server/task_isolation.h"
#include "server/translate.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;

namespace {

// A pass also runs at least this often while nothing changes: retry backoffs expire and
// reservations' start times come closer.
constexpr double kPeriodicPassSeconds = 1.0;

// How long a gang the executor refused for now (LaunchGang's kUnavailable) waits to be retried.
constexpr double kRefusedStartDelaySeconds = 2.0;

// A pending job's reason when it asks for what no node offers: the core's word for the jobs it
// finds unschedulable, so both kinds read the same.
const std::string kUnschedulable = core::WaitReasonName(core::WaitReason::kUnschedulable);
// A pending job whose datasets are being fetched onto the node (dataset_stager.h): the loop's
// own reason, not the core's (the core never sees the job meanwhile).
const std::string kStagingDatasets = "StagingDatasets";

const char* const kInheritedEnv[] = {"PATH", "HOME",   "USER",   "LOGNAME",
                                     "LANG", "LC_ALL", "TMPDIR", "TZ"};

std::string ExitDescription(const TaskRec& t) {
  return t.term_signal ? " killed by signal " + std::to_string(t.term_signal)
                       : " exited with code " + std::to_string(t.exit_code);
}

// " (OOMKilled)": what the executor knows beyond the exit code.
std::string Why(const executor::TaskStatus& st) {
  return st.reason.empty() ? "" : " (" + st.reason + ")";
}

}  // namespace

struct SchedulingLoop::PreparedStart {
  LaunchPlan plan;      // tasks by rank, handles set by SpawnStart
  std::string failure;  // set by SpawnStart: why the gang could not start
  AttemptOutcome outcome = AttemptOutcome::kLaunchFailed;  // how the attempt ends on a failure
};

void SchedulingLoop::Start() {
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    estimates_.Load(state_.jobs);
    // Jobs the start-up reconciliation ended or requeued: their attempts' service is final.
    const double now = state_.clock.NowSeconds();
    for (auto& [id, job] : state_.jobs)
      if (job.durable) state_.attained.Observe(job, now, state_.pending_writes);
  }
  loop_ = std::thread([this] { Run(); });
  exit_watcher_ = std::thread([this] { WatchExits(); });
}

void SchedulingLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.stopping = true;
  }
  state_.cv.notify_all();
  if (loop_.joinable()) loop_.join();
  if (exit_watcher_.joinable()) exit_watcher_.join();
}

// Task exits wake the loop at once instead of at its next tick (bounded wait: Stop joins it).
void SchedulingLoop::WatchExits() {
  for (;;) {
    std::vector<pid_t> ended = state_.executor->WaitForExits(100);
    std::lock_guard<std::mutex> lock(state_.mu);
    if (state_.stopping) return;
    if (ended.empty()) continue;
    exited_pids_.insert(ended.begin(), ended.end());
    state_.Kick();
  }
}

void SchedulingLoop::Run() {
  const ServerConfig& config = state_.config;
  Lock lock(state_.mu);
  while (!state_.stopping) {
    double until_pass = last_pass_ + config.pass_min_interval_s - state_.clock.NowSeconds();
    if (state_.dirty && until_pass > 0) {
      // Something changed, but a pass ran moments ago: let changes gather for one pass.
      state_.cv.wait_for(lock, std::chrono::duration<double>(until_pass),
                         [&] { return state_.stopping; });
    } else if (!state_.dirty) {
      state_.cv.wait_for(lock, std::chrono::duration<double>(config.tick_s),
                         [&] { return state_.stopping || state_.dirty; });
    }
    if (state_.stopping) break;
    size_t launched_before = launched_;
    Tick(lock);
    std::future<Status> written = state_.Flush();
    // A start is made durable before anyone can see it (JobJson shows a launching job as
    // Pending), so a client that saw Running finds the attempt after a kill -9. The commit is
    // awaited with mu released: submissions go on meanwhile. Other loop writes (events,
    // reasons, exits) need no acknowledgement: exits are re-read from exit files on restart.
    if (launched_ != launched_before) {
      lock.unlock();
      written.wait();
      lock.lock();
      for (auto& [id, job] : state_.jobs) job.launching = false;
    }
  }
}

void SchedulingLoop::Tick(Lock& lock) {
  double now = state_.clock.NowSeconds();
  PollTasks(now);
  for (auto& [id, job] : state_.jobs) {
    if (!job.durable || IsTerminal(job.phase)) continue;
    AdvanceJob(job, now);
    // In this tick's commit with the transition: an attempt's end and its service are one write.
    state_.attained.Observe(job, now, state_.pending_writes);
  }
  bool due = now - last_pass_ >= kPeriodicPassSeconds;
  if ((state_.dirty || due) && now - last_pass_ >= state_.config.pass_min_interval_s) {
    state_.dirty = false;
    last_pass_ = now;
    RunPass(now, lock);
  }
  history_.Record(state_, now);
}

void SchedulingLoop::PollTasks(double now) {
  // The executor names the shims that ended, so most ticks look at those tasks only; every task
  // is still polled once a tick period (the safety net: a shim not watched, a missed event).
  bool full = !state_.executor->watching() || now - last_full_poll_ >= state_.config.tick_s;
  if (full) last_full_poll_ = now;
  if (!full && exited_pids_.empty()) return;
  for (auto& [id, job] : state_.jobs)
    if (HasAttempt(job.phase)) PollJob(job, full, now);
  exited_pids_.clear();
}

void SchedulingLoop::PollJob(JobRec& job, bool full, double now) {
  bool changed = false;
  for (TaskRec& t : job.tasks) {
    if (t.state != TaskState::kRunning) continue;
    if (!full && !exited_pids_.count(t.handle.pid)) continue;
    executor::TaskStatus st = state_.executor->Poll(t.handle);
    if (st.state == executor::TaskState::kRunning) continue;
    changed = true;
    if (st.state == executor::TaskState::kExited) {
      t.state = TaskState::kExited;
      t.exit_code = st.exit_code;
      t.term_signal = st.term_signal;
      state_.AddEvent(&job, JobObjectName(job.id), "TaskExited",
                      t.exit_code == 0 ? "Completed" : "Error",
                      "task " + std::to_string(t.rank) + " on " + t.node + ExitDescription(t) +
                          Why(st),
                      now);
    } else {
      t.state = TaskState::kLost;
      state_.AddEvent(&job, JobObjectName(job.id), "TaskLost", "Lost",
                      "task " + std::to_string(t.rank) + " vanished without an exit status" + Why(st),
                      now);
    }
  }
  if (changed) {
    state_.SaveTasks(job);
    state_.dirty = true;
  }
}

void SchedulingLoop::AdvanceJob(JobRec& job, double now) {
  if (job.phase == JobPhase::kPending) {
    if (job.cancel_requested) {
      job.phase = JobPhase::kCancelled;
      job.reason = "Cancelled";
      job.message = "cancelled while pending";
      job.end_time = now;
      job.queue_position = 0;
      state_.AddEvent(&job, JobObjectName(job.id), "Cancelled", "Cancelled", job.message, now);
      state_.SaveJob(job);
      state_.dirty = true;
    }
    return;
  }
  if (job.phase == JobPhase::kRunning) AdvanceRunning(job, now);
  // Not `else`: a job that began terminating just now may already be done.
  if (job.phase == JobPhase::kTerminating) AdvanceTerminating(job, now);
}

void SchedulingLoop::AdvanceRunning(JobRec& job, double now) {
  int running = 0, lost = 0;
  const TaskRec* failed = nullptr;
  for (const TaskRec& t : job.tasks) {
    if (t.state == TaskState::kRunning) ++running;
    if (t.state == TaskState::kLost) ++lost;
    if (t.state == TaskState::kExited && t.exit_code != 0 && !failed) failed = &t;
  }
  if (lost > 0) {
    BeginTermination(state_, job, AttemptOutcome::kLost, std::to_string(lost) + " task(s) lost",
                     now, true);
  } else if (failed) {
    BeginTermination(state_, job, AttemptOutcome::kFailed,
                     "task " + std::to_string(failed->rank) + ExitDescription(*failed), now, true);
  } else if (running == 0) {
    FinishAttempt(state_, job, now, AttemptOutcome::kSucceeded, "every task exited with code 0");
    if (job.phase == JobPhase::kSucceeded) estimates_.Finished(job);
  } else if (job.cancel_requested) {
    BeginTermination(state_, job, AttemptOutcome::kCancelled, "cancelled by a user", now, true);
  } else if (job.spec.max_runtime_s && now - job.start_time > *job.spec.max_runtime_s) {
    BeginTermination(
        state_, job, AttemptOutcome::kDeadlineExceeded,
        "ran longer than maxRuntime (" + std::to_string(*job.spec.max_runtime_s) + " s)", now,
        true);
  }
}

void SchedulingLoop::AdvanceTerminating(JobRec& job, double now) {
  if (job.cancel_requested && job.terminate_reason != AttemptOutcome::kCancelled) {
    job.terminate_reason = AttemptOutcome::kCancelled;
    job.terminate_message = "cancelled by a user";
  }
  int running = 0;
  for (const TaskRec& t : job.tasks) running += t.state == TaskState::kRunning;
  if (running == 0) {
    FinishAttempt(state_, job, now, job.terminate_reason, job.terminate_message);
  } else if (now >= job.kill_at) {
    for (const TaskRec& t : job.tasks)
      if (t.state != TaskState::kExited) state_.executor->Signal(t.handle, SIGKILL);
    job.kill_at = now + 2;  // and again, should one survive
  }
}

void SchedulingLoop::RunPass(double now, Lock& lock) {
  RefreshCheckpoints(now, lock);
  std::map<std::string, JobRec*> by_id;
  core::Snapshot snap = BuildSnapshot(now, by_id);
  lock.unlock();
  auto pass_start = std::chrono::steady_clock::now();
  auto decisions = scheduler_.Schedule(snap);
  state_.metrics.pass_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count());
  state_.metrics.passes.Add({});
  lock.lock();
  // Meanwhile the API may have cancelled jobs or cordoned nodes: starts of cancelled jobs are
  // dropped (the next pass decides again); a start on a node cordoned during the pass stands,
  // as it would had the cordon come a moment later.
  if (!decisions) {
    std::fprintf(stderr, "kumo server: scheduling pass failed: %s\n",
                 decisions.error().message().c_str());
    return;
  }
  std::vector<std::pair<JobRec*, PreparedStart>> starts;
  ApplyDecisions(*decisions, by_id, now, starts);
  if (!starts.empty()) StartGangs(starts, now, lock);
}

// Walks the checkpoint dirs that are due with mu released: a walk reads a directory the task
// owns, which must not hold up the API. Only the loop starts jobs, so none starts meanwhile.
void SchedulingLoop::RefreshCheckpoints(double now, Lock& lock) {
  std::map<int64_t, std::string> saving;
  for (const auto& [id, job] : state_.jobs)
    if (job.durable && job.phase == JobPhase::kRunning && job.spec.checkpoint.enabled)
      saving.emplace(job.id, state_.JobDir(job.id) + "/checkpoint");
  checkpoints_.Track(saving);
  std::vector<CheckpointWatch::Walk> walks = checkpoints_.Due(now);
  if (walks.empty()) return;
  lock.unlock();
  for (CheckpointWatch::Walk& w : walks) w.newest = NewestFileTime(w.dir).value_or(-1);
  lock.lock();
  checkpoints_.Record(walks, now);
}

void SchedulingLoop::SetWaiting(JobRec& job, const std::string& reason,
                                const std::string& message, double now) {
  if (job.reason == reason && job.message == message) return;
  bool new_reason = job.reason != reason;
  job.reason = reason;
  job.message = message;
  if (new_reason) state_.AddEvent(&job, JobObjectName(job.id), "Waiting", reason, message, now);
  state_.SaveJob(job);
}

core::Snapshot SchedulingLoop::BuildSnapshot(double now, std::map<std::string, JobRec*>& by_id) {
  core::Snapshot snap;
  snap.now = static_cast<core::Seconds>(now);
  snap.topology_levels = state_.inventory.topology_levels;
  snap.extended_resources = state_.inventory.extended_resources;
  snap.nodes = state_.executor->Nodes(state_.inventory.nodes);
  for (auto& n : snap.nodes)
    if (state_.cordoned.count(n.name)) n.unschedulable = true;
  for (const auto& [name, p] : state_.projects) {
    core::Project cp;
    cp.name = name;
    cp.weight = p.weight > 0 ? p.weight : 1;
    cp.guaranteed[core::kGpu] = p.guaranteed_gpu_milli;
    if (p.max_gpu_milli >= 0) cp.max[core::kGpu] = p.max_gpu_milli;
    snap.projects.push_back(cp);
  }
  for (auto& [id, job] : state_.jobs) {
    if (!job.durable) continue;
    bool pending =
        job.phase == JobPhase::kPending && !job.cancel_requested && job.not_before <= now;
    bool holding = HasAttempt(job.phase) && !job.tasks.empty();
    if (job.phase == JobPhase::kPending && job.not_before > now) job.queue_position = 0;
    if (!pending && !holding) continue;
    std::string invalid;
    core::Job cj = CoreJob(job, &invalid);
    state_.attained.Apply(job, now, checkpoints_.LastWrite(job.id), cj);
    if (pending && !invalid.empty()) {
      if (job.reason != kUnschedulable || job.message != invalid) {
        job.reason = kUnschedulable;
        job.message = invalid;
        state_.AddEvent(&job, JobObjectName(job.id), "Waiting", job.reason, invalid, now);
        state_.SaveJob(job);
      }
      continue;
    }
    if (pending && !job.spec.datasets.empty()) {
      // Not offered until its data is on the node: staged off this thread (dataset_stager.h).
      DatasetStager::Verdict staged = stager_.Check(job.spec);
      if (!staged.offer) {
        SetWaiting(job, kStagingDatasets, staged.waiting, now);
        job.queue_position = 0;
        continue;
      }
    }
    cj.nominated = job.nominated;
    cj.reservation = job.reservation;
    cj.runtime_estimate = estimates_.For(job);
    if (holding) {
      cj.phase =
          job.phase == JobPhase::kRunning ? core::JobPhase::kRunning : core::JobPhase::kTerminating;
      cj.start_time = static_cast<core::Seconds>(job.start_time);
      for (const TaskRec& t : job.tasks)
        if (t.state == TaskState::kRunning)
          cj.placements.push_back({t.group, t.replica, t.node, t.gpus});
    }
    by_id[cj.id] = &job;
    snap.jobs.push_back(std::move(cj));
  }
  return snap;
}

void SchedulingLoop::ApplyDecisions(const core::Decisions& decisions,
                                    std::map<std::string, JobRec*>& by_id, double now,
                                    std::vector<std::pair<JobRec*, PreparedStart>>& starts) {
  // The driver contract (core/driver.h): nominations and this pass's reservation carry over.
  const core::DecisionIndex decided(decisions);
  for (auto& [id, job] : by_id)
    if (job->phase == JobPhase::kPending)
      core::CarryForward(decided.Find(id), job->nominated, job->reservation);
  for (const auto& p : decisions.preemptions) {
    auto v = by_id.find(p.victim);
    if (v != by_id.end() && v->second->phase == JobPhase::kRunning) {
      BeginTermination(state_, *v->second, AttemptOutcome::kPreempted, p.message, now, true);
      state_.metrics.preemptions.Add({{"reason", core::PreemptionReasonName(p.reason)}});
    }
  }
  for (const auto& s : decisions.starts) {
    auto it = by_id.find(s.job);
    if (it != by_id.end() && it->second->phase == JobPhase::kPending &&
        !it->second->cancel_requested)
      starts.emplace_back(it->second, PrepareStart(*it->second, s.tasks));
  }
  int64_t pos = 0;
  for (const auto& id : decisions.order) {
    auto it = by_id.find(id);
    if (it != by_id.end())
      it->second->queue_position =
          it->second->phase == JobPhase::kPending && !it->second->launching ? ++pos : 0;
  }
  for (const auto& w : decisions.waiting) {
    auto it = by_id.find(w.job);
    if (it == by_id.end()) continue;
    SetWaiting(*it->second, core::WaitReasonName(w.reason), w.message, now);
  }
  TellExecutorWhoWaits(decisions, by_id);
}

// The executor shows each waiting gang where its users look (on Kubernetes: the gang's pods,
// Pending with kumo's sentence). It is told once per sentence (and again after a restart: this
// map starts empty), and told when a wait ends other than by a start (cancelled, requeued for
// later, no longer schedulable); a start ends it through LaunchGang.
void SchedulingLoop::TellExecutorWhoWaits(const core::Decisions& decisions,
                                          std::map<std::string, JobRec*>& by_id) {
  std::map<int64_t, std::string> still;
  for (const auto& w : decisions.waiting) {
    auto it = by_id.find(w.job);
    if (it == by_id.end() || it->second->phase != JobPhase::kPending) continue;
    JobRec& job = *it->second;
    std::string sentence = w.message.empty() ? core::WaitReasonName(w.reason) : w.message;
    auto told = told_waiting_.find(job.id);
    if (told == told_waiting_.end())
      state_.executor->GangWaits({job.id, sentence, WaitingLaunches(job)});
    else if (told->second != sentence)
      state_.executor->GangWaits({job.id, sentence, {}});
    still[job.id] = std::move(sentence);
  }
  for (const auto& [id, sentence] : told_waiting_) {
    auto job = state_.jobs.find(id);
    bool starting = job != state_.jobs.end() && job->second.launching;
    if (!still.count(id) && !starting) state_.executor->GangStopsWaiting(id);
  }
  told_waiting_ = std::move(still);
}

// The tasks of the job's next attempt, on no node yet.
std::vector<executor::TaskLaunch> SchedulingLoop::WaitingLaunches(JobRec& job) {
  std::vector<core::TaskPlacement> unplaced;
  for (size_t g = 0; g < job.spec.task_groups.size(); ++g)
    for (int32_t r = 0; r < job.spec.task_groups[g].replicas; ++r)
      unplaced.push_back({static_cast<int32_t>(g), r, "", {}});
  const int32_t current = job.attempt;
  job.attempt = NextAttempt(job);  // ToLaunches describes the attempt the job names
  LaunchPlan plan = ToLaunches(job, unplaced, AttemptContext(job, state_.config.isolation.enabled));
  job.attempt = current;
  return std::move(plan.launches);
}

// An attempt launched just before a crash, whose start never committed, left its directory:
// its number is never used again (KUMO_ATTEMPT only grows, run dirs stay apart).
int32_t SchedulingLoop::NextAttempt(const JobRec& job) const {
  int32_t next = job.attempt + 1;
  for (std::error_code ec; fs::exists(state_.AttemptDir(job.id, next), ec);) ++next;
  return next;
}

// The paths and environment of attempt job.attempt; the isolation and the master port are the
// caller's.
LaunchContext SchedulingLoop::AttemptContext(const JobRec& job, bool isolated) const {
  LaunchContext context;
  context.attempt_dir = state_.AttemptDir(job.id, job.attempt);
  context.checkpoint_dir = state_.JobDir(job.id) + "/checkpoint";
  for (const char* name : kInheritedEnv)
    if (const char* v = std::getenv(name)) context.inherited_env[name] = v;
  for (const auto& d : job.spec.datasets)  // isolated: bound at mountPath; else the tree itself
    context.dataset_paths[d.name] =
        isolated ? d.mount_path : DatasetDir(state_.config.data_dir, d.digest);
  return context;
}

void SchedulingLoop::StartGangs(std::vector<std::pair<JobRec*, PreparedStart>>& starts, double now,
                                Lock& lock) {
  // Jobs are never removed once durable, so the pointers stay valid while mu is released; a
  // cancel meanwhile is seen by the next tick (the job is Running by then and terminates).
  lock.unlock();
  for (auto& [job, start] : starts) SpawnStart(*job, start);
  lock.lock();
  for (auto& [job, start] : starts) CommitStart(*job, start, now);
}

const core::Job& SchedulingLoop::CoreJob(JobRec& job, std::string* invalid) {
  if (!job.core_job) {
    TranslatedJob t =
        ToCoreJob(job, state_.config.priority_classes, state_.inventory.extended_resources);
    job.core_job = std::make_unique<core::Job>(std::move(t.job));
    job.core_invalid = std::move(t.invalid);
  }
  *invalid = job.core_invalid;
  return *job.core_job;
}

SchedulingLoop::PreparedStart SchedulingLoop::PrepareStart(
    JobRec& job, const std::vector<core::TaskPlacement>& placements) {
  job.attempt = NextAttempt(job);
  ++launched_;
  job.launching = true;
  job.nominated = false;
  job.reservation.clear();
  job.queue_position = 0;
  job.tasks.clear();
  const std::string checkpoint_dir = state_.JobDir(job.id) + "/checkpoint";
  const std::string output_dir = state_.AttemptDir(job.id, job.attempt) + "/output";
  // The sandbox hands the checkpoint and output dirs to the task's uid; the rest stays 0700.
  Status dirs = executor::MakePrivateDirs(checkpoint_dir);
  if (dirs.ok()) dirs = executor::MakePrivateDirs(output_dir);
  auto isolation = dirs.ok() ? IsolationForAttempt(state_, job, output_dir, checkpoint_dir)
                             : Result<executor::TaskIsolation>(Error(dirs));
  LaunchContext context = AttemptContext(job, isolation && isolation->enabled);
  if (isolation) context.isolation = std::move(*isolation);
  context.master_port = FreeLoopbackPort();
  return {ToLaunches(job, placements, context), isolation ? "" : isolation.error().message()};
}

void SchedulingLoop::SpawnStart(const JobRec& job, PreparedStart& start) {
  LaunchPlan& plan = start.plan;
  if (start.failure.empty()) {
    // Off mu: a cold version moves its bytes from the cache here (job_datasets.h).
    if (Status s = MaterializeDatasets(state_, job.spec); !s.ok()) start.failure = s.message();
  }
  if (!start.failure.empty()) {  // nothing to run it as, nowhere, no data: the attempt fails
    state_.executor->GangStopsWaiting(job.id);  // LaunchGang, which would end the wait, is not called
    plan.tasks.clear();
    return;
  }
  auto handles = state_.executor->LaunchGang(plan.launches);
  if (!handles) {
    // All or nothing: the executor stopped whatever it had started. A cluster that refused for
    // now (kUnavailable: a binding conflict) requeues the job without counting a failure.
    start.failure = handles.error().message();
    if (handles.error().code() == StatusCode::kUnavailable) start.outcome = AttemptOutcome::kLost;
    plan.tasks.clear();
    return;
  }
  for (size_t rank = 0; rank < plan.tasks.size(); ++rank) plan.tasks[rank].handle = (*handles)[rank];
}

void SchedulingLoop::CommitStart(JobRec& job, PreparedStart& start, double now) {
  if (job.start_time == 0) state_.metrics.wait_seconds.Observe(now - job.submit_time);
  state_.metrics.starts.Add({{"project", job.project}});
  job.tasks = std::move(start.plan.tasks);
  job.start_time = now;
  job.phase = JobPhase::kRunning;
  job.reason = "";
  job.message = "";
  std::string nodes;
  for (const TaskRec& t : job.tasks) {
    std::string d;
    for (const auto& g : t.gpus) d += (d.empty() ? "" : ",") + std::to_string(g.gpu_index);
    nodes += (nodes.empty() ? "" : " ") + std::to_string(t.rank) + ":" + t.node +
             (d.empty() ? "" : "[gpu " + d + "]");
  }
  state_.AddEvent(&job, JobObjectName(job.id), "Started", "Scheduled",
                  "attempt " + std::to_string(job.attempt) + " on " + nodes, now);
  state_.SaveJob(job);
  state_.SaveTasks(job);
  if (start.failure.empty()) return;
  FinishAttempt(state_, job, now, start.outcome, start.failure);
  // A refused gang (kLost: requeued, no failure counted) waits a moment before the next try, so
  // a conflict that persists is not retried at the loop's pace.
  if (start.outcome == AttemptOutcome::kLost) job.not_before = now + kRefusedStartDelaySeconds;
}

}  // namespace kumo::server
