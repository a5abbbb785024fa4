// "defragment" preemption: defragmentation by migration (as in Gandiva, Xiao et al., OSDI'18).
//
// A job that fits nowhere may fit where a smaller running job sits next to idle GPUs, if that
// job can restart right away on idle GPUs elsewhere. The mover is preempted (it loses the work
// since its last checkpoint and pays a restart), the job takes its place once it has exited, and
// the mover's destination is kept free for the rest of the pass; the driver requeues the mover
// and the next pass places it like any job. Without this, holes that only small jobs fit stay
// idle while the queue holds bigger gangs -- under LAS it holds mostly demoted ones, and small
// jobs barely ever wait.
//
// Only checkpointing jobs move (the work they lose is bounded), only jobs with fewer GPUs than
// the one they make room for (even if a mover never got its destination back, more GPUs would
// work than before, so moves cannot cycle), and never off a node of the reservation nor onto one
// for the job (the mover's destination respects holds, as any backfilled job's does).
#include <algorithm>
#include <vector>

#include "core/pass_state.h"
#include "core/preemption/eviction.h"
#include "core/text.h"

namespace kumo::core::internal {

namespace {

struct Mover {
  int32_t job;
  int64_t lost_work;  // LostWorkMilliGpuS
  Seconds run;
};

constexpr size_t kMaxMovers = 16;  // bounds the pass's cost: two placements per mover

class DefragmentPolicy final : public PreemptionPolicy {
 public:
  std::string_view name() const override { return "defragment"; }
  bool MakeRoom(PassState& pass, int32_t j, Decisions* out) const override;

 private:
  static std::vector<Mover> Movers(const PassState& pass, int32_t j);
  static bool Move(PassState& pass, int32_t j, const Mover& m, Decisions* out);
};

// Movers worth trying: their exit would leave room for the job's largest task on a node it may
// use that already has idle GPUs. Least work lost (GPU-seconds) first, at most kMaxMovers.
std::vector<Mover> DefragmentPolicy::Movers(const PassState& pass, int32_t j) {
  const JobRt& jr = pass.jobs[j];
  const int32_t biggest = jr.gang.tasks.front().whole;  // tasks are sorted largest first
  const Seconds now = pass.snap.now;
  std::vector<Mover> movers;
  for (const ProjectRt& pr : pass.projects) {
    for (int32_t a : pr.running) {
      const JobRt& ar = pass.jobs[a];
      const Job& aj = *ar.job;
      if (ar.admitted_in_pass || !aj.preemptible || !aj.checkpointable) continue;
      if (now - ar.start < aj.min_runtime || ar.request[kGpu] >= jr.request[kGpu]) continue;
      if (OnReservation(pass, ar.placed)) continue;
      bool room = false;
      for (const PlacedTask& t : ar.placed) {
        const NodeRt& node = pass.cluster.nodes[t.node];
        if (!node.schedulable || !MayUseNode(jr, t.node)) continue;
        int32_t mine = 0;
        for (auto [pos, milli] : t.slots) mine += milli == kMilliPerGpu;
        const int32_t idle = IdleWholeGpus(node);
        room |= idle > 0 && idle + mine >= biggest;
      }
      if (!room) continue;
      movers.push_back(Mover{a, LostWorkMilliGpuS(ar, now), now - ar.start});  // as victims
    }
  }
  std::sort(movers.begin(), movers.end(), [&](const Mover& a, const Mover& b) {
    if (a.lost_work != b.lost_work) return a.lost_work < b.lost_work;
    if (a.run != b.run) return a.run < b.run;
    return pass.jobs[a.job].job->id < pass.jobs[b.job].job->id;
  });
  if (movers.size() > kMaxMovers) movers.resize(kMaxMovers);
  return movers;
}

// The mover's destination: idle GPUs now, not on the nodes it leaves (held there for this
// search). On success the destination is taken, in the journal.
bool TakeDestination(PassState& pass, const JobRt& mover) {
  ClusterState& s = pass.cluster;
  std::vector<PlacedTask> dest;
  const size_t exclude = s.Mark();
  for (const PlacedTask& t : mover.placed) {
    NodeRt& node = s.nodes[t.node];
    s.BeginChange(t.node);
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (k != kGpu) node.hold[k] = std::max(node.hold[k], node.free[k]);
    for (GpuSlot& g : node.gpus) g.hold = std::max(g.hold, g.free);
    s.EndChange(t.node);
  }
  const bool ok = pass.placer.Place(mover.gang, Use::kNow, &dest);
  s.Rollback(exclude);
  if (!ok) return false;
  for (const PlacedTask& t : dest) {
    NodeRt& node = s.nodes[t.node];
    s.BeginChange(t.node);
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (k != kGpu) node.free[k] -= t.res[k];
    for (auto [pos, milli] : t.slots) node.gpus[pos].free -= milli;
    s.EndChange(t.node);
  }
  return true;
}

bool DefragmentPolicy::Move(PassState& pass, int32_t j, const Mover& m, Decisions* out) {
  JobRt& jr = pass.jobs[j];
  const JobRt& ar = pass.jobs[m.job];
  pass.BuildGang(m.job);
  const size_t mark = pass.cluster.Mark();
  for (const PlacedTask& t : ar.placed) Release(pass.cluster, t, ReleaseKind::kUsedToTerm);
  if (!TakeDestination(pass, ar)) {
    pass.cluster.Rollback(mark);
    return false;
  }
  // The job, once the mover has exited: it must use the mover's GPUs (else it did not need the
  // move) and no node of the reservation (kAfterExit ignores holds and takes terminating
  // resources, which the reservation may count on being released to it).
  std::vector<PlacedTask> placed;
  const bool ok = pass.placer.Place(jr.gang, Use::kAfterExit, &placed) &&
                  pass.placer.term_taken() > 0 && !OnReservation(pass, placed);
  if (!ok) {
    pass.cluster.Rollback(mark);
    return false;
  }
  pass.MarkTerminating(m.job);
  PreemptDecision d;
  d.victim = ar.job->id;
  d.preemptor = jr.job->id;
  d.reason = PreemptionReason::kDefragment;
  d.message = Fmt("moved to idle GPUs elsewhere to make room for job \"%s\" (%s)",
                  jr.job->id.c_str(), pass.JobTasksText(jr).c_str());
  out->preemptions.push_back(std::move(d));
  pass.Admit(j, std::move(placed));
  out->waiting.push_back(WaitExplanation{
      jr.job->id, WaitReason::kWaitingForPreemption,
      Fmt("moving job \"%s\" to idle GPUs elsewhere to make room; starts when it has exited",
          ar.job->id.c_str())});
  return true;
}

bool DefragmentPolicy::MakeRoom(PassState& pass, int32_t j, Decisions* out) const {
  const JobRt& jr = pass.jobs[j];
  if (!jr.job->may_preempt || jr.gang.tasks.front().whole == 0) return false;
  const Domain& root = pass.cluster.domains[0];
  if (root.free_gpu_milli - root.held_gpu_milli < kMilliPerGpu) return false;  // nothing idle
  if (pass.failed_moves.count(jr.shape)) return false;
  for (const Mover& m : Movers(pass, j))
    if (Move(pass, j, m, out)) return true;
  pass.failed_moves.insert(jr.shape);
  return false;
}

}  // namespace

std::unique_ptr<PreemptionPolicy> MakeDefragmentPolicy() {
  return std::make_unique<DefragmentPolicy>();
}

}  // namespace kumo::core::internal
