// A small, hand-made cluster and queue that exercises every decision the core makes:
// gang starts with topology, a priority preemption, a quota reclaim, a reservation with
// backfill, a max-quota refusal and an unschedulable job. Used by `kumo schedule --demo`.
#pragma once

#include "core/snapshot.h"

namespace kumo::workload {

core::Snapshot DemoSnapshot();

}  // namespace kumo::workload
