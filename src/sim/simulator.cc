#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <queue>
#include <unordered_map>

#include "core/driver.h"
#include "core/las.h"
#include "sim/metrics.h"

namespace kumo::sim {

using core::Job;
using core::Seconds;

Distribution Summarize(std::vector<double> v) {
  Distribution d;
  d.count = static_cast<int64_t>(v.size());
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / static_cast<double>(v.size());
  auto pct = [&](double p) {
    // Nearest-rank percentile.
    size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  d.p50 = pct(0.50);
  d.p90 = pct(0.90);
  d.p95 = pct(0.95);
  d.p99 = pct(0.99);
  return d;
}

void FitTimeScale(const Trace& trace, SimConfig& config) {
  if (trace.jobs.empty()) return;
  std::vector<Seconds> d;
  for (const SimJob& j : trace.jobs) d.push_back(j.duration);
  std::nth_element(d.begin(), d.begin() + static_cast<ptrdiff_t>(d.size() / 2), d.end());
  const Seconds median = d[d.size() / 2];
  config.pass_interval = std::clamp<Seconds>(median / 360, 1, 10);
  config.period = std::clamp<Seconds>(median / 12, config.pass_interval, 300);
}

namespace {

// The compared policies (see simulator.h): each a change to the server's default policy.
struct NamedPolicyRow {
  const char* name;
  void (*tweak)(SimConfig&);
};

// A classic batch scheduler: one order, one backfill mode, no preemption, no LAS.
void Classic(SimConfig& c, const char* order, core::BackfillMode backfill) {
  c.policy_config.scheduler.queue_order = order;
  c.policy_config.scheduler.backfill = backfill;
  c.policy_config.scheduler.preemption = false;
  c.policy_config.las.enabled = false;
}

constexpr NamedPolicyRow kPolicies[] = {
    {"fifo", [](SimConfig& c) { Classic(c, "fifo", core::BackfillMode::kNone); }},
    {"fifo-backfill", [](SimConfig& c) { Classic(c, "fifo", core::BackfillMode::kEasy); }},
    {"drf", [](SimConfig& c) { Classic(c, "drf", core::BackfillMode::kGreedy); }},
    {"kumo", [](SimConfig&) {}},  // core::PolicyConfig{}: what `kumo server` runs by default
    // Bounds: the non-preemptive SJF oracle and the preemptive SRTF oracle.
    {"sjf-oracle",
     [](SimConfig& c) {
       Classic(c, "shortest", core::BackfillMode::kEasy);
       c.oracle_runtimes = true;
     }},
    {"srtf-oracle",
     [](SimConfig& c) {
       Classic(c, "shortest", core::BackfillMode::kEasy);
       c.policy_config.scheduler.preemption = {"priority"};
       c.policy_config.min_runtime = {0, 0, 0};
       c.oracle_runtimes = c.srtf_oracle = true;
       c.preemption_grace = c.restart_overhead = 0;
     }},
    // Tiresias' discretised 2D-LAS (Gu et al., NSDI'19): LAS queues, FIFO inside a queue,
    // blocked jobs skipped, preemption by queue only.
    {"tiresias",
     [](SimConfig& c) {
       c.policy_config.scheduler.queue_order = "fifo";
       c.policy_config.las.predicted_remaining = false;
       c.policy_config.scheduler.backfill = core::BackfillMode::kGreedy;
       c.policy_config.scheduler.preemption = {"priority"};
     }},
    // Ablations: kumo without one of its parts.
    {"kumo-no-las", [](SimConfig& c) { c.policy_config.las.enabled = false; }},
    {"kumo-no-preemption", [](SimConfig& c) { c.policy_config.scheduler.preemption = false; }},
    // No moves and no fills: the two ways a blocked gang gets idle GPUs beside smaller jobs.
    {"kumo-no-moves",
     [](SimConfig& c) { c.policy_config.scheduler.preemption = {"priority", "reclaim"}; }},
    {"kumo-no-fill",
     [](SimConfig& c) {
       c.policy_config.scheduler.preemption = {"priority", "reclaim", "defragment"};
     }},
};

}  // namespace

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const NamedPolicyRow& row : kPolicies) names.push_back(row.name);
  return names;
}

Result<SimConfig> NamedPolicy(const std::string& name, const core::PolicyConfig& kumo) {
  for (const NamedPolicyRow& row : kPolicies) {
    if (name != row.name) continue;
    SimConfig c;
    c.policy = name;
    c.policy_config = kumo;
    row.tweak(c);
    return c;
  }
  std::string known;
  for (const std::string& n : PolicyNames()) known += n + ", ";
  return Error(
      Status::InvalidArgument("unknown policy \"" + name + "\" (known: " + known + "all)"));
}

namespace {

enum class Phase { kFuture, kPending, kRunning, kTerminating, kDone };

// The simulator's own record of a trace job, beside the core::Job the scheduler sees.
struct JobState {
  Phase phase = Phase::kFuture;
  Seconds remaining = 0;  // work left at the start of the current attempt
  Seconds attempt_start = 0;
  Seconds overhead = 0;  // restart overhead of the current attempt
  Seconds pending_since = 0;
  Seconds first_start = -1;
  Seconds end = -1;
  int32_t attempts = 0;
  int32_t preemptions = 0;
  Seconds queued = 0;       // pending time of finished waits (see JobOutcome::queued)
  double lost_gpu_s = 0;    // JobOutcome::lost_gpu_s
  double fair_alone_s = 0;  // JobOutcome::fair_alone_s
  uint64_t epoch = 0;         // invalidates stale completion events
  double attained_gpu_s = 0;  // GPU-seconds of service received (Tiresias' 2D attained service)
  int64_t gpu_milli = 0;
  int32_t project = 0;
  int32_t tasks = 0;
  bool preempted_but_finishing = false;
};

// At equal times completions come before exits of preempted jobs, and both before checkpoints.
// A checkpoint is an event only under LAS: a running job's queue changes at its checkpoints
// (core/las.h), and the server would see that at its next pass, a second later.
enum class EventKind { kCompletion, kExitAfterPreemption, kCheckpoint };

struct Event {
  Seconds t;
  EventKind kind;
  int32_t job;
  uint64_t epoch;
  bool operator>(const Event& o) const {
    if (t != o.t) return t > o.t;
    if (kind != o.kind) return kind > o.kind;
    return job > o.job;
  }
};

// One run of a trace under one policy: the event loop, one method per kind of event, and the
// driver's side of each pass (core/driver.h plus the simulated cluster's bookkeeping).
class Replay {
 public:
  Replay(const Trace& trace, const SimConfig& cfg, const core::Scheduler& scheduler);
  // Fails when a job names a project the trace does not declare.
  Status Load();
  // Runs to the end of the trace; fails when a pass rejects the snapshot.
  Status Run();
  // Per-job outcomes and the summary, into `rep`.
  void Finish(SimReport& rep);

 private:
  Seconds NextTime() const;
  void AdvanceTo(Seconds t);
  void AdmitArrivals();
  void HandleEvents();
  void Complete(int32_t j);
  void ExitAfterPreemption(int32_t j);
  bool ShouldPass(bool tick);
  bool UpdatePolicyFields();
  int32_t PolicyPriority(int32_t j) const;
  core::LasJob LasView(int32_t j) const;
  int32_t SrtfPriority(int32_t j) const;
  void ScheduleCheckpoint(int32_t j, Seconds after);
  Seconds LastCheckpoint(int32_t j) const;
  bool SomeJobBecamePreemptible() const;
  bool SomePendingOutranks(int32_t priority) const;
  Status Pass();
  void ReportCheckpoints();
  void Apply(const core::Decisions& d);
  void StartAttempt(int32_t j, const core::StartDecision& s);
  void DropUnschedulable(const std::vector<core::WaitExplanation>& waiting);
  void DropStuck(const std::vector<core::WaitExplanation>& waiting);
  void Drop(const std::string& id, const std::string& why);
  void Preempt(int32_t v);
  void Activate(int32_t j);
  void Deactivate(int32_t j);
  void Release(int32_t j);
  void SetEstimates();
  Job& CoreJob(int32_t j) { return snap_.jobs[pos_[j]]; }

  const Trace& trace_;
  const SimConfig& cfg_;
  const core::Scheduler& scheduler_;
  const size_t n_;
  SimMetrics metrics_;
  core::ServiceHistory history_;  // LAS thresholds and minRuntime from finished jobs
  struct {
    int64_t partial_gangs = 0, unschedulable = 0, preemptions = 0;
    double gpu_hours_lost = 0, gpu_hours_restart = 0;
  } counters_;
  std::vector<JobState> st_;
  std::vector<UnschedulableJob> unschedulable_;
  std::unordered_map<std::string, int32_t> job_index_;
  // Active jobs live in snap_.jobs (pos_: trace index -> slot, owner_: slot -> trace index);
  // swap-remove keeps the vector dense.
  core::Snapshot snap_;
  std::vector<int32_t> pos_, owner_;
  std::vector<int32_t> running_;  // jobs holding GPUs (running or terminating)
  core::RuntimeEstimator estimator_;     // fed by completions as they happen
  std::vector<double> estimate_errors_;  // of completed jobs that had an estimate
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  size_t next_arrival_ = 0;
  Seconds now_, last_t_, next_tick_ = core::kNever, last_pass_ = core::kNever;
  bool dirty_ = true;  // the cluster changed since the last pass
  // Gangs prefer one leaf when the cluster has leaves (an inventory file may declare none).
  const bool has_leaf_;
};

std::vector<double> ProjectWeights(const std::vector<core::Project>& projects) {
  std::vector<double> weights;
  for (const core::Project& p : projects) weights.push_back(p.weight);
  return weights;
}

Replay::Replay(const Trace& trace, const SimConfig& cfg, const core::Scheduler& scheduler)
    : trace_(trace),
      cfg_(cfg),
      scheduler_(scheduler),
      n_(trace.jobs.size()),
      metrics_(trace.jobs.front().submit, trace.jobs.back().submit,
               static_cast<double>(trace.GpuCapacityMilli()), ProjectWeights(trace.projects)),
      history_(cfg.policy_config),
      st_(n_),
      pos_(n_, -1),
      estimator_(cfg.policy_config.estimates),
      now_(trace.jobs.front().submit),
      last_t_(now_),
      has_leaf_(std::find(trace.topology_levels.begin(), trace.topology_levels.end(), "leaf") !=
                trace.topology_levels.end()) {
  snap_.topology_levels = trace.topology_levels;
  snap_.nodes = trace.nodes;
  snap_.projects = trace.projects;
}

Status Replay::Load() {
  std::unordered_map<std::string, int32_t> project_index;
  for (size_t p = 0; p < snap_.projects.size(); ++p)
    project_index[snap_.projects[p].name] = static_cast<int32_t>(p);
  for (size_t j = 0; j < n_; ++j) {
    const SimJob& sj = trace_.jobs[j];
    job_index_[sj.id] = static_cast<int32_t>(j);
    st_[j].remaining = sj.duration;
    st_[j].gpu_milli = sj.GpuMilli();
    auto pi = project_index.find(sj.project);
    if (pi == project_index.end())
      return Status::InvalidArgument("job " + sj.id + ": unknown project " + sj.project);
    st_[j].project = pi->second;
    for (const auto& g : sj.groups) st_[j].tasks += g.replicas;
  }
  return Status::Ok();
}

Status Replay::Run() {
  while (true) {
    const Seconds next = NextTime();
    if (next >= core::kNever) return Status::Ok();
    AdvanceTo(next);
    now_ = next;
    const bool tick = now_ >= next_tick_;
    AdmitArrivals();
    HandleEvents();
    if (!ShouldPass(tick)) continue;
    if (Status st = Pass(); !st.ok()) return st;
  }
}

Seconds Replay::NextTime() const {
  Seconds next = core::kNever;
  if (next_arrival_ < n_) next = std::min(next, trace_.jobs[next_arrival_].submit);
  if (!events_.empty()) next = std::min(next, events_.top().t);
  if (metrics_.pending_jobs() > 0) next = std::min(next, next_tick_);
  // A changed cluster gets a pass at the next pass slot (passes at most every pass_interval).
  const Seconds pass_slot = last_pass_ >= core::kNever ? now_ : last_pass_ + cfg_.pass_interval;
  if (dirty_) next = std::min(next, std::max(now_, pass_slot));
  return next;
}

void Replay::AdvanceTo(Seconds t) {
  if (t <= last_t_) return;
  metrics_.Advance(last_t_, t);
  const double dt = static_cast<double>(t - last_t_);
  for (int32_t j : running_)
    if (st_[j].phase == Phase::kRunning || st_[j].phase == Phase::kTerminating)
      st_[j].attained_gpu_s += static_cast<double>(st_[j].gpu_milli) / 1000.0 * dt;
  last_t_ = t;
}

void Replay::AdmitArrivals() {
  while (next_arrival_ < n_ && trace_.jobs[next_arrival_].submit <= now_) {
    const int32_t j = static_cast<int32_t>(next_arrival_++);
    st_[j].phase = Phase::kPending;
    st_[j].pending_since = now_;
    metrics_.StartsWaiting(st_[j].project, st_[j].gpu_milli);
    // Themis' N: the jobs contending now, this one included.
    const double n = static_cast<double>(metrics_.pending_jobs()) +
                     static_cast<double>(running_.size());
    const double share = static_cast<double>(trace_.GpuCapacityMilli()) / std::max(1.0, n);
    st_[j].fair_alone_s = static_cast<double>(trace_.jobs[j].duration) *
                          std::max(1.0, static_cast<double>(st_[j].gpu_milli) / share);
    Activate(j);
    dirty_ = true;
  }
}

void Replay::HandleEvents() {
  while (!events_.empty() && events_.top().t <= now_) {
    const Event e = events_.top();
    events_.pop();
    const JobState& js = st_[e.job];
    if (e.kind == EventKind::kCompletion) {
      // A completion of an earlier attempt, or of a job preempted since, is stale.
      if (e.epoch != js.epoch || (js.phase != Phase::kRunning && !js.preempted_but_finishing))
        continue;
      Complete(e.job);
    } else if (e.kind == EventKind::kExitAfterPreemption) {
      if (js.phase != Phase::kTerminating || js.preempted_but_finishing) continue;
      ExitAfterPreemption(e.job);
    } else {
      if (e.epoch != js.epoch || js.phase != Phase::kRunning) continue;
      ScheduleCheckpoint(e.job, now_);
      // A pass only if the job changed queue and a waiting job now outranks it (else the pass
      // would decide what the last did).
      const int32_t priority = PolicyPriority(e.job);
      if (priority == CoreJob(e.job).priority || !SomePendingOutranks(priority)) continue;
    }
    dirty_ = true;
  }
}

void Replay::Complete(int32_t j) {
  const SimJob& sj = trace_.jobs[j];
  auto error = estimator_.Observe({sj.user, sj.project, "", ""}, sj.duration);
  if (error) estimate_errors_.push_back(*error);
  Release(j);
  history_.Finished(st_[j].attained_gpu_s,
                    core::ExecutedSeconds(st_[j].attained_gpu_s,
                                          static_cast<double>(st_[j].gpu_milli) / 1000.0),
                    sj.max_runtime);
  st_[j].phase = Phase::kDone;
  st_[j].end = now_;
  Deactivate(j);
}

// The victim's tasks have exited: it waits again, to resume from its last checkpoint.
void Replay::ExitAfterPreemption(int32_t j) {
  JobState& js = st_[j];
  Release(j);
  js.phase = Phase::kPending;
  js.pending_since = now_;
  metrics_.StartsWaiting(js.project, js.gpu_milli);
  core::Requeue(CoreJob(j));
}

// Whether a pass runs now. Events are batched into at most one pass per pass_interval; a
// periodic pass (tick) without events matters only if a LAS queue changed or a running job just
// became preemptible: otherwise it would decide exactly what the last one did.
bool Replay::ShouldPass(bool tick) {
  if (!dirty_ && !tick) return false;
  if (metrics_.pending_jobs() == 0 && !dirty_) return false;
  if (last_pass_ < core::kNever && now_ < last_pass_ + cfg_.pass_interval) return false;
  const bool priorities_changed = UpdatePolicyFields();
  if (dirty_ || priorities_changed || SomeJobBecamePreemptible()) return true;
  next_tick_ = now_ + std::max<Seconds>(1, cfg_.period);
  return false;
}

// The fields the policy sets between passes (core/las.h): each job's priority (its LAS queue,
// or for the SRTF oracle its true remaining time) and minRuntime. Returns whether any changed.
bool Replay::UpdatePolicyFields() {
  bool changed = false;
  for (size_t i = 0; i < snap_.jobs.size(); ++i) {
    const int32_t j = owner_[i];
    const core::LasConfig& las = cfg_.policy_config.las;
    std::optional<core::LasJob> view;  // one look per job and pass: priority and reservation
    if (!cfg_.srtf_oracle) view = LasView(j);
    const int32_t priority =
        view ? core::LasPriority(las, history_.thresholds_gpu_s(), *view) : SrtfPriority(j);
    Job& cj = snap_.jobs[i];
    changed |= cj.priority != priority || cj.min_runtime != history_.min_runtime();
    cj.priority = priority;
    cj.min_runtime = history_.min_runtime();
    if (cfg_.srtf_oracle) cj.max_runtime = st_[j].remaining;  // from its (attempt's) start
    if (view && las.enabled) {  // for the reservation gate and the LAS gain rule
      cj.may_reserve = core::MayReserve(las, *view);
      cj.las_declared_priority = view->declared_priority;
      cj.executed_s = static_cast<Seconds>(core::ExecutedSeconds(view->attained_gpu_s, view->gpus));
    }
  }
  return changed;
}

// Active job j's priority in the next pass.
int32_t Replay::PolicyPriority(int32_t j) const {
  if (cfg_.srtf_oracle) return SrtfPriority(j);
  return core::LasPriority(cfg_.policy_config.las, history_.thresholds_gpu_s(), LasView(j));
}

// What LAS knows of active job j now (core::LasJob).
core::LasJob Replay::LasView(int32_t j) const {
  const JobState& js = st_[j];
  core::LasJob las;
  las.declared_priority = trace_.jobs[j].priority;
  las.attained_gpu_s = js.attained_gpu_s;
  las.gpus = static_cast<double>(js.gpu_milli) / 1000.0;
  las.pending = js.phase == Phase::kPending;
  las.pending_s = las.pending ? now_ - js.pending_since : 0;
  if (js.first_start >= 0) las.requeued_s = js.queued - (js.first_start - trace_.jobs[j].submit);
  las.starve_after_s = history_.starve_after_s();
  las.requeues = js.preemptions;
  las.running = js.phase == Phase::kRunning;
  las.checkpointable = trace_.jobs[j].checkpointable;
  const Job& cj = snap_.jobs[pos_[j]];
  las.age_s = now_ - trace_.jobs[j].submit;
  las.max_runtime_s = cj.max_runtime;
  las.runtime_estimate_s = cj.runtime_estimate;
  las.limit_fraction = history_.limit_fraction();
  las.guard_after_s = history_.guard_after_s();
  if (las.running && las.checkpointable) {
    // Its service at its last save (or at the start of this attempt).
    const Seconds saved_at = std::max(LastCheckpoint(j), js.attempt_start);
    las.attained_at_checkpoint_gpu_s =
        js.attained_gpu_s - las.gpus * static_cast<double>(now_ - saved_at);
    las.since_checkpoint_s = now_ - saved_at;
  }
  return las;
}

// Under LAS, running job j's next checkpoint after `after` is an event (see EventKind).
void Replay::ScheduleCheckpoint(int32_t j, Seconds after) {
  const SimJob& sj = trace_.jobs[j];
  const JobState& js = st_[j];
  if (!cfg_.policy_config.las.enabled || !sj.checkpointable || sj.checkpoint_interval <= 0) return;
  const Seconds first = js.attempt_start + js.overhead;
  const Seconds next = first + ((after - first) / sj.checkpoint_interval + 1) * sj.checkpoint_interval;
  if (next < first + js.remaining) events_.push(Event{next, EventKind::kCheckpoint, j, js.epoch});
}

// Shorter true remaining time = higher priority, inside the declared priority: minutes left,
// capped at 2^20 (two years), below the declared priority x 2^21.
int32_t Replay::SrtfPriority(int32_t j) const {
  const JobState& js = st_[j];
  Seconds left = js.remaining;
  if (js.phase == Phase::kRunning || js.phase == Phase::kTerminating)
    left -= std::max<Seconds>(0, now_ - js.attempt_start - js.overhead);
  const int64_t minutes = std::clamp<int64_t>(left / 60, 0, int64_t{1} << 20);
  return static_cast<int32_t>(int64_t{trace_.jobs[j].priority} * (int64_t{1} << 21) +
                              ((int64_t{1} << 20) - minutes));
}

// A running job whose minRuntime ended since the last pass.
bool Replay::SomeJobBecamePreemptible() const {
  for (int32_t j : running_) {
    const Seconds preemptible_at = st_[j].attempt_start + history_.min_runtime();
    if (st_[j].phase == Phase::kRunning && preemptible_at > last_pass_ && preemptible_at <= now_)
      return true;
  }
  return false;
}

// Whether a waiting job has a higher priority (as of the last pass) than `priority`.
bool Replay::SomePendingOutranks(int32_t priority) const {
  for (size_t i = 0; i < snap_.jobs.size(); ++i)
    if (st_[owner_[i]].phase == Phase::kPending && snap_.jobs[i].priority > priority) return true;
  return false;
}

Status Replay::Pass() {
  last_pass_ = now_;
  ReportCheckpoints();
  SetEstimates();
  snap_.now = now_;
  const auto p0 = std::chrono::steady_clock::now();
  auto d = scheduler_.Schedule(snap_);
  const auto p1 = std::chrono::steady_clock::now();
  if (!d) return d.error();
  metrics_.RecordPassTime(std::chrono::duration<double, std::milli>(p1 - p0).count());
  Apply(*d);
  metrics_.Sample(now_);
  dirty_ = false;
  if (running_.empty() && events_.empty() && next_arrival_ == n_ && d->starts.empty())
    DropStuck(d->waiting);
  // Time alone changes decisions only through attained service (LAS) and minimum run times
  // (preemption); other policies need a pass only when an event changed the cluster.
  if (cfg_.policy_config.las.enabled || cfg_.policy_config.scheduler.preemption)
    next_tick_ = now_ + std::max<Seconds>(1, cfg_.period);
  return Status::Ok();
}

// When running job j last saved in this attempt (its checkpoints fall every checkpoint_interval
// of work after the attempt's overhead); -1 when it has not, or does not checkpoint.
Seconds Replay::LastCheckpoint(int32_t j) const {
  const SimJob& sj = trace_.jobs[j];
  const JobState& js = st_[j];
  if (js.phase != Phase::kRunning || !sj.checkpointable || sj.checkpoint_interval <= 0) return -1;
  const Seconds worked = std::max<Seconds>(0, now_ - js.attempt_start - js.overhead);
  const Seconds saves = worked / sj.checkpoint_interval;
  return saves > 0 ? js.attempt_start + js.overhead + saves * sj.checkpoint_interval : -1;
}

// Checkpointing jobs tell the core when they last saved (victims are chosen by work lost).
void Replay::ReportCheckpoints() {
  for (size_t i = 0; i < snap_.jobs.size(); ++i)
    if (st_[owner_[i]].phase == Phase::kRunning)
      snap_.jobs[i].last_checkpoint_time = LastCheckpoint(owner_[i]);
}

// The core's jobs take the decisions through the driver contract; the simulated cluster follows.
void Replay::Apply(const core::Decisions& d) {
  core::ApplyDecisions(d, now_, snap_.jobs);
  for (const core::StartDecision& s : d.starts) StartAttempt(job_index_.at(s.job), s);
  DropUnschedulable(d.waiting);
  for (const core::PreemptDecision& p : d.preemptions) Preempt(job_index_.at(p.victim));
}

void Replay::StartAttempt(int32_t j, const core::StartDecision& s) {
  JobState& js = st_[j];
  if (static_cast<int32_t>(s.tasks.size()) != js.tasks) ++counters_.partial_gangs;
  if (js.phase == Phase::kPending) {
    metrics_.StopsWaiting(js.project, js.gpu_milli);
    js.queued += now_ - js.pending_since;
  }
  js.phase = Phase::kRunning;
  js.attempt_start = now_;
  js.overhead = js.attempts > 0 ? cfg_.restart_overhead : 0;
  const double overhead_milli_s =
      static_cast<double>(js.overhead) * static_cast<double>(js.gpu_milli);
  counters_.gpu_hours_restart += overhead_milli_s / 1000.0 / 3600.0;
  metrics_.Lost(now_, overhead_milli_s);
  ++js.attempts;
  if (js.first_start < 0) js.first_start = now_;
  ++js.epoch;
  metrics_.Holds(js.project, js.gpu_milli);
  running_.push_back(j);
  events_.push(Event{now_ + js.overhead + js.remaining, EventKind::kCompletion, j, js.epoch});
  ScheduleCheckpoint(j, now_ + js.overhead);
}

// Jobs that can never run here (no node could ever hold them, or an invalid spec) leave the
// queue: they would otherwise count as "waiting" forever and hide every policy's behaviour.
void Replay::DropUnschedulable(const std::vector<core::WaitExplanation>& waiting) {
  for (const core::WaitExplanation& w : waiting)
    if (w.reason == core::WaitReason::kUnschedulable || w.reason == core::WaitReason::kInvalid)
      Drop(w.job, w.message);
}

// The cluster is empty and nothing will arrive or end, yet the pass started nothing: a job it
// tried (any capacity reason) fits nowhere even now, so it never will -- the static check's
// necessary conditions passed, the search did not. Dropping it ends the run instead of ticking
// forever; jobs behind it (strict order, backfill depth) get the next pass.
void Replay::DropStuck(const std::vector<core::WaitExplanation>& waiting) {
  for (const core::WaitExplanation& w : waiting) {
    if (w.reason == core::WaitReason::kBehindBlockedJob ||
        w.reason == core::WaitReason::kNotConsidered)
      continue;
    Drop(w.job, "does not fit even on the empty cluster");
    dirty_ = true;
  }
}

void Replay::Drop(const std::string& id, const std::string& why) {
  const int32_t j = job_index_.at(id);
  if (st_[j].phase != Phase::kPending) return;
  st_[j].phase = Phase::kDone;
  st_[j].end = -1;
  metrics_.StopsWaiting(st_[j].project, st_[j].gpu_milli);
  ++counters_.unschedulable;
  unschedulable_.push_back({id, why});
  Deactivate(j);
}

// The victim exits after the grace period, losing the work since its last checkpoint.
void Replay::Preempt(int32_t v) {
  JobState& js = st_[v];
  if (js.phase != Phase::kRunning) return;
  const Seconds exit_at = now_ + cfg_.preemption_grace;
  const Seconds finish_at = js.attempt_start + js.overhead + js.remaining;
  js.phase = Phase::kTerminating;
  if (finish_at <= exit_at) {
    // It finishes within its grace period: nothing is lost, no requeue.
    js.preempted_but_finishing = true;
    return;
  }
  const Seconds worked =
      std::clamp<Seconds>(exit_at - js.attempt_start - js.overhead, 0, js.remaining);
  const SimJob& sj = trace_.jobs[v];
  const Seconds saved = cfg_.srtf_oracle ? worked
                        : sj.checkpointable && sj.checkpoint_interval > 0
                            ? worked / sj.checkpoint_interval * sj.checkpoint_interval
                            : 0;
  const double lost_milli_s = static_cast<double>(worked - saved) * static_cast<double>(js.gpu_milli);
  counters_.gpu_hours_lost += lost_milli_s / 1000.0 / 3600.0;
  js.lost_gpu_s += lost_milli_s / 1000.0;
  metrics_.Lost(now_, lost_milli_s);
  js.remaining -= saved;
  ++js.epoch;
  ++js.preemptions;
  ++counters_.preemptions;
  events_.push(Event{exit_at, EventKind::kExitAfterPreemption, v, js.epoch});
}

void Replay::Activate(int32_t j) {
  const SimJob& sj = trace_.jobs[j];
  Job cj;
  cj.id = sj.id;
  cj.project = sj.project;
  cj.user = sj.user;
  cj.priority = sj.priority;
  cj.submit_time = sj.submit;
  cj.groups = sj.groups;
  cj.max_runtime = cfg_.oracle_runtimes ? sj.duration : sj.max_runtime;
  cj.min_runtime = history_.min_runtime();
  cj.checkpointable = sj.checkpointable;
  history_.Arrived(cj.max_runtime);
  if (st_[j].tasks > 1 && has_leaf_)
    cj.topology = {"leaf", core::TopologyConstraint::Mode::kPreferred};
  pos_[j] = static_cast<int32_t>(snap_.jobs.size());
  snap_.jobs.push_back(std::move(cj));
  owner_.push_back(j);
}

void Replay::Deactivate(int32_t j) {
  const int32_t p = pos_[j];
  const int32_t last = static_cast<int32_t>(snap_.jobs.size()) - 1;
  if (p != last) {
    snap_.jobs[p] = std::move(snap_.jobs[last]);
    owner_[p] = owner_[last];
    pos_[owner_[p]] = p;
  }
  snap_.jobs.pop_back();
  owner_.pop_back();
  pos_[j] = -1;
}

// Every active job gets the estimate of the history so far (EASY uses it only without a
// maxRuntime; "drf-predicted" orders by it).
void Replay::SetEstimates() {
  for (size_t i = 0; i < snap_.jobs.size(); ++i) {
    Job& cj = snap_.jobs[i];
    const SimJob& sj = trace_.jobs[owner_[i]];
    cj.runtime_estimate = estimator_.Estimate({sj.user, sj.project, "", ""});
  }
}

void Replay::Release(int32_t j) {
  metrics_.Releases(st_[j].project, st_[j].gpu_milli);
  running_.erase(std::find(running_.begin(), running_.end(), j));
}

void Replay::Finish(SimReport& rep) {
  for (size_t j = 0; j < n_; ++j) {
    const JobState& js = st_[j];
    const SimJob& sj = trace_.jobs[j];
    const JobOutcome o{sj.id,          sj.project, js.gpu_milli,  sj.submit,
                       js.first_start, js.end,     sj.duration,   js.preemptions,
                       js.queued,      js.lost_gpu_s, js.fair_alone_s};
    rep.outcomes.push_back(o);
    if (js.phase != Phase::kDone || js.end < 0) continue;
    ++rep.completed;
    metrics_.Completed(o);
  }
  metrics_.Finish(rep);
  rep.partial_gangs = counters_.partial_gangs;
  rep.unschedulable = counters_.unschedulable;
  rep.unschedulable_jobs = std::move(unschedulable_);
  rep.preemptions = counters_.preemptions;
  rep.gpu_hours_lost = counters_.gpu_hours_lost;
  rep.gpu_hours_restart = counters_.gpu_hours_restart;
  rep.estimate_error = Summarize(estimate_errors_);
}

}  // namespace

Result<SimReport> Simulate(const Trace& trace, const SimConfig& cfg) {
  const auto wall0 = std::chrono::steady_clock::now();
  core::SchedulerConfig sc = cfg.policy_config.scheduler;
  sc.explain = false;  // the simulator reads decisions, not sentences
  auto scheduler = core::Scheduler::Create(sc);
  if (!scheduler) return Error(scheduler.error());
  SimReport rep;
  rep.policy = cfg.policy;
  rep.trace = trace.name;
  rep.load = cfg.load;
  rep.jobs = static_cast<int64_t>(trace.jobs.size());
  if (trace.jobs.empty()) return rep;
  Replay replay(trace, cfg, *scheduler);
  if (Status st = replay.Load(); !st.ok()) return Error(st);
  if (Status st = replay.Run(); !st.ok()) return Error(st);
  replay.Finish(rep);
  rep.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return rep;
}

}  // namespace kumo::sim
