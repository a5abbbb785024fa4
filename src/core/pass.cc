#include "core/pass.h"

#include <algorithm>
#include <climits>

#include "core/text.h"

namespace kumo::core::internal {

Result<Decisions> Pass::Run() {
  if (Status s = state_.Load(); !s.ok()) return Error(s);
  Decisions out;
  std::vector<QueueEntry> entries = Queue(&out);
  SetModelPressure();
  auto order = MakeQueueOrder(state_.config.queue_order);
  if (!order) return Error(order.error());
  order_ = std::move(*order);
  if (state_.config.age_after_s < kNever)
    order_ = MakeAgeingOrder(std::move(order_), state_.config.age_after_s);
  order_->Begin(Context(), std::move(entries));
  for (const NodeRt& n : state_.cluster.nodes)
    any_term_ |= n.term[kGpu] > 0 || n.term[kCpu] > 0 || n.term[kMemory] > 0;
  for (int32_t j = NextJob(); j >= 0; j = NextJob()) {
    out.order.push_back(state_.jobs[j].job->id);
    state_.cluster.Commit();
    if (Skipped(j, &out)) continue;
    state_.BuildGang(j);
    // Backfill rules after a reservation: a job that would still run at the reserved time must
    // not use held resources (one that ends before may); and no job of the reserved job's project
    // may use its quota headroom -- even a short one: while it runs, the reserved job would be
    // over its project's max and lose its reservation in the next pass.
    const std::optional<Reservation>& res = state_.reservation;
    const Job& job = *state_.jobs[j].job;
    const bool is_short =
        res && job.max_runtime < kNever && state_.snap.now + job.max_runtime <= res->at;
    ResourceVector extra;
    if (res && state_.jobs[res->job].project == state_.jobs[j].project)
      extra = state_.jobs[res->job].request;
    if (auto why = state_.QuotaMaxViolation(j, extra)) {
      out.waiting.push_back(WaitExplanation{job.id, WaitReason::kQuotaMax, *why});
      continue;
    }
    if (auto why = diagnosis_.StaticallyUnschedulable(j)) {
      out.waiting.push_back(WaitExplanation{job.id, WaitReason::kUnschedulable, *why});
      continue;
    }
    const Use use = is_short ? Use::kShort : Use::kNow;
    if (!Started(j, use, &out)) Wait(j, use, &out);
  }
  return out;
}

// Validates the pending jobs and splits them: those considered first, in `first_` --
// nominated jobs (they preempted victims in an earlier pass: what their victims free is theirs;
// without this a requeued victim that sorts earlier could take it back and be preempted again,
// pass after pass, docs/scheduling.md "Why preemption can never cycle") and the sticky
// reservation holder -- and the rest, returned for the QueueOrder.
std::vector<QueueEntry> Pass::Queue(Decisions* out) {
  std::vector<QueueEntry> entries;
  for (int32_t j : state_.pending) {
    state_.PreparePending(j);
    JobRt& jr = state_.jobs[j];
    if (!jr.invalid.empty()) {
      out->waiting.push_back(WaitExplanation{jr.job->id, WaitReason::kInvalid, jr.invalid});
      continue;
    }
    QueueEntry e{j,           jr.job->priority, jr.project, jr.user, jr.job->submit_time,
                 &jr.job->id, jr.request,  jr.job->max_runtime,
                 std::min(jr.job->runtime_estimate, jr.job->max_runtime)};
    entry_of_.emplace(j, e);
    if (jr.job->nominated) {
      first_.push_back(j);
    } else {
      entries.push_back(e);
    }
  }
  // Sticky reservation: the last holder stays at the head of its priority class (unless
  // something of higher priority arrived).
  if (backfill_.KeepsReservationHolderFirst()) {
    int32_t top = INT32_MIN;
    for (const QueueEntry& e : entries) top = std::max(top, e.priority);
    auto holder = std::find_if(entries.begin(), entries.end(), [&](const QueueEntry& e) {
      const Job& job = *state_.jobs[e.job].job;
      return !job.reservation.empty() && job.priority >= top;
    });
    if (holder != entries.end()) {
      first_.push_back(holder->job);
      entries.erase(holder);
    }
  }
  std::stable_sort(first_.begin(), first_.end(), [&](int32_t a, int32_t b) {
    const Job& ja = *state_.jobs[a].job;
    const Job& jb = *state_.jobs[b].job;
    if (ja.priority != jb.priority) return ja.priority > jb.priority;
    if (ja.submit_time != jb.submit_time) return ja.submit_time < jb.submit_time;
    return ja.id < jb.id;
  });
  return entries;
}

// Model pressure: what pending jobs that accept only some GPU models ask of each model, in
// eighths of its capacity (a job accepting k models counts 1/k towards each).
void Pass::SetModelPressure() {
  const auto& models = state_.nodes.models();
  std::vector<double> demand(models.size(), 0.0), cap(models.size(), 0.0);
  for (const NodeRt& n : state_.cluster.nodes)
    if (n.schedulable)
      for (const GpuSlot& g : n.gpus) cap[g.model] += kMilliPerGpu;
  bool any = false;
  for (int32_t j : state_.pending) {
    const JobRt& jr = state_.jobs[j];
    if (!jr.invalid.empty()) continue;
    for (const TaskGroup& g : jr.job->groups) {
      if (g.gpu_models.empty() || g.resources[kGpu] == 0) continue;
      std::vector<int32_t> ids;
      for (const std::string& m : g.gpu_models) {
        auto it = models.find(m);
        if (it != models.end() && std::find(ids.begin(), ids.end(), it->second) == ids.end())
          ids.push_back(it->second);
      }
      for (int32_t id : ids)
        demand[id] +=
            static_cast<double>(g.resources[kGpu] * g.replicas) / static_cast<double>(ids.size());
      any |= !ids.empty();
    }
  }
  if (!any) return;
  std::vector<int32_t> pressure(demand.size(), 0);
  for (size_t m = 0; m < demand.size(); ++m)
    if (cap[m] > 0) pressure[m] = static_cast<int32_t>(std::min(7.0, 8.0 * demand[m] / cap[m]));
  state_.placer.set_model_pressure(std::move(pressure));
}

QueueContext Pass::Context() const {
  QueueContext ctx;
  ctx.now = state_.snap.now;
  ctx.relative_age = state_.config.relative_age;
  ctx.capacity = state_.nodes.capacity();
  for (const ProjectRt& p : state_.projects) {
    ctx.project_weight.push_back(p.spec->weight);
    ctx.project_usage.push_back(p.usage);
  }
  ctx.user_usage.assign(state_.user_count, ResourceVector{});
  for (const JobRt& jr : state_.jobs)
    if (jr.running) ctx.user_usage[jr.user] += jr.request;
  return ctx;
}

int32_t Pass::NextJob() {
  if (next_first_ < first_.size()) return first_[next_first_++];
  return order_->Next();
}

// Jobs not tried at all: beyond the backfill depth, or behind a strict blocker.
bool Pass::Skipped(int32_t j, Decisions* out) {
  const SchedulerConfig& config = state_.config;
  const std::string& id = state_.jobs[j].job->id;
  if (state_.reservation && config.backfill_depth > 0 && backfill_tried_ >= config.backfill_depth) {
    out->waiting.push_back(WaitExplanation{
        id, WaitReason::kNotConsidered,
        Fmt("not tried in this pass: beyond the backfill depth (%d jobs)", config.backfill_depth)});
    return true;
  }
  if (state_.reservation) ++backfill_tried_;
  if (strict_blocker_) {
    out->waiting.push_back(WaitExplanation{
        id, WaitReason::kBehindBlockedJob,
        "waits behind job \"" + *strict_blocker_ + "\" (strict queue order, no backfill)"});
    return true;
  }
  return false;
}

// Starts j now, or admits it to start once terminating tasks (its own victims' or others') have
// exited. Returns whether it was admitted.
bool Pass::Started(int32_t j, Use use, Decisions* out) {
  const Job& job = *state_.jobs[j].job;
  std::vector<PlacedTask> placed;
  // A nominated job's victims were chosen for a placement the search found: look everywhere
  // (no cap on domain attempts) so it is found again now that they are gone.
  const bool nominated = job.nominated;
  auto start = [&](std::vector<PlacedTask> tasks) {
    out->starts.push_back(
        StartDecision{job.id, state_.ToPlacements(tasks), state_.reservation.has_value()});
    state_.Admit(j, std::move(tasks));
    order_->Admitted(entry_of_.at(j));
    return true;
  };
  if (state_.PlaceCached(j, use, &placed, nominated)) return start(std::move(placed));
  // The same search the preemption trial uses (every node, terminating resources counted).
  // If it takes nothing from terminating tasks, the job simply starts. (Not after a
  // reservation: what terminates may be what the reservation counts on.)
  if (!state_.reservation && (any_term_ || nominated) &&
      state_.PlaceCached(j, Use::kAfterExit, &placed, nominated)) {
    if (state_.placer.term_taken() == 0) return start(std::move(placed));
    out->waiting.push_back(
        WaitExplanation{job.id, WaitReason::kWaitingForTermination,
                        "fits once terminating jobs have exited; their resources are kept for it"});
    state_.Admit(j, std::move(placed));
    order_->Admitted(entry_of_.at(j));
    return true;
  }
  for (const auto& policy : preemption_) {
    if (!policy->MakeRoom(state_, j, out)) continue;
    any_term_ = true;
    order_->Admitted(entry_of_.at(j));
    return true;
  }
  return false;
}

// j does not start in this pass: explain why, and let the backfill policy decide what that
// means for the jobs behind it.
void Pass::Wait(int32_t j, Use use, Decisions* out) {
  const SchedulerConfig& config = state_.config;
  const Job& job = *state_.jobs[j].job;
  WaitExplanation why = config.explain
                            ? diagnosis_.Explain(j, use)
                            : WaitExplanation{job.id, WaitReason::kInsufficientCapacity, ""};
  if (const std::optional<Reservation>& res = state_.reservation) {
    if (config.explain) {
      std::vector<PlacedTask> tmp;
      const size_t m = state_.cluster.Mark();
      const bool fits_ignoring_hold = state_.PlaceCached(j, Use::kShort, &tmp);
      state_.cluster.Rollback(m);
      if (fits_ignoring_hold) {
        why.reason = WaitReason::kWouldDelayReservation;
        why.message =
            Fmt("fits now, but would delay job \"%s\" reserved to start in %s%s",
                state_.jobs[res->job].job->id.c_str(),
                Duration(res->at - state_.snap.now).c_str(),
                job.max_runtime >= kNever ? " (it has no maxRuntime, so it could run past that)"
                                          : " (its maxRuntime ends after that)");
      }
    }
  } else if (!backfill_.Blocked(state_, j, &why, out)) {
    strict_blocker_ = job.id;
  }
  out->waiting.push_back(std::move(why));
}

}  // namespace kumo::core::internal
