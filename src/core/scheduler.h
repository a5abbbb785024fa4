// Scheduler: one scheduling pass of kumo's core.
//
// Thread safety: a Scheduler is immutable after Create(); Schedule() is const and may run
// concurrently on different snapshots. It does no I/O, reads no clock and uses no randomness:
// equal (config, snapshot) give equal Decisions.
//
// What a pass does (docs/scheduling.md is the user-facing account):
//  1. Validates the snapshot and indexes nodes into the topology tree.
//  2. Orders pending jobs: priority, then the QueueOrder (weighted DRF by default).
//  3. For each job in order: max-quota check; gang placement (all tasks or none) scored by the
//     PlacementPolicy and the job's topology constraint; if blocked, the PreemptionPolicies
//     (priority, guaranteed-quota reclaim, defragmenting moves); if still blocked, the
//     BackfillPolicy (EASY by default: a reservation for the first such job, after which later
//     jobs start only where they do not delay it).
//  4. Explains every job that does not start.
//
// The driver's side of the contract (the server and the simulator do this):
//  - a job named as PreemptDecision::preemptor is marked Job::nominated until it starts;
//    nominated jobs are considered first, so what their victims free goes to them;
//  - the tasks of a ReservationDecision are copied into that job's Job::reservation for the next
//    pass; the core keeps that placement while it is still as early, and keeps the job at the
//    head of its priority class (sticky reservation).
// Without them decisions stay valid, but preemption may repeat and backfill may delay a
// reservation whose re-planning happens to fail.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/backfill/backfill_policy.h"
#include "core/decisions.h"
#include "core/placement_policy.h"
#include "core/preemption/preemption_policy.h"
#include "core/queue_order.h"
#include "core/snapshot.h"

namespace kumo::core {

// The preemption policies a pass tries, in order, for a job that cannot start (see
// preemption/preemption_policy.h). Assigning a bool keeps the spelling of the old switch:
// `false` is none, `true` the default list.
struct PreemptionPolicyNames {
  std::vector<std::string> names = {"priority", "reclaim", "defragment", "fill"};

  PreemptionPolicyNames() = default;
  PreemptionPolicyNames(bool on) {  // NOLINT(google-explicit-constructor): `preemption = false`
    if (!on) names.clear();
  }
  PreemptionPolicyNames(std::initializer_list<std::string> list) : names(list) {}
  PreemptionPolicyNames(const char*) = delete;  // a name is not a bool: use {"name"}
  // Whether any policy is on (reads like the old switch).
  operator bool() const { return !names.empty(); }  // NOLINT(google-explicit-constructor)
  friend bool operator==(const PreemptionPolicyNames&, const PreemptionPolicyNames&) = default;
};

// Preempt for gain: a LAS preemption (victims of the preemptor's own declared priority, put
// below it by LAS alone) is admitted only if the preemptor's predicted work plus the work the
// victims lose and their restarts is below the victims' predicted remaining work
// (preemption/eviction.cc has the arithmetic and why). Preemption for a higher declared priority
// or a quota reclaim is never held back by it.
struct PreemptionGainConfig {
  bool enabled = false;
  // What one restart costs a victim, in seconds of its GPUs (start-up, reload, warm-up).
  Seconds restart_cost_s = 60;
  friend bool operator==(const PreemptionGainConfig&, const PreemptionGainConfig&) = default;
};

struct SchedulerConfig {
  std::string queue_order = "drf";              // see queue_order.h
  // Ageing: a job pending at least this long goes first within its priority (MakeAgeingOrder in
  // queue_order.h), so no gang starves behind a stream of small jobs. kNever: off.
  Seconds age_after_s = kNever;
  // "drf-predicted" only: a job's predicted work ages to nothing once it has waited this many
  // times the median wait of its priority's pending jobs (queue_order_predicted.h). 0: no ageing.
  double relative_age = 2.0;
  std::string placement = "binpack";            // see placement_policy.h
  BackfillMode backfill = BackfillMode::kEasy;  // see backfill/backfill_policy.h
  PreemptionPolicyNames preemption;             // see preemption/preemption_policy.h
  // Cap on running jobs examined as victims for one preemptor (bounds the pass's cost).
  int32_t max_preemption_candidates = 512;
  PreemptionGainConfig preempt_for_gain;  // off by default
  // "fill" preemption (preemption/fill.cc): a victim saved at most this long ago, and what the
  // victims lose (unsaved work and restarts, preempt_for_gain.restart_cost_s each) is repaid by
  // the idle GPUs the preemptor puts to work within this long.
  Seconds fill_horizon_s = 600;
  // Cap on single-domain attempts for a gang with a topology constraint.
  int32_t max_domain_attempts = 64;
  // EASY backfill depth: after the reservation, at most this many further jobs are tried in a
  // pass (Slurm's bf_max_job_test); the rest wait for the next pass. 0 = no limit.
  int32_t backfill_depth = 0;
  // Explain every waiting job in words (and tell WouldDelayReservation apart). Simulators that
  // replay thousands of passes turn this off: waiting jobs then get only a coarse reason
  // (kInsufficientCapacity for anything capacity-related) and no message.
  bool explain = true;
  // Nodes per internal index block (an implementation detail for speed; not a topology level).
  int32_t block_size = 32;
  friend bool operator==(const SchedulerConfig&, const SchedulerConfig&) = default;
};

class Scheduler {
 public:
  // Fails when a policy name is unknown (queue order, placement, preemption).
  static Result<Scheduler> Create(SchedulerConfig config);

  // One pass. Fails (InvalidArgument) only when the snapshot is inconsistent as a whole:
  // duplicate names, a running task on an unknown node or GPU. A bad pending job does not fail
  // the pass: it waits with reason kInvalid and a message naming the field.
  Result<Decisions> Schedule(const Snapshot& snapshot) const;

  const SchedulerConfig& config() const { return config_; }

 private:
  Scheduler(SchedulerConfig config, std::shared_ptr<const PlacementPolicy> placement,
            std::shared_ptr<const BackfillPolicy> backfill,
            std::vector<std::shared_ptr<const PreemptionPolicy>> preemption);
  SchedulerConfig config_;
  std::shared_ptr<const PlacementPolicy> placement_;
  std::shared_ptr<const BackfillPolicy> backfill_;
  std::vector<std::shared_ptr<const PreemptionPolicy>> preemption_;
};

}  // namespace kumo::core
