// Several seeds: the same policies over traces read with different seeds (queue and user
// assignment, maxRuntime estimates; trace.h), summarised per metric as the median and the
// range (min, max) over seeds, so that a difference between policies can be told apart from
// the noise of one draw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace kumo::sim {

struct MetricSpread {
  std::string metric;  // the JSON name of the single-seed report (mean_jct_s, goodput, ...)
  double median = 0, min = 0, max = 0;
};

struct PolicySpread {
  std::string policy;
  std::vector<MetricSpread> metrics;  // the same metrics, in the same order, for every policy
};

// runs[s][p]: seed s, policy p. REQUIRES: every run lists the same policies in the same order.
std::vector<PolicySpread> SpreadOverSeeds(const std::vector<std::vector<SimReport>>& runs);

// A table of median [min..max] per policy (times in hours, as FormatTable).
std::string FormatSpreadTable(const std::string& trace, double load, int64_t seeds,
                              const std::vector<PolicySpread>& spreads);

// {"trace", "load", "seeds": [..], "policies": {name: {metric: median, ...,
//  "spread": {metric: {"median", "min", "max"}}}}}: the medians sit where a single-seed report
// has its values, so tools reading one read the other.
std::string SpreadToJson(const std::string& trace, double load, const std::vector<uint64_t>& seeds,
                         const std::vector<PolicySpread>& spreads);

}  // namespace kumo::sim
