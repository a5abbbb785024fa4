// Presenting simulation results: a terminal table, JSON, and gnuplot plots.
#pragma once

#include <string>
#include <vector>

#include "sim/simulator.h"
#include "sim/trace.h"

namespace kumo::sim {

std::string FormatTable(const std::vector<SimReport>& reports);
std::string ReportsToJson(const Trace& trace, const std::vector<SimReport>& reports);
// One row per job and policy (header `policy,job,project,gpus,duration_s,submit_s,
// first_start_s,end_s,jct_s,first_wait_s,queued_s,requeued_s,preemptions,lost_gpu_s`; times in
// seconds of virtual time, -1 for a start or end that never came): where a job's time went, for
// finding out which jobs make a tail. requeued_s = queued_s - first_wait_s is the time spent
// waiting to resume after preemptions.
std::string JobsToCsv(const std::vector<SimReport>& reports);
// Writes jct_cdf.png, queue.png, allocation.png (+ their .dat and .gp files) into dir.
// Fails when gnuplot is not installed or exits non-zero.
Status WritePlots(const std::string& dir, const std::vector<SimReport>& reports);
// Load sweep: mean_jct_vs_load.png, p99_wait_vs_load.png and allocation_vs_load.png in dir.
Status WriteSweepPlots(const std::string& dir,
                       const std::vector<std::pair<double, std::vector<SimReport>>>& sweep);

}  // namespace kumo::sim
