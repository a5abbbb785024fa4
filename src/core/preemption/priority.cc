// "priority" preemption: a job stops lower-priority jobs. Inside its own project any of them;
// in another project only jobs that run on borrowed capacity, so a project's guaranteed quota
// is safe from every other project's higher priorities.
#include "core/preemption/eviction.h"

namespace kumo::core::internal {

bool PriorityAllows(const VictimFacts& f) {
  if (f.victim_priority >= f.preemptor_priority) return false;
  return f.same_project || f.victim_borrowing;
}

}  // namespace kumo::core::internal
