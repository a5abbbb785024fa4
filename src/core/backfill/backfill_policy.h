// BackfillPolicy: what happens behind the first pending job that cannot start.
//
// Implementations (one file each, chosen by SchedulerConfig::backfill):
//   none   -- strict order: the first blocked job blocks every job behind it (kBehindBlockedJob).
//   greedy -- blocked jobs are skipped; no reservation, so big gangs may starve behind a stream
//             of small jobs.
//   easy   -- EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001): the first blocked job gets a
//             reservation at the earliest time it fits if running jobs end at their maxRuntime;
//             later jobs start only where they do not delay it. A job with !Job::may_reserve
//             is skipped as under greedy (LAS's deadline guard decides when it may reserve),
//             unless it declared a higher priority than some job in the snapshot.
//
// The contract every policy keeps (backfill/backfill_policy_test.cc): jobs ahead of the first
// blocked job are unaffected; `none` starts nothing behind it; `greedy` starts every later job
// that fits; `easy` starts later jobs only without delaying the reservation, and the reserved
// job can start at its reserved time once the running jobs have reached their maxRuntime.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/status.h"
#include "core/decisions.h"

namespace kumo::core {

namespace internal {
class PassState;
}

enum class BackfillMode {
  kNone,    // strict order: the first blocked job blocks everything behind it
  kGreedy,  // blocked jobs are skipped; no reservation (big gangs may starve)
  kEasy,    // EASY: the first blocked job gets a reservation; others must not delay it
};

// "none", "greedy", "easy" (the --backfill flag and the server's config use these names).
Result<BackfillMode> ParseBackfillMode(std::string_view name);
const char* BackfillModeName(BackfillMode m);

class BackfillPolicy {
 public:
  virtual ~BackfillPolicy() = default;
  virtual std::string_view name() const = 0;
  // Whether the job that held the reservation in the last pass keeps its place at the head of
  // its priority class while it still waits (sticky reservation). Without it a fair-share order,
  // whose head moves as shares change, would hand the reservation (and its holds) to a
  // different job every pass, idling GPUs and starving big gangs.
  virtual bool KeepsReservationHolderFirst() const = 0;
  // Pending job j cannot start now, nor by preemption, and the pass holds no reservation yet.
  // The policy may reserve for it (then pass.reservation is set, a ReservationDecision is
  // appended to *out, and *why becomes kReserved) and may add to why->message (only when
  // SchedulerConfig::explain). Returns whether jobs behind j may still start in this pass.
  // REQUIRES: pass.BuildGang(j) ran; !pass.reservation.
  virtual bool Blocked(internal::PassState& pass, int32_t j, WaitExplanation* why,
                       Decisions* out) const = 0;
};

std::unique_ptr<BackfillPolicy> MakeBackfillPolicy(BackfillMode mode);
std::unique_ptr<BackfillPolicy> MakeNoBackfill();
std::unique_ptr<BackfillPolicy> MakeGreedyBackfill();
std::unique_ptr<BackfillPolicy> MakeEasyBackfill();

}  // namespace kumo::core
