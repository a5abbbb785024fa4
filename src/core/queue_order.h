// QueueOrder: the order in which one pass considers pending jobs.
//
// Every order puts higher priority first. Implementations (one file each, chosen by name):
//   "fifo" -- then submit time, then job id.
//   "drf"  -- then weighted dominant-resource fair share across projects (Ghodsi et al.,
//             "Dominant Resource Fairness", NSDI'11), then users' dominant shares inside the
//             project, then submit time, then job id. Shares are recomputed as jobs are admitted
//             during the pass, as in Mesos' DRF sorter.
//   "shortest" -- then the shortest maxRuntime (none: last), then submit time, then job id
//             (shortest-job-first on estimates; with true runtimes, the simulator's SJF oracle).
//   "drf-predicted" -- "drf" across projects and users; inside one user's queue, the least aged
//             predicted work first (queue_order_predicted.h says how and why), then submit time,
//             then job id.
// Ageing (queue_order_ageing.cc) wraps any of them: jobs that have waited long go first within
// their priority (SchedulerConfig::age_after_s).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"
#include "base/status.h"

namespace kumo::core {

// One pending job as the order sees it. Indices are dense ids assigned by the scheduler.
struct QueueEntry {
  int32_t job = 0;
  int32_t priority = 0;
  int32_t project = 0;
  int32_t user = 0;  // dense across all projects
  Seconds submit_time = 0;
  const std::string* id = nullptr;  // tie-break; outlives the pass
  ResourceVector request;           // total over the job's tasks
  Seconds max_runtime = kNever;     // the job's maxRuntime (kNever: none given)
  // How long the job will run: its runtime estimate from history (runtime_estimate.h) capped at
  // its maxRuntime, else its maxRuntime; kNever: nothing to go on.
  Seconds predicted_runtime = kNever;
};

struct QueueContext {
  Seconds now = 0;                            // the pass's time (for ageing)
  ResourceVector capacity;                    // cluster total, for dominant shares
  std::vector<double> project_weight;         // by project index, > 0
  std::vector<ResourceVector> project_usage;  // running usage by project index
  std::vector<ResourceVector> user_usage;     // running usage by user index
  // "drf-predicted": a job's predicted work has aged to nothing once its wait reaches this many
  // times the median wait of the pending jobs of its priority (SchedulerConfig::relative_age).
  double relative_age = 2.0;
};

class QueueOrder {
 public:
  virtual ~QueueOrder() = default;
  virtual std::string_view name() const = 0;
  // Starts a pass over `pending`. The context is copied.
  virtual void Begin(const QueueContext& ctx, std::vector<QueueEntry> pending) = 0;
  // The next job to consider, or -1 when every job has been returned once.
  virtual int32_t Next() = 0;
  // The job last returned by Next() was admitted (started or nominated): its request now
  // counts as usage of its project and user.
  virtual void Admitted(const QueueEntry& entry) = 0;
};

// Weighted dominant share: max over resource kinds of usage/capacity, divided by weight.
// Example: capacity 64 GPUs and 1,024 cores; usage 8 GPUs, 256 cores; weight 2 ->
// max(8/64, 256/1024) / 2 = max(0.125, 0.25) / 2 = 0.125.
double WeightedDominantShare(const ResourceVector& usage, const ResourceVector& capacity,
                             double weight);

Result<std::unique_ptr<QueueOrder>> MakeQueueOrder(std::string_view name);
std::unique_ptr<QueueOrder> MakeFifoOrder();
std::unique_ptr<QueueOrder> MakeDrfOrder();
std::unique_ptr<QueueOrder> MakeShortestOrder();
std::unique_ptr<QueueOrder> MakeDrfPredictedOrder();

// Ageing: a pending job that has waited at least `age_after_s` (now - submit_time) is aged. Within
// each priority, aged jobs come first, oldest first (then id); the rest follow in `inner`'s order.
// Priorities never mix: an aged job never passes a job of higher priority. Every admission is
// passed on to `inner`, so fair shares count aged jobs too. The name stays the inner order's.
//
// Why a decorator and not a term in DRF's key: starvation is not a matter of fair share. A gang
// whose user or project has the larger share loses to a stream of small jobs from users with
// none, pass after pass; and with a FIFO inner order a gang loses the same way to jobs ahead of it
// that keep taking the reservation's place. The remedy is the same for every order, so it is
// written once, around any of them. Why it bounds a gang's wait: once aged, the gang is the
// first job of its priority that the pass considers (after nominated jobs and the holder of the
// sticky reservation, which keep their place), so it is the first blocked job and EASY backfill
// reserves for it; the reservation is sticky and held resources are kept from later jobs, so the
// gang starts when the jobs in its way reach their maxRuntime or estimate
// (docs/evaluation.md, "Estimates and ageing").
// REQUIRES: inner != nullptr; age_after_s >= 0.
std::unique_ptr<QueueOrder> MakeAgeingOrder(std::unique_ptr<QueueOrder> inner, Seconds age_after_s);

}  // namespace kumo::core
