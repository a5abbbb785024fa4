#include "core/preemption/eviction.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/pass_state.h"
#include "core/text.h"

namespace kumo::core::internal {

int64_t LostWorkMilliGpuS(const JobRt& v, Seconds now) {
  const Job& job = *v.job;
  const Seconds since = job.checkpointable && job.last_checkpoint_time >= v.start
                            ? job.last_checkpoint_time
                            : v.start;
  return (now - since) * std::max<int64_t>(1, v.request[kGpu]);
}

int32_t IdleWholeGpus(const NodeRt& node) {
  int32_t w = 0;
  for (const GpuSlot& g : node.gpus) w += g.free - g.hold >= kMilliPerGpu;
  return w;
}

bool MayUseNode(const JobRt& jr, int32_t node) {
  for (const TaskDemand& d : jr.gang.tasks)
    if ((*d.eligible)[node] != 0) return true;
  return false;
}

bool OnReservation(const PassState& pass, const std::vector<PlacedTask>& tasks) {
  if (!pass.reservation) return false;
  for (const PlacedTask& t : tasks)
    if (pass.reservation->on_node[t.node] != 0) return true;
  return false;
}

namespace {

struct Candidate {
  int32_t job;
  int32_t priority;
  double borrowed;    // how far its project is over its guarantee, as a share of the cluster
  int32_t stranded;   // GPUs it would free that the preemptor could not use (Stranded)
  int64_t lost_work;  // milli-GPU-seconds since its last checkpoint (since start if none)
  Seconds run;
  // Put below the preemptor by LAS alone: the same declared priority, and not a quota reclaim
  // (PreemptionGainConfig applies to these victims only).
  bool las = false;
};

// Whole GPUs that preempting `victim` alone would free beyond what `preemptor` could use where
// they are freed; negative when the victim's exit also puts idle GPUs to use. For an 8-GPU
// preemptor an 8-GPU victim alone on its node scores 0 and a 4-GPU victim next to 4 idle GPUs -4
// (half the GPUs preempted for the same fit); for a 4-GPU preemptor that 8-GPU victim scores 4.
// Counted on the kAfterExit view the preemption trial places on (free plus terminating); shared
// GPUs and cpu are ignored: this only ranks candidates, the trial placement decides.
int32_t Stranded(const ClusterState& s, const JobRt& preemptor, const JobRt& victim) {
  const std::vector<TaskDemand>& tasks = preemptor.gang.tasks;  // largest first
  int32_t want = 0;
  for (const TaskDemand& d : tasks) want += d.whole;
  // Whole GPUs the preemptor's tasks could take out of `avail` whole GPUs on node n.
  auto usable = [&](int32_t n, int32_t avail) {
    int32_t used = 0;
    for (const TaskDemand& d : tasks)
      if (d.whole > 0 && (*d.eligible)[n] && d.whole <= avail - used) used += d.whole;
    return used;
  };
  auto any_whole =
      std::find_if(tasks.begin(), tasks.end(), [](const TaskDemand& d) { return d.whole > 0; });
  const std::vector<uint8_t>* model_ok = any_whole == tasks.end() ? nullptr : any_whole->model_ok;
  int32_t freed = 0, gained = 0;
  std::vector<int32_t> seen;
  for (const PlacedTask& t : victim.placed) {
    if (std::find(seen.begin(), seen.end(), t.node) != seen.end()) continue;
    seen.push_back(t.node);
    const NodeRt& node = s.nodes[t.node];
    // The victim's milli-GPU on each slot of this node (all of its tasks there).
    std::vector<int32_t> mine(node.gpus.size(), 0);
    for (const PlacedTask& u : victim.placed)
      if (u.node == t.node)
        for (auto [pos, milli] : u.slots) mine[pos] += milli;
    // Whole GPUs the preemptor could take on this node before and after the victim exits.
    int32_t before = 0, after = 0;
    for (size_t pos = 0; pos < node.gpus.size(); ++pos) {
      const GpuSlot& g = node.gpus[pos];
      const int32_t avail = g.free + g.term;
      if (avail + mine[pos] < kMilliPerGpu) continue;  // not a whole GPU even after the exit
      const bool was_whole = avail >= kMilliPerGpu;
      if (!was_whole) ++freed;
      if (model_ok != nullptr && (*model_ok)[g.model] == 0) continue;  // a model it does not take
      ++after;
      before += was_whole;
    }
    if (!node.schedulable) continue;
    gained += usable(t.node, after) - usable(t.node, before);
  }
  return freed - std::min(gained, want);
}

void Rank(const PassState& pass, std::vector<Candidate>* cands);

class EvictionPolicy final : public PreemptionPolicy {
 public:
  EvictionPolicy(bool priority, bool reclaim) : priority_(priority), reclaim_(reclaim) {}
  std::string_view name() const override {
    return priority_ && reclaim_ ? "priority+reclaim" : priority_ ? "priority" : "reclaim";
  }
  bool MakeRoom(PassState& pass, int32_t j, Decisions* out) const override;

 private:
  std::vector<Candidate> Candidates(PassState& pass, int32_t j) const;
  static void Commit(PassState& pass, int32_t j, const std::vector<int32_t>& victims,
                     Decisions* out);
  bool priority_, reclaim_;
};

// Running jobs the rules allow, past their minimum run time, on a node the job may use; ranked
// cheapest first and cut to SchedulerConfig::max_preemption_candidates.
std::vector<Candidate> EvictionPolicy::Candidates(PassState& pass, int32_t j) const {
  const JobRt& jr = pass.jobs[j];
  VictimFacts f;
  f.preemptor_priority = jr.job->priority;
  f.preemptor_in_guarantee = pass.InGuaranteeAfter(jr.project, jr.request);
  std::vector<Candidate> cands;
  // Both rules in two checks that hold for every candidate (eviction.h): "priority" needs a
  // victim of lower priority, "reclaim" a preemptor within its guarantee.
  if (!(priority_ && f.preemptor_priority > pass.lowest_victim_priority) &&
      !(reclaim_ && f.preemptor_in_guarantee))
    return cands;
  for (size_t q = 0; q < pass.projects.size(); ++q) {
    const size_t borrow_start = pass.BorrowingStart(static_cast<int32_t>(q));
    const ProjectRt& pr = pass.projects[q];
    f.same_project = static_cast<int32_t>(q) == jr.project;
    double borrowed = 0;
    for (int k : pass.quota_kinds)
      if (pass.nodes.capacity()[k] > 0)
        borrowed = std::max(borrowed, static_cast<double>(pr.usage[k] - pr.spec->guaranteed[k]) /
                                          static_cast<double>(pass.nodes.capacity()[k]));
    for (size_t i = 0; i < pr.running.size(); ++i) {
      const JobRt& v = pass.jobs[pr.running[i]];
      const Job& vj = *v.job;
      if (v.admitted_in_pass || !vj.preemptible) continue;
      if (pass.snap.now - v.start < vj.min_runtime) continue;
      f.victim_priority = vj.priority;
      f.victim_borrowing = i >= borrow_start;
      if (!(priority_ && PriorityAllows(f)) && !(reclaim_ && ReclaimAllows(f))) continue;
      if (std::none_of(v.placed.begin(), v.placed.end(),
                       [&](const PlacedTask& t) { return MayUseNode(jr, t.node); }))
        continue;
      const bool las = jr.job->las_declared_priority && vj.las_declared_priority &&
                       *jr.job->las_declared_priority == *vj.las_declared_priority &&
                       !(reclaim_ && ReclaimAllows(f));
      cands.push_back(Candidate{pr.running[i], vj.priority,
                                f.same_project ? 0.0 : std::max(borrowed, 0.0),
                                Stranded(pass.cluster, jr, v), LostWorkMilliGpuS(v, pass.snap.now),
                                pass.snap.now - v.start, las});
    }
  }
  Rank(pass, &cands);
  return cands;
}

// Cheapest first: lowest priority, most over quota, fewest GPUs stranded, least work lost,
// shortest run. Stranding ranks before lost work: a stranded GPU idles until a job small enough
// for the hole arrives -- under LAS, whose queue holds mostly demoted big gangs, that can take
// hours -- while a checkpointing victim loses at most one checkpoint interval. (A victim that
// does not checkpoint may so lose more work than another candidate would have.)
void Rank(const PassState& pass, std::vector<Candidate>* cands) {
  std::sort(cands->begin(), cands->end(), [&](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.borrowed != b.borrowed) return a.borrowed > b.borrowed;
    if (a.stranded != b.stranded) return a.stranded < b.stranded;
    if (a.lost_work != b.lost_work) return a.lost_work < b.lost_work;
    if (a.run != b.run) return a.run < b.run;
    return pass.jobs[a.job].job->id < pass.jobs[b.job].job->id;
  });
  if (static_cast<int32_t>(cands->size()) > pass.config.max_preemption_candidates)
    cands->resize(pass.config.max_preemption_candidates);
}

// Whether j fits once `victims` have exited (on top of what is terminating already).
bool FitsAfterExit(PassState& pass, int32_t j, const std::vector<int32_t>& victims) {
  const size_t mark = pass.cluster.Mark();
  for (int32_t v : victims)
    for (const PlacedTask& t : pass.jobs[v].placed)
      Release(pass.cluster, t, ReleaseKind::kUsedToTerm);
  std::vector<PlacedTask> tmp;
  const bool ok = pass.placer.Place(pass.jobs[j].gang, Use::kAfterExit, &tmp);
  pass.cluster.Rollback(mark);
  return ok;
}

}  // namespace

std::vector<int32_t> MinimalVictims(PassState& pass, int32_t j,
                                    const std::vector<int32_t>& ranked) {
  const JobRt& jr = pass.jobs[j];
  ClusterState& s = pass.cluster;
  const size_t mark = s.Mark();
  // Quick bound: GPUs and cpu that would be available after exits, on any node.
  int64_t avail_gpu = 0, avail_cpu = 0;
  for (const NodeRt& n : s.nodes) {
    if (!n.schedulable) continue;
    avail_gpu += n.free[kGpu] + n.term[kGpu];
    avail_cpu += n.free[kCpu] + n.term[kCpu];
  }
  std::vector<int32_t> chosen;
  bool fits = false;
  for (int32_t c : ranked) {
    for (const PlacedTask& t : pass.jobs[c].placed) {
      Release(s, t, ReleaseKind::kUsedToTerm);
      if (s.nodes[t.node].schedulable) {
        avail_gpu += t.res[kGpu];
        avail_cpu += t.res[kCpu];
      }
    }
    chosen.push_back(c);
    if (avail_gpu < jr.request[kGpu] || avail_cpu < jr.request[kCpu]) continue;
    if (FitsAfterExit(pass, j, {})) {
      fits = true;
      break;
    }
  }
  s.Rollback(mark);
  if (!fits) return {};
  for (size_t i = chosen.size() - 1; i-- > 0;) {
    std::vector<int32_t> trial = chosen;
    trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
    if (FitsAfterExit(pass, j, trial)) chosen = std::move(trial);
  }
  return chosen;
}

namespace {

// Preempt for gain (PreemptionGainConfig). LAS stops a demoted job for a newer one because a job
// that has attained little is likely to finish soon (core/las.h); it does not ask whether the
// preemptor is in fact short, nor what the stop costs. With the rule, a LAS preemption must save
// more work than it spends, all in GPU-seconds:
//   preemptor's predicted remaining work
//     + the victims' work since their last save (thrown away) + their restarts
//   < the victims' predicted remaining work.
// A job's remaining work is predicted from its age (Harchol-Balter & Downey, "Exploiting
// process lifetime distributions for dynamic load balancing", 1997: under the heavy-tailed
// durations of DL clusters a job that has run t runs about t more), i.e. executed_s x GPUs for a
// victim; the preemptor's from its estimate (runtime_estimate, capped at max_runtime) minus what
// it ran, or -- past its estimate -- by its age too. A preemptor with no estimate is not judged.
// Worked example (restart 60 s): a 1-GPU preemptor estimated at 2 h (7,200 GPU-s) against an
// 8-GPU victim that has run 3 h (8 x 10,800 = 86,400 GPU-s left) and saved 100 s ago
// (8 x 100 = 800 lost, 8 x 60 = 480 restart): 7,200 + 1,280 < 86,400, admitted. An 8-GPU
// preemptor estimated at 4 h (8 x 14,400 = 115,200) against the same victim: refused -- it would
// cost the victim 86,400 GPU-s of waiting at least to save less than that.
// Victims stopped for a higher declared priority or a quota reclaim take no part in the sums.
bool GainAllows(const PassState& pass, int32_t j, const std::vector<int32_t>& victims,
                const std::vector<Candidate>& cands) {
  const PreemptionGainConfig& gain = pass.config.preempt_for_gain;
  if (!gain.enabled) return true;
  const Seconds now = pass.snap.now;
  double cost_gpu_s = 0, saved_gpu_s = 0;
  bool any_las = false;
  for (int32_t v : victims) {
    auto c =
        std::find_if(cands.begin(), cands.end(), [&](const Candidate& x) { return x.job == v; });
    if (c == cands.end() || !c->las) continue;
    any_las = true;
    const JobRt& vr = pass.jobs[v];
    const double gpus = static_cast<double>(vr.request[kGpu]) / kMilliPerGpu;
    // A driver that does not count earlier attempts still knows this one's run.
    const Seconds age = std::max(vr.job->executed_s, now - vr.start);
    cost_gpu_s += static_cast<double>(c->lost_work) / kMilliPerGpu +
                  gpus * static_cast<double>(gain.restart_cost_s);
    saved_gpu_s += gpus * static_cast<double>(age);
  }
  if (!any_las) return true;
  const Job& p = *pass.jobs[j].job;
  const Seconds estimate = std::min(p.runtime_estimate, p.max_runtime);
  if (estimate >= kNever) return true;
  const Seconds left = estimate > p.executed_s ? estimate - p.executed_s : p.executed_s;
  cost_gpu_s +=
      static_cast<double>(pass.jobs[j].request[kGpu]) / kMilliPerGpu * static_cast<double>(left);
  return cost_gpu_s < saved_gpu_s;
}

// Victims become terminating; j takes their place after they exit.
void EvictionPolicy::Commit(PassState& pass, int32_t j, const std::vector<int32_t>& victims,
                            Decisions* out) {
  const JobRt& jr = pass.jobs[j];
  const Job& job = *jr.job;
  std::string names;
  for (int32_t v : victims) {
    const JobRt& vr = pass.jobs[v];
    for (const PlacedTask& t : vr.placed) Release(pass.cluster, t, ReleaseKind::kUsedToTerm);
    pass.MarkTerminating(v);
    const bool same_project = vr.project == jr.project;
    const bool reclaim = !same_project && vr.job->priority >= job.priority;
    PreemptDecision d;
    d.victim = vr.job->id;
    d.preemptor = job.id;
    d.reason = reclaim ? PreemptionReason::kReclaim : PreemptionReason::kPriority;
    if (reclaim) {
      d.message =
          Fmt("project \"%s\" reclaims its guaranteed quota for job \"%s\" from borrowing project "
              "\"%s\"",
              pass.projects[jr.project].spec->name.c_str(), job.id.c_str(),
              pass.projects[vr.project].spec->name.c_str());
    } else {
      d.message =
          Fmt("preempted by job \"%s\" (priority %d > %d)%s", job.id.c_str(), job.priority,
              vr.job->priority, same_project ? "" : "; its project is above its guaranteed quota");
    }
    out->preemptions.push_back(std::move(d));
    names += (names.empty() ? "" : ", ") + vr.job->id;
  }
  out->waiting.push_back(
      WaitExplanation{job.id, WaitReason::kWaitingForPreemption,
                      Fmt("preempting %zu job(s) (%s); starts when they have exited",
                          victims.size(), names.c_str())});
}

bool EvictionPolicy::MakeRoom(PassState& pass, int32_t j, Decisions* out) const {
  if (!pass.jobs[j].job->may_preempt || pass.reservation) return false;
  const std::vector<Candidate> cands = Candidates(pass, j);
  if (cands.empty()) return false;
  std::vector<int32_t> ranked;
  for (const Candidate& c : cands) ranked.push_back(c.job);
  const std::vector<int32_t> victims = MinimalVictims(pass, j, ranked);
  if (victims.empty() || !GainAllows(pass, j, victims, cands)) return false;
  Commit(pass, j, victims, out);
  std::vector<PlacedTask> placed;
  // Cannot fail: the same placement succeeded in Victims.
  if (!pass.placer.Place(pass.jobs[j].gang, Use::kAfterExit, &placed)) return false;
  pass.Admit(j, std::move(placed));
  return true;
}

}  // namespace

std::unique_ptr<PreemptionPolicy> MakeEvictionPolicy(bool priority, bool reclaim) {
  return std::make_unique<EvictionPolicy>(priority, reclaim);
}

}  // namespace kumo::core::internal
