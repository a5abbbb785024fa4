// "fill" preemption: put idle GPUs to work by stopping smaller jobs that have just saved.
//
// A gang that fits nowhere often sits beside idle GPUs too few for it: eight are free on two
// nodes, it wants twelve. When no smaller job waits that could use them, they idle until enough
// running jobs end. If smaller checkpointing jobs sit next to them, stopping those lets the gang
// start at once on their GPUs and the idle ones; the victims wait again (being smaller, they fit
// into the next hole) and resume from the checkpoint they wrote moments ago. Over a replay of
// Philly at load 1.2, idle GPUs while every waiting job was too big for them were 197 GPU-hours
// of the arrival window before this rule and 112 after (docs/evaluation.md).
//
// The rule, in GPU-seconds, with H = SchedulerConfig::fill_horizon_s:
//  - a victim checkpoints and saved in this attempt at most H ago (so it resumes from that save,
//    never from zero), is past its minimum run time, has no higher declared priority than the
//    job, and is of the job's project or borrowing;
//  - the victims together have fewer GPUs than the job (so more GPUs work than before, and fills
//    cannot cycle: a victim can never fill back over its preemptor);
//  - their unsaved work plus one restart each (preempt_for_gain.restart_cost_s of their GPUs)
//    is at most the GPUs the job adds to work x H: the fill repays itself within H even if the
//    idle GPUs would have found a user right after.
// Worked example (H = 600 s, restart 60 s): a 12-GPU gang, 8 GPUs idle on two nodes, a 4-GPU job
// on one of them that saved 200 s ago: lost 4 x 200 + 4 x 60 = 1,040 <= 8 x 600 = 4,800, and
// 4 < 12 -- it is stopped. The same job 700 s after its save is not a victim (700 > H).
// Candidates are taken least unsaved work first (eviction.h's MinimalVictims keeps the fewest
// that make the fit). Like a move, a fill never touches the nodes of this pass's reservation.
#include <algorithm>
#include <vector>

#include "core/pass_state.h"
#include "core/preemption/eviction.h"
#include "core/text.h"

namespace kumo::core::internal {

namespace {

int32_t DeclaredPriority(const Job& job) {
  return job.las_declared_priority.value_or(job.priority);
}

class FillPolicy final : public PreemptionPolicy {
 public:
  std::string_view name() const override { return "fill"; }
  bool MakeRoom(PassState& pass, int32_t j, Decisions* out) const override;

 private:
  static std::vector<int32_t> Candidates(PassState& pass, int32_t j);
  static bool Repays(const PassState& pass, int32_t j, const std::vector<int32_t>& victims);
  static void Commit(PassState& pass, int32_t j, const std::vector<int32_t>& victims,
                     Decisions* out);
};

// Running jobs the rule allows, on a node with idle GPUs the job may use; least unsaved work
// first.
std::vector<int32_t> FillPolicy::Candidates(PassState& pass, int32_t j) {
  const JobRt& jr = pass.jobs[j];
  const Seconds now = pass.snap.now;
  const Seconds horizon = pass.config.fill_horizon_s;
  std::vector<std::pair<int64_t, int32_t>> ranked;  // (lost work, job)
  for (size_t q = 0; q < pass.projects.size(); ++q) {
    const ProjectRt& pr = pass.projects[q];
    const size_t borrow_start = pass.BorrowingStart(static_cast<int32_t>(q));
    for (size_t i = 0; i < pr.running.size(); ++i) {
      const JobRt& v = pass.jobs[pr.running[i]];
      const Job& vj = *v.job;
      if (v.admitted_in_pass || !vj.preemptible || !vj.checkpointable) continue;
      if (now - v.start < vj.min_runtime || v.request[kGpu] >= jr.request[kGpu]) continue;
      if (DeclaredPriority(vj) > DeclaredPriority(*jr.job)) continue;
      if (static_cast<int32_t>(q) != jr.project && i < borrow_start) continue;
      if (vj.last_checkpoint_time < v.start) continue;  // not saved yet: it would start over
      const int64_t lost = LostWorkMilliGpuS(v, now);
      if (lost > horizon * std::max<int64_t>(1, v.request[kGpu])) continue;
      if (OnReservation(pass, v.placed)) continue;
      const bool beside_idle =
          std::any_of(v.placed.begin(), v.placed.end(), [&](const PlacedTask& t) {
            const NodeRt& node = pass.cluster.nodes[t.node];
            return node.schedulable && MayUseNode(jr, t.node) && IdleWholeGpus(node) > 0;
          });
      if (beside_idle) ranked.emplace_back(lost, pr.running[i]);
    }
  }
  std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return pass.jobs[a.second].job->id < pass.jobs[b.second].job->id;
  });
  if (static_cast<int32_t>(ranked.size()) > pass.config.max_preemption_candidates)
    ranked.resize(pass.config.max_preemption_candidates);
  std::vector<int32_t> out;
  for (const auto& r : ranked) out.push_back(r.second);
  return out;
}

// Fewer GPUs stopped than started, and the loss repaid by the added GPUs within the horizon.
bool FillPolicy::Repays(const PassState& pass, int32_t j, const std::vector<int32_t>& victims) {
  const Seconds now = pass.snap.now;
  int64_t victim_gpu = 0;
  double lost_gpu_s = 0;
  for (int32_t v : victims) {
    const JobRt& vr = pass.jobs[v];
    victim_gpu += vr.request[kGpu];
    lost_gpu_s +=
        static_cast<double>(LostWorkMilliGpuS(vr, now) +
                            vr.request[kGpu] * pass.config.preempt_for_gain.restart_cost_s) /
        kMilliPerGpu;
  }
  const int64_t added = pass.jobs[j].request[kGpu] - victim_gpu;
  return added > 0 && lost_gpu_s <= static_cast<double>(added) / kMilliPerGpu *
                                        static_cast<double>(pass.config.fill_horizon_s);
}

void FillPolicy::Commit(PassState& pass, int32_t j, const std::vector<int32_t>& victims,
                        Decisions* out) {
  const JobRt& jr = pass.jobs[j];
  const Seconds now = pass.snap.now;
  std::string names;
  for (int32_t v : victims) {
    const JobRt& vr = pass.jobs[v];
    for (const PlacedTask& t : vr.placed) Release(pass.cluster, t, ReleaseKind::kUsedToTerm);
    pass.MarkTerminating(v);
    PreemptDecision d;
    d.victim = vr.job->id;
    d.preemptor = jr.job->id;
    d.reason = PreemptionReason::kFill;
    d.message =
        Fmt("stopped %s after its last checkpoint so that job \"%s\" (%s) can use the idle GPUs "
            "beside it",
            Duration(now - vr.job->last_checkpoint_time).c_str(), jr.job->id.c_str(),
            pass.JobTasksText(jr).c_str());
    out->preemptions.push_back(std::move(d));
    names += (names.empty() ? "" : ", ") + vr.job->id;
  }
  out->waiting.push_back(WaitExplanation{
      jr.job->id, WaitReason::kWaitingForPreemption,
      Fmt("stopping smaller job(s) that just saved (%s) to use the idle GPUs beside them; starts "
          "when they have exited",
          names.c_str())});
}

bool FillPolicy::MakeRoom(PassState& pass, int32_t j, Decisions* out) const {
  const JobRt& jr = pass.jobs[j];
  if (!jr.job->may_preempt || jr.gang.tasks.front().whole == 0) return false;
  const Domain& root = pass.cluster.domains[0];
  if (root.free_gpu_milli - root.held_gpu_milli < kMilliPerGpu) return false;  // nothing idle
  // Who may be stopped depends on the job's project and priority besides its shape.
  std::string key = jr.shape;
  const int32_t who[2] = {jr.project, DeclaredPriority(*jr.job)};
  key.append(reinterpret_cast<const char*>(who), sizeof who);
  if (pass.failed_fills.count(key)) return false;
  const std::vector<int32_t> cands = Candidates(pass, j);
  if (cands.empty()) {
    pass.failed_fills.insert(std::move(key));
    return false;
  }
  // Once terminating jobs have exited it fits off the reservation's nodes: nothing to stop (after
  // a reservation a pass admits no job onto terminating resources; it waits for the next pass).
  std::vector<PlacedTask> trial;
  const size_t mark = pass.cluster.Mark();
  const bool fits_anyway =
      pass.placer.Place(jr.gang, Use::kAfterExit, &trial) && !OnReservation(pass, trial);
  pass.cluster.Rollback(mark);
  if (fits_anyway) return false;
  const std::vector<int32_t> victims = MinimalVictims(pass, j, cands);
  bool ok = !victims.empty() && Repays(pass, j, victims);
  if (ok) {
    for (int32_t v : victims)
      for (const PlacedTask& t : pass.jobs[v].placed)
        Release(pass.cluster, t, ReleaseKind::kUsedToTerm);
    trial.clear();
    ok = pass.placer.Place(jr.gang, Use::kAfterExit, &trial) && !OnReservation(pass, trial);
    pass.cluster.Rollback(mark);
  }
  if (!ok) {
    pass.failed_fills.insert(std::move(key));
    return false;
  }
  Commit(pass, j, victims, out);
  std::vector<PlacedTask> placed;
  // Cannot fail: the same placement succeeded above.
  if (!pass.placer.Place(jr.gang, Use::kAfterExit, &placed)) return false;
  pass.Admit(j, std::move(placed));
  return true;
}

}  // namespace

std::unique_ptr<PreemptionPolicy> MakeFillPolicy() { return std::make_unique<FillPolicy>(); }

}  // namespace kumo::core::internal
