// Presenting simulation results: a terminal table, JSON, and gnuplot plots.
#pragma once

#include <string>
#include <vector>

#include "sim/simulator.h"
#include "sim/trace.h"

namespace kumo::sim {

std::string FormatTable(const std::vector<SimReport>& reports);
std::string ReportsToJson(const Trace& trace, const std::vector<SimReport>& reports);
// Writes jct_cdf.png, queue.png, allocation.png (+ their .dat and .gp files) into dir.
// Fails when gnuplot is not installed or exits non-zero.
Status WritePlots(const std::string& dir, const std::vector<SimReport>& reports);

}  // namespace kumo::sim
