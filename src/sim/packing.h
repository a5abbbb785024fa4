// Packing experiment (as in the FGD paper, Weng et al., ATC'23, on the openb trace): pods arrive
// in trace order and never leave; each is placed if it fits, else refused. Measures how much of
// the cluster's GPU capacity a placement policy can allocate before, and after, it first has to
// refuse a pod, and how much free GPU capacity is then unusable by the refused pod
// (fragmentation).
#pragma once

#include <string>
#include <vector>

#include "sim/trace.h"

namespace kumo::sim {

struct PackingReport {
  std::string placement;
  int64_t pods = 0;
  int64_t placed = 0;
  int64_t never_fit = 0;  // pods no node could hold even on the empty cluster
  // Index in trace order of the first GPU pod refused that would fit the empty cluster; -1 if none.
  int64_t first_refusal = -1;
  double allocation_at_first_refusal = 0;  // allocated GPU / GPU capacity
  double allocation_at_end = 0;
  double fragmentation_at_first_refusal = 0;  // free GPU unusable by the refused pod / capacity
  double pass_s = 0;
};

// One scheduling pass with every pod pending in trace order (FIFO, blocked pods skipped, no
// preemption): the same decisions as placing them one by one without departures.
Result<PackingReport> Pack(const Trace& trace, const std::string& placement);

std::string FormatPackingTable(const std::vector<PackingReport>& reports);
std::string PackingToJson(const Trace& trace, const std::vector<PackingReport>& reports);

}  // namespace kumo::sim
