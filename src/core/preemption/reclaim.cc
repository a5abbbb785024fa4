// "reclaim" preemption: guaranteed quota is always obtainable. A project that lent capacity
// beyond other projects' guarantees takes it back for a job that keeps the project within its
// own guarantee -- from borrowing jobs of equal priority too.
// Jobs of the preemptor's own project are never reclaimed from.
#include "core/preemption/eviction.h"

namespace kumo::core::internal {

bool ReclaimAllows(const VictimFacts& f) {
  return !f.same_project && f.victim_borrowing && f.preemptor_in_guarantee &&
         f.victim_priority <= f.preemptor_priority;
}

}  // namespace kumo::core::internal
