// Feasibility: could a job ever run on this cluster, even with every node free?
//
// For a submit-time check (the server refuses what can never run, rather than accept it and
// let it wait forever). The answer is the one a scheduling pass gives: the job is tried alone
// on the cluster with every node empty, so the verdict is exactly the pass's Unschedulable /
// Invalid sentence -- per task (selectors, tolerations, GPU models, sizes) and for the whole gang
// (against the cluster, or every domain of its required topology level).
//
// Pure: no I/O, no clock, no threads.
#pragma once

#include <optional>
#include <string>

#include "core/snapshot.h"

namespace kumo::core {

// The sentence saying why `job` can never run on the nodes of `cluster` (its topology levels,
// extended resources and nodes; its jobs and projects are ignored), or nullopt when it could.
// Cordoned nodes count: they may come back. Quotas are not looked at.
std::optional<std::string> WhyNeverFits(const Snapshot& cluster, const Job& job);

}  // namespace kumo::core
