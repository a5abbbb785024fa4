// Decisions: what one scheduling pass concluded.
#pragma once

#include <string>
#include <vector>

#include "core/snapshot.h"

namespace kumo::core {

struct StartDecision {
  std::string job;
  std::vector<TaskPlacement> tasks;  // every task of the job: gangs start whole or not at all
  bool backfilled = false;           // started ahead of a reserved job without delaying it
};

enum class PreemptionReason {
  kPriority,    // the preemptor has a higher priority
  kReclaim,     // the preemptor's project is reclaiming its guaranteed quota from a borrower
  kDefragment,  // the victim moves to idle GPUs elsewhere so that the preemptor fits (it restarts)
  kFill,        // the victim, smaller, waits again so that the preemptor puts idle GPUs beside it to work
};

struct PreemptDecision {
  std::string victim;
  std::string preemptor;
  PreemptionReason reason = PreemptionReason::kPriority;
  std::string message;
};

// The earliest time a blocked job can start given the running jobs' limits (EASY backfill).
struct ReservationDecision {
  std::string job;
  Seconds start_time = 0;
  std::vector<TaskPlacement> tasks;
};

enum class WaitReason {
  kInvalid,                // the job can never run as specified (message says which field)
  kQuotaMax,               // starting it would exceed its project's max quota
  kUnschedulable,          // no node (or domain) could ever hold it, even on an empty cluster
  kInsufficientCapacity,   // not enough free resources now
  kTopology,               // enough in total, not within one domain of the required level
  kFragmented,             // enough in total, but not in pieces its tasks can use
  kReserved,               // holds the reservation: starts at the reserved time at the latest
  kWouldDelayReservation,  // fits now, but would delay the reserved job
  kBehindBlockedJob,       // strict FIFO: waits for the job ahead of it
  kWaitingForPreemption,   // victims were preempted for it; starts when they have exited
  kWaitingForTermination,  // fits once terminating jobs have exited
  kNotConsidered           // beyond the backfill depth: not tried in this pass
};

struct WaitExplanation {
  std::string job;
  WaitReason reason = WaitReason::kInsufficientCapacity;
  std::string message;  // for people: "needs 16 GPUs in one leaf; largest free leaf has 12"
};

struct Decisions {
  std::vector<StartDecision> starts;
  std::vector<PreemptDecision> preemptions;
  std::vector<ReservationDecision> reservations;
  std::vector<WaitExplanation> waiting;  // one per pending job that does not start
  // Pending jobs in the order this pass considered them (the queue users see).
  std::vector<std::string> order;
};

const char* WaitReasonName(WaitReason r);
const char* PreemptionReasonName(PreemptionReason r);

}  // namespace kumo::core
