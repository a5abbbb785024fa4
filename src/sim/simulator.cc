#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <unordered_map>

namespace kumo::sim {

using core::Job;
using core::JobPhase;
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
  d.p95 = pct(0.95);
  d.p99 = pct(0.99);
  return d;
}

namespace {

// The compared policies (see simulator.h), one row each.
struct NamedPolicyRow {
  const char* name;
  const char* queue_order;
  core::BackfillMode backfill;
  bool preemption;
  bool las;
};
constexpr NamedPolicyRow kPolicies[] = {
    {"fifo", "fifo", core::BackfillMode::kNone, false, false},
    {"fifo-backfill", "fifo", core::BackfillMode::kEasy, false, false},
    {"drf", "drf", core::BackfillMode::kGreedy, false, false},
    {"kumo", "drf", core::BackfillMode::kEasy, true, true},
};

}  // namespace

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const NamedPolicyRow& row : kPolicies) names.push_back(row.name);
  return names;
}

Result<SimConfig> NamedPolicy(const std::string& name) {
  for (const NamedPolicyRow& row : kPolicies) {
    if (name != row.name) continue;
    SimConfig c;
    c.policy = name;
    c.scheduler.placement = "binpack";
    c.scheduler.queue_order = row.queue_order;
    c.scheduler.backfill = row.backfill;
    c.scheduler.preemption = row.preemption;
    c.las.enabled = row.las;
    return c;
  }
  return Error(Status::InvalidArgument("unknown policy \"" + name +
                                       "\" (known: fifo, fifo-backfill, drf, kumo, all)"));
}

namespace {

enum class Phase { kFuture, kPending, kRunning, kTerminating, kDone };

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
  uint64_t epoch = 0;         // invalidates stale completion events
  double attained_gpu_s = 0;  // GPU-seconds of service received (Tiresias' 2D attained service)
  int64_t gpu_milli = 0;
  int32_t project = 0;
  int32_t tasks = 0;
  bool preempted_but_finishing = false;
};

struct Event {
  Seconds t;
  int kind;  // 0 completion, 1 exit after preemption
  int32_t job;
  uint64_t epoch;
  bool operator>(const Event& o) const {
    if (t != o.t) return t > o.t;
    if (kind != o.kind) return kind > o.kind;
    return job > o.job;
  }
};

const char* GangClass(int64_t gpu_milli) {
  if (gpu_milli <= 1000) return "1";
  if (gpu_milli <= 8000) return "2-8";
  if (gpu_milli <= 32000) return "9-32";
  return ">32";
}

// Weighted max-min fair shares of `capacity` among projects with `demand` (water-filling).
std::vector<double> FairShares(const std::vector<double>& demand, const std::vector<double>& weight,
                               double capacity) {
  const size_t n = demand.size();
  std::vector<double> share(n, 0.0);
  std::vector<bool> done(n, false);
  double left = capacity;
  for (size_t round = 0; round < n && left > 1e-9; ++round) {
    double wsum = 0;
    for (size_t i = 0; i < n; ++i)
      if (!done[i] && demand[i] > 0) wsum += weight[i];
    if (wsum <= 0) break;
    bool capped = false;
    for (size_t i = 0; i < n; ++i) {
      if (done[i] || demand[i] <= 0) continue;
      double offer = left * weight[i] / wsum;
      if (share[i] + offer >= demand[i]) {
        left -= demand[i] - share[i];
        share[i] = demand[i];
        done[i] = true;
        capped = true;
      }
    }
    if (!capped) {
      for (size_t i = 0; i < n; ++i)
        if (!done[i] && demand[i] > 0) share[i] += left * weight[i] / wsum;
      left = 0;
    }
  }
  return share;
}

}  // namespace

Result<SimReport> Simulate(const Trace& trace, const SimConfig& cfg) {
  auto wall0 = std::chrono::steady_clock::now();
  core::SchedulerConfig sc = cfg.scheduler;
  sc.explain = false;  // the simulator reads decisions, not sentences
  if (sc.backfill_depth == 0) sc.backfill_depth = cfg.backfill_depth;
  auto scheduler = core::Scheduler::Create(sc);
  if (!scheduler) return Error(scheduler.error());
  SimReport rep;
  rep.policy = cfg.policy;
  rep.trace = trace.name;
  rep.load = cfg.load;
  rep.jobs = static_cast<int64_t>(trace.jobs.size());
  if (trace.jobs.empty()) return rep;

  core::Snapshot snap;
  snap.topology_levels = trace.topology_levels;
  snap.nodes = trace.nodes;
  snap.projects = trace.projects;
  std::unordered_map<std::string, int32_t> project_index;
  for (size_t p = 0; p < snap.projects.size(); ++p)
    project_index[snap.projects[p].name] = static_cast<int32_t>(p);
  const size_t n = trace.jobs.size();
  std::vector<JobState> st(n);
  std::unordered_map<std::string, int32_t> job_index;
  for (size_t j = 0; j < n; ++j) {
    const SimJob& sj = trace.jobs[j];
    job_index[sj.id] = static_cast<int32_t>(j);
    st[j].remaining = sj.duration;
    st[j].gpu_milli = sj.GpuMilli();
    auto pi = project_index.find(sj.project);
    if (pi == project_index.end())
      return Error(Status::InvalidArgument("job " + sj.id + ": unknown project " + sj.project));
    st[j].project = pi->second;
    for (const auto& g : sj.groups) st[j].tasks += g.replicas;
  }
  const double capacity = static_cast<double>(trace.GpuCapacityMilli());
  const size_t np = snap.projects.size();
  std::vector<double> weights(np);
  for (size_t p = 0; p < np; ++p) weights[p] = snap.projects[p].weight;
  std::vector<double> pending_gpu(np, 0), running_gpu(np, 0);

  // Active jobs live in snap.jobs; swap-remove keeps the vector dense.
  std::vector<int32_t> pos(n, -1), owner;
  auto activate = [&](int32_t j) {
    const SimJob& sj = trace.jobs[j];
    Job cj;
    cj.id = sj.id;
    cj.project = sj.project;
    cj.user = sj.user;
    cj.priority = sj.priority;
    cj.submit_time = sj.submit;
    cj.groups = sj.groups;
    cj.max_runtime = sj.max_runtime;
    cj.min_runtime = cfg.min_runtime;
    cj.checkpointable = sj.checkpointable;
    if (st[j].tasks > 1) cj.topology = {"leaf", core::TopologyConstraint::Mode::kPreferred};
    pos[j] = static_cast<int32_t>(snap.jobs.size());
    snap.jobs.push_back(std::move(cj));
    owner.push_back(j);
  };
  auto deactivate = [&](int32_t j) {
    int32_t p = pos[j];
    int32_t last = static_cast<int32_t>(snap.jobs.size()) - 1;
    if (p != last) {
      snap.jobs[p] = std::move(snap.jobs[last]);
      owner[p] = owner[last];
      pos[owner[p]] = p;
    }
    snap.jobs.pop_back();
    owner.pop_back();
    pos[j] = -1;
  };

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  size_t next_arrival = 0;
  const Seconds t0 = trace.jobs.front().submit;
  Seconds now = t0, last_t = t0, next_tick = core::kNever;
  int64_t allocated = 0, pending_count = 0, done_count = 0;
  double alloc_integral = 0, jain_integral = 0, jain_time = 0;
  double contended_alloc_integral = 0, contended_time = 0, window_alloc_integral = 0;
  const Seconds last_arrival = trace.jobs.back().submit;
  std::vector<double> pass_ms;
  std::vector<int32_t> running_list;

  auto advance = [&](Seconds t) {
    const double dt = static_cast<double>(t - last_t);
    if (dt <= 0) return;
    alloc_integral += static_cast<double>(allocated) * dt;
    if (pending_count > 0) {
      contended_alloc_integral += static_cast<double>(allocated) * dt;
      contended_time += dt;
    }
    // Over the arrival window (the same for every policy): [first arrival, last arrival].
    const double w0 = static_cast<double>(std::max(last_t, t0));
    const double w1 = static_cast<double>(std::min(t, last_arrival));
    if (w1 > w0) window_alloc_integral += static_cast<double>(allocated) * (w1 - w0);
    // Attained service of running jobs.
    for (int32_t j : running_list)
      if (st[j].phase == Phase::kRunning || st[j].phase == Phase::kTerminating)
        st[j].attained_gpu_s += static_cast<double>(st[j].gpu_milli) / 1000.0 * dt;
    // Fairness: only while some job waits and at least two projects want GPUs.
    if (pending_count > 0) {
      std::vector<double> demand(np), w;
      int active = 0;
      for (size_t p = 0; p < np; ++p) {
        demand[p] = pending_gpu[p] + running_gpu[p];
        active += demand[p] > 0;
      }
      if (active >= 2) {
        std::vector<double> share = FairShares(demand, weights, capacity);
        double sx = 0, sxx = 0;
        int k = 0;
        for (size_t p = 0; p < np; ++p) {
          if (demand[p] <= 0 || share[p] <= 0) continue;
          double x = running_gpu[p] / share[p];
          sx += x;
          sxx += x * x;
          ++k;
        }
        if (k > 0 && sxx > 0) {
          jain_integral += (sx * sx) / (k * sxx) * dt;
          jain_time += dt;
        }
      }
    }
    last_t = t;
  };

  auto start_job = [&](int32_t j, const core::StartDecision& s) {
    JobState& js = st[j];
    if (static_cast<int32_t>(s.tasks.size()) != js.tasks) ++rep.partial_gangs;
    if (js.phase == Phase::kPending) {
      --pending_count;
      pending_gpu[js.project] -= static_cast<double>(js.gpu_milli);
    }
    js.phase = Phase::kRunning;
    js.attempt_start = now;
    js.overhead = js.attempts > 0 ? cfg.restart_overhead : 0;
    ++js.attempts;
    if (js.first_start < 0) js.first_start = now;
    ++js.epoch;
    allocated += js.gpu_milli;
    running_gpu[js.project] += static_cast<double>(js.gpu_milli);
    running_list.push_back(j);
    Job& cj = snap.jobs[pos[j]];
    cj.phase = JobPhase::kRunning;
    cj.start_time = now;
    cj.last_checkpoint_time = -1;
    cj.placements = s.tasks;
    cj.nominated = false;
    cj.reservation.clear();
    events.push(Event{now + js.overhead + js.remaining, 0, j, js.epoch});
  };
  auto release = [&](int32_t j) {
    JobState& js = st[j];
    allocated -= js.gpu_milli;
    running_gpu[js.project] -= static_cast<double>(js.gpu_milli);
    running_list.erase(std::find(running_list.begin(), running_list.end(), j));
  };

  bool dirty = true;
  Seconds last_pass = core::kNever;  // none yet
  int32_t reserved_job = -1;
  while (true) {
    Seconds next = core::kNever;
    if (next_arrival < n) next = std::min(next, trace.jobs[next_arrival].submit);
    if (!events.empty()) next = std::min(next, events.top().t);
    if (pending_count > 0) next = std::min(next, next_tick);
    // A changed cluster gets a pass at the next pass slot (passes at most every pass_interval).
    const Seconds pass_slot = last_pass >= core::kNever ? now : last_pass + cfg.pass_interval;
    if (dirty) next = std::min(next, std::max(now, pass_slot));
    if (next >= core::kNever) break;
    advance(next);
    now = next;
    bool tick = now >= next_tick;
    while (next_arrival < n && trace.jobs[next_arrival].submit <= now) {
      int32_t j = static_cast<int32_t>(next_arrival++);
      st[j].phase = Phase::kPending;
      st[j].pending_since = now;
      ++pending_count;
      pending_gpu[st[j].project] += static_cast<double>(st[j].gpu_milli);
      activate(j);
      dirty = true;
    }
    while (!events.empty() && events.top().t <= now) {
      Event e = events.top();
      events.pop();
      JobState& js = st[e.job];
      if (e.kind == 0) {
        if (e.epoch != js.epoch || (js.phase != Phase::kRunning && !js.preempted_but_finishing))
          continue;
        release(e.job);
        js.phase = Phase::kDone;
        js.end = now;
        ++done_count;
        deactivate(e.job);
      } else {
        if (js.phase != Phase::kTerminating || js.preempted_but_finishing) continue;
        release(e.job);
        js.phase = Phase::kPending;
        js.pending_since = now;
        ++pending_count;
        pending_gpu[js.project] += static_cast<double>(js.gpu_milli);
        Job& cj = snap.jobs[pos[e.job]];
        cj.phase = JobPhase::kPending;
        cj.placements.clear();
      }
      dirty = true;
    }
    if (!dirty && !tick) continue;
    if (pending_count == 0 && !dirty) continue;
    if (last_pass < core::kNever && now < last_pass + cfg.pass_interval) continue;  // batched
    // Tiresias-style queues: fewer attained GPU-seconds -> higher priority inside the declared one.
    bool priorities_changed = false;
    if (cfg.las.enabled) {
      const int32_t levels = static_cast<int32_t>(cfg.las.thresholds_gpu_s.size());
      for (size_t i = 0; i < snap.jobs.size(); ++i) {
        int32_t j = owner[i];
        const JobState& js = st[j];
        int32_t q = 0;
        while (q < levels && js.attained_gpu_s >= cfg.las.thresholds_gpu_s[q]) ++q;
        if (js.phase == Phase::kPending && js.attained_gpu_s > 0) {
          double executed_s =
              js.attained_gpu_s / std::max(1.0, static_cast<double>(js.gpu_milli) / 1000.0);
          if (static_cast<double>(now - js.pending_since) > cfg.las.starve_factor * executed_s)
            q = 0;
        }
        const int32_t priority = trace.jobs[j].priority * (levels + 1) + (levels - q);
        priorities_changed |= snap.jobs[i].priority != priority;
        snap.jobs[i].priority = priority;
      }
    }
    if (!dirty && !priorities_changed) {
      // A periodic pass matters only if a queue changed or a running job just became
      // preemptible (its minRuntime passed since the last pass); otherwise it would decide
      // exactly what the last one did.
      bool became_preemptible = false;
      for (int32_t j : running_list)
        if (st[j].phase == Phase::kRunning && st[j].attempt_start + cfg.min_runtime > last_pass &&
            st[j].attempt_start + cfg.min_runtime <= now)
          became_preemptible = true;
      if (!became_preemptible) {
        next_tick = now + std::max<Seconds>(1, cfg.period);
        continue;
      }
    }
    last_pass = now;
    // Checkpointing jobs tell the core when they last saved (victims are chosen by work lost).
    for (size_t i = 0; i < snap.jobs.size(); ++i) {
      const int32_t j = owner[i];
      const SimJob& sj = trace.jobs[j];
      if (st[j].phase != Phase::kRunning || !sj.checkpointable || sj.checkpoint_interval <= 0)
        continue;
      const Seconds worked = std::max<Seconds>(0, now - st[j].attempt_start - st[j].overhead);
      const Seconds saves = worked / sj.checkpoint_interval;
      snap.jobs[i].last_checkpoint_time =
          saves > 0 ? st[j].attempt_start + st[j].overhead + saves * sj.checkpoint_interval : -1;
    }
    snap.now = now;
    auto p0 = std::chrono::steady_clock::now();
    auto d = scheduler->Schedule(snap);
    auto p1 = std::chrono::steady_clock::now();
    if (!d) return Error(d.error());
    pass_ms.push_back(std::chrono::duration<double, std::milli>(p1 - p0).count());
    for (const core::StartDecision& s : d->starts) start_job(job_index.at(s.job), s);
    // Jobs that can never run here (no node could ever hold them, or an invalid spec) leave the
    // queue: they would otherwise count as "waiting" forever and hide every policy's behaviour.
    for (const core::WaitExplanation& w : d->waiting) {
      if (w.reason != core::WaitReason::kUnschedulable && w.reason != core::WaitReason::kInvalid)
        continue;
      int32_t j = job_index.at(w.job);
      if (st[j].phase != Phase::kPending) continue;
      st[j].phase = Phase::kDone;
      st[j].end = -1;
      --pending_count;
      pending_gpu[st[j].project] -= static_cast<double>(st[j].gpu_milli);
      ++rep.unschedulable;
      deactivate(j);
    }
    // The reserved job carries its placement into the next pass (and only it).
    if (reserved_job >= 0 && pos[reserved_job] >= 0)
      snap.jobs[pos[reserved_job]].reservation.clear();
    reserved_job = -1;
    for (const core::ReservationDecision& r : d->reservations) {
      int32_t rj = job_index.at(r.job);
      if (pos[rj] < 0 || st[rj].phase != Phase::kPending) continue;
      snap.jobs[pos[rj]].reservation = r.tasks;
      reserved_job = rj;
    }
    for (const core::PreemptDecision& pd : d->preemptions) {
      int32_t preemptor = job_index.at(pd.preemptor);
      if (pos[preemptor] >= 0) snap.jobs[pos[preemptor]].nominated = true;
      int32_t v = job_index.at(pd.victim);
      JobState& js = st[v];
      if (js.phase != Phase::kRunning) continue;
      Job& cj = snap.jobs[pos[v]];
      cj.phase = JobPhase::kTerminating;
      const Seconds exit_at = now + cfg.preemption_grace;
      const Seconds finish_at = js.attempt_start + js.overhead + js.remaining;
      if (finish_at <= exit_at) {
        // It finishes within its grace period: nothing is lost, no requeue.
        js.phase = Phase::kTerminating;
        js.preempted_but_finishing = true;
        continue;
      }
      Seconds worked =
          std::clamp<Seconds>(exit_at - js.attempt_start - js.overhead, 0, js.remaining);
      const SimJob& sj = trace.jobs[v];
      Seconds saved = sj.checkpointable && sj.checkpoint_interval > 0
                          ? worked / sj.checkpoint_interval * sj.checkpoint_interval
                          : 0;
      rep.gpu_hours_lost +=
          static_cast<double>(worked - saved) * static_cast<double>(js.gpu_milli) / 1000.0 / 3600.0;
      js.remaining -= saved;
      js.phase = Phase::kTerminating;
      ++js.epoch;
      ++js.preemptions;
      ++rep.preemptions;
      events.push(Event{exit_at, 1, v, js.epoch});
    }
    rep.series.push_back(SeriesPoint{now, pending_count, allocated});
    dirty = false;
    // Time alone changes decisions only through attained service (LAS) and minimum run times
    // (preemption); other policies need a pass only when an event changed the cluster.
    if (cfg.las.enabled || cfg.scheduler.preemption)
      next_tick = now + std::max<Seconds>(1, cfg.period);
  }

  // Report.
  std::vector<double> jct, wait;
  std::map<std::string, std::vector<double>> jct_c, wait_c;
  std::map<std::string, std::vector<double>> slow;
  Seconds last_end = t0;
  for (size_t j = 0; j < n; ++j) {
    const JobState& js = st[j];
    const SimJob& sj = trace.jobs[j];
    JobOutcome o{sj.id,          sj.project, js.gpu_milli, sj.submit,
                 js.first_start, js.end,     sj.duration,  js.preemptions};
    rep.outcomes.push_back(o);
    if (js.phase != Phase::kDone || js.end < 0) continue;
    ++rep.completed;
    double c = static_cast<double>(js.end - sj.submit);
    double w = static_cast<double>(js.first_start - sj.submit);
    jct.push_back(c);
    wait.push_back(w);
    jct_c[GangClass(js.gpu_milli)].push_back(c);
    wait_c[GangClass(js.gpu_milli)].push_back(w);
    slow[sj.project].push_back(c / static_cast<double>(std::max<Seconds>(1, sj.duration)));
    last_end = std::max(last_end, js.end);
  }
  rep.jct_s = Summarize(jct);
  rep.wait_s = Summarize(wait);
  for (auto& [k, v] : jct_c) rep.jct_by_class[k] = Summarize(v);
  for (auto& [k, v] : wait_c) rep.wait_by_class[k] = Summarize(v);
  for (auto& [k, v] : slow) rep.slowdown_by_project[k] = Summarize(v).mean;
  rep.makespan_s = last_end - t0;
  rep.gpu_allocation_makespan =
      rep.makespan_s > 0 ? alloc_integral / (capacity * static_cast<double>(rep.makespan_s)) : 0;
  rep.gpu_allocation_contended = contended_time > 0
                                     ? contended_alloc_integral / (capacity * contended_time)
                                     : rep.gpu_allocation_makespan;
  rep.gpu_allocation = last_arrival > t0 ? window_alloc_integral /
                                               (capacity * static_cast<double>(last_arrival - t0))
                                         : rep.gpu_allocation_makespan;
  rep.contended_hours = contended_time / 3600.0;
  rep.jain_fairness = jain_time > 0 ? jain_integral / jain_time : 1.0;
  rep.passes = static_cast<int64_t>(pass_ms.size());
  Distribution pd = Summarize(pass_ms);
  rep.pass_ms_mean = pd.mean;
  rep.pass_ms_p99 = pd.p99;
  rep.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return rep;
}

}  // namespace kumo::sim
