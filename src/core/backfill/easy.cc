// "easy": EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001).
//
// The first job that cannot start gets a reservation: the earliest time it fits if running jobs
// end at start + maxRuntime (or, without one, when their runtime estimate says: PlannedEnd in
// core/runtime_estimate.h) and terminating ones now. Feasibility only grows with time, so the
// release instant is found by binary search. The reservation then holds, on each node it uses,
// what it needs beyond what is released there by that time: later jobs that would still run at
// the reserved time may not use held resources (the pass's kNow), jobs that end before may
// (kShort). So no backfilled job delays the reserved one.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "core/backfill/backfill_policy.h"
#include "core/pass_state.h"
#include "core/runtime_estimate.h"
#include "core/text.h"

namespace kumo::core {

namespace {

using internal::ClusterState;
using internal::JobRt;
using internal::NodeRt;
using internal::PassState;
using internal::PlacedTask;
using internal::ReleaseKind;
using internal::Use;

// The first index in [lo, hi] where `holds` is true. REQUIRES: true at hi, and monotone: once
// true, true at every later index (what fits by an instant fits later too).
template <typename Pred>
size_t FirstTrue(size_t lo, size_t hi, Pred holds) {
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (holds(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return hi;
}

// The search for one job's reservation over the running jobs' release instants.
class ReservationSearch {
 public:
  ReservationSearch(PassState& pass, int32_t j)
      : pass_(pass), s_(pass.cluster), jr_(pass.jobs[j]) {}

  // The reserved time and placement; the holds are in the cluster state. nullopt when the jobs in
  // the way never end (no maxRuntime, no estimate).
  std::optional<std::pair<Seconds, std::vector<PlacedTask>>> Run();
  // After Run: no running job had a known end (true for any job while they stay the same).
  bool no_releases() const { return rels_.empty(); }

 private:
  struct Release {
    Seconds end;
    int32_t job;
  };
  void CollectReleases();
  void ReleaseUpto(size_t last);
  bool Feasible(size_t last);
  size_t FirstWithEnough() const;
  size_t EarliestInstant();
  bool HintFits(size_t last);
  bool HintNoLater(size_t* first);
  std::vector<PlacedTask> Probe(size_t first, bool use_hint, std::vector<ResourceVector>* gained,
                                std::vector<std::vector<int32_t>>* slot_gained);
  void Hold(const std::vector<PlacedTask>& placed, const std::vector<ResourceVector>& gained,
            const std::vector<std::vector<int32_t>>& slot_gained);

  PassState& pass_;
  ClusterState& s_;
  const JobRt& jr_;
  std::vector<Release> rels_;        // by end, then job
  std::vector<size_t> instant_end_;  // last release index of each distinct instant
};

void ReservationSearch::CollectReleases() {
  for (size_t i = 0; i < pass_.jobs.size(); ++i) {
    const JobRt& r = pass_.jobs[i];
    if (!r.running) continue;
    const Seconds now = pass_.snap.now;
    const Seconds end =
        r.terminating ? now : PlannedEnd(r.start, r.job->max_runtime, r.job->runtime_estimate, now);
    if (end >= kNever) continue;  // never ends as far as anyone knows
    rels_.push_back(Release{end, static_cast<int32_t>(i)});
  }
  std::sort(rels_.begin(), rels_.end(), [](const Release& a, const Release& b) {
    return a.end != b.end ? a.end < b.end : a.job < b.job;
  });
  for (size_t i = 0; i < rels_.size(); ++i)
    if (i + 1 == rels_.size() || rels_[i + 1].end != rels_[i].end) instant_end_.push_back(i);
}

// Everything released up to the same instant counts.
void ReservationSearch::ReleaseUpto(size_t last) {
  for (size_t i = 0; i <= last; ++i) {
    const JobRt& r = pass_.jobs[rels_[i].job];
    for (const PlacedTask& t : r.placed)
      internal::Release(s_, t, r.terminating ? ReleaseKind::kTermToFree : ReleaseKind::kUsedToFree);
  }
}

bool ReservationSearch::Feasible(size_t last) {
  const size_t m = s_.Mark();
  ReleaseUpto(last);
  std::vector<PlacedTask> tmp;
  const bool ok = pass_.placer.Place(jr_.gang, Use::kNow, &tmp);
  s_.Rollback(m);
  return ok;
}

// The first instant by which enough GPU and cpu is released in total (the last instant has:
// it is feasible); earlier ones need no probe.
size_t ReservationSearch::FirstWithEnough() const {
  const internal::Domain& root = s_.domains[0];
  std::vector<ResourceVector> released(rels_.size());
  ResourceVector sum;
  for (size_t i = 0; i < rels_.size(); ++i) released[i] = sum += pass_.jobs[rels_[i].job].request;
  auto enough = [&](size_t instant) {
    const ResourceVector& r = released[instant_end_[instant]];
    return root.free_gpu_milli + r[kGpu] >= jr_.request[kGpu] &&
           root.free_cpu + r[kCpu] >= jr_.request[kCpu];
  };
  return FirstTrue(0, instant_end_.size() - 1, enough);
}

// Index (into instant_end_) of the earliest feasible instant. REQUIRES: the last is feasible.
size_t ReservationSearch::EarliestInstant() {
  return FirstTrue(FirstWithEnough(), instant_end_.size() - 1,
                   [&](size_t instant) { return Feasible(instant_end_[instant]); });
}

// Whether last pass's placement (JobRt::hint) is free, minus holds, once `last` is released.
bool ReservationSearch::HintFits(size_t last) {
  const size_t m = s_.Mark();
  ReleaseUpto(last);
  bool ok = true;
  for (const PlacedTask& t : jr_.hint) {
    NodeRt& node = s_.nodes[t.node];
    const internal::TaskDemand* demand = nullptr;
    for (const internal::TaskDemand& d : jr_.gang.tasks)
      if (d.group == t.group) demand = &d;
    if (!node.schedulable || demand == nullptr || !(*demand->eligible)[t.node]) ok = false;
    s_.BeginChange(t.node);
    for (int k = 0; k < kNumResourceKinds; ++k) {
      if (k == kGpu) continue;
      node.free[k] -= t.res[k];
      if (node.free[k] - node.hold[k] < 0) ok = false;
    }
    for (auto [pos, milli] : t.slots) {
      internal::GpuSlot& g = node.gpus[pos];
      if (g.free - g.hold < milli) ok = false;
      g.free -= milli;
    }
    s_.EndChange(t.node);
    if (!ok) break;
  }
  s_.Rollback(m);
  return ok;
}

// The placement this job was reserved last pass, if it is still feasible as early as `*first`:
// keeping it means backfill around it (which respected its holds) never delays the job, whatever
// the greedy search would find today. Then *first becomes the hint's instant.
bool ReservationSearch::HintNoLater(size_t* first) {
  if (jr_.hint.empty()) return false;
  const size_t last = instant_end_.size() - 1;
  if (!HintFits(instant_end_[last])) return false;
  const size_t hint = instant_end_[FirstTrue(
      0, last, [&](size_t instant) { return HintFits(instant_end_[instant]); })];
  if (rels_[hint].end > rels_[*first].end) return false;
  *first = hint;
  return true;
}

// The placement at the reserved instant. What each node gains by then is measured, not summed
// from the released jobs: a terminating job's resources may already be promised to a job that
// waits for them (Use::kAfterExit), and then they are not released to anyone else.
std::vector<PlacedTask> ReservationSearch::Probe(size_t first, bool use_hint,
                                                 std::vector<ResourceVector>* gained,
                                                 std::vector<std::vector<int32_t>>* slot_gained) {
  const size_t n_nodes = s_.nodes.size();
  gained->resize(n_nodes);
  slot_gained->resize(n_nodes);
  for (size_t n = 0; n < n_nodes; ++n) {
    (*gained)[n] = s_.nodes[n].free;
    for (const internal::GpuSlot& g : s_.nodes[n].gpus) (*slot_gained)[n].push_back(g.free);
  }
  const size_t m = s_.Mark();
  ReleaseUpto(first);
  for (size_t n = 0; n < n_nodes; ++n) {
    const NodeRt& node = s_.nodes[n];
    (*gained)[n] = node.free - (*gained)[n];
    for (size_t pos = 0; pos < node.gpus.size(); ++pos)
      (*slot_gained)[n][pos] = node.gpus[pos].free - (*slot_gained)[n][pos];
  }
  std::vector<PlacedTask> placed;
  if (use_hint) {
    placed = jr_.hint;
  } else {
    pass_.placer.Place(jr_.gang, Use::kNow, &placed);  // succeeds: the same probe did
  }
  s_.Rollback(m);
  return placed;
}

// On each reserved node, what the reservation needs beyond what is released there by the
// reserved time must stay free now for jobs still running then.
void ReservationSearch::Hold(const std::vector<PlacedTask>& placed,
                             const std::vector<ResourceVector>& gained,
                             const std::vector<std::vector<int32_t>>& slot_gained) {
  std::vector<int32_t> nodes;
  for (const PlacedTask& t : placed) nodes.push_back(t.node);
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  for (int32_t n : nodes) {
    NodeRt& node = s_.nodes[n];
    ResourceVector need;
    std::vector<int32_t> need_slot(node.gpus.size(), 0);
    for (const PlacedTask& t : placed) {
      if (t.node != n) continue;
      need += t.res;
      for (auto [pos, milli] : t.slots) need_slot[pos] += milli;
    }
    s_.BeginChange(n);
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (k != kGpu) node.hold[k] += std::max<int64_t>(0, need[k] - gained[n][k]);
    for (size_t pos = 0; pos < node.gpus.size(); ++pos)
      if (need_slot[pos] > 0)
        node.gpus[pos].hold += std::max(0, need_slot[pos] - slot_gained[n][pos]);
    s_.EndChange(n);
  }
}

std::optional<std::pair<Seconds, std::vector<PlacedTask>>> ReservationSearch::Run() {
  CollectReleases();
  if (rels_.empty() || !Feasible(instant_end_.back())) return std::nullopt;
  size_t first = instant_end_[EarliestInstant()];
  const bool use_hint = HintNoLater(&first);
  std::vector<ResourceVector> gained;
  std::vector<std::vector<int32_t>> slot_gained;
  std::vector<PlacedTask> placed = Probe(first, use_hint, &gained, &slot_gained);
  Hold(placed, gained, slot_gained);
  return std::make_pair(rels_[first].end, std::move(placed));
}

class EasyBackfill final : public BackfillPolicy {
 public:
  std::string_view name() const override { return "easy"; }
  bool KeepsReservationHolderFirst() const override { return true; }
  bool Blocked(PassState& pass, int32_t j, WaitExplanation* why, Decisions* out) const override;
};

// Whether `job` declared a higher priority than some job in the snapshot. Such a job may always
// reserve, whatever Job::may_reserve says: otherwise lower classes backfill into the room it is
// blocked on only to be preempted by it later, losing their work (on openb, whose pods declare
// classes and do not checkpoint, that cost 0.8 points of goodput).
bool DeclaresAboveSomeJob(const PassState& pass, const Job& job) {
  return job.las_declared_priority && pass.lowest_declared_priority &&
         *job.las_declared_priority > *pass.lowest_declared_priority;
}

bool EasyBackfill::Blocked(PassState& pass, int32_t j, WaitExplanation* why, Decisions* out) const {
  const Job& job = *pass.jobs[j].job;
  if (!job.may_reserve && !DeclaresAboveSomeJob(pass, job)) {
    if (pass.config.explain)
      why->message +=
          "; no reservation before it nears its deadline guard: later jobs that fit start";
    return true;
  }
  std::optional<std::pair<Seconds, std::vector<PlacedTask>>> res;
  if (pass.no_release_epoch != pass.running_epoch) {
    ReservationSearch search(pass, j);
    res = search.Run();
    if (search.no_releases()) pass.no_release_epoch = pass.running_epoch;
  }
  if (!res) {
    if (pass.config.explain)
      why->message +=
          "; no reservation possible: the jobs in its way have no maxRuntime or runtime estimate";
    return true;
  }
  const auto& [at, placed] = *res;
  internal::Reservation r{j, at, std::vector<uint8_t>(pass.cluster.nodes.size(), 0)};
  for (const PlacedTask& t : placed) r.on_node[t.node] = 1;
  pass.reservation = std::move(r);
  out->reservations.push_back(ReservationDecision{why->job, at, pass.ToPlacements(placed)});
  why->reason = WaitReason::kReserved;
  if (pass.config.explain)
    why->message += internal::Fmt(
        "; reserved to start in %s when running jobs reach their maxRuntime or estimate",
        internal::Duration(at - pass.snap.now).c_str());
  return true;
}

}  // namespace

std::unique_ptr<BackfillPolicy> MakeEasyBackfill() { return std::make_unique<EasyBackfill>(); }

}  // namespace kumo::core
