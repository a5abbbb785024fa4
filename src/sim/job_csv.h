// Job traces and clusters given by the user: `kumo sim --trace csv:PATH --cluster NxG|FILE`.
//
// A job CSV has a header and one row per job. Columns, in any order:
//   submit_s       required  arrival, seconds from any origin (>= 0)
//   gpus           required  whole GPUs of the gang (1 ..)
//   duration_s     required  work, seconds of running (> 0, at most kMaxTraceSeconds)
//   project        optional  fair-share project (weight 1 each); default "default"
//   user           optional  default "user"
//   max_runtime_s  optional  the user's maxRuntime (backfill estimate); empty: none
//   gpu_model      optional  acceptable GPU models, "A|B"; empty: any
//   priority       optional  integer; default 0
//   checkpoint     optional  checkpoint interval in seconds; empty or 0: does not checkpoint
// A gang larger than the largest node is cut into tasks of that node's size plus one task for
// the rest (20 GPUs on 8-GPU nodes: 8 + 8 + 4); tasks ask for GPUs only.
//
// Unlike the published traces (whose bad rows are counted and skipped), this is the user's own
// input: the first bad field fails the whole read with FILE:LINE: column: message, and a file
// without jobs is an error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/trace.h"

namespace kumo::sim {

// Longest duration or maxRuntime a trace may state: ten years. Beyond it the number is a unit
// mistake (1e18 s), and would overflow the virtual clock's sums.
inline constexpr core::Seconds kMaxTraceSeconds = 10LL * 365 * 24 * 3600;

struct ClusterShape {
  int32_t nodes = 0;
  int32_t gpus_per_node = 0;
};

// "NxG": N nodes of G GPUs (1 <= N <= 100000, 1 <= G <= 64).
Result<ClusterShape> ParseClusterShape(std::string_view text);

// The nodes of a shape: GPU model "GPU", 6 cores and 48 GiB per GPU (Philly's assumption),
// leaves and spines as the published traces get (nodes_per_leaf per leaf).
void SetUniformCluster(const ClusterShape& shape, Trace& trace);

// Reads a job CSV into `trace` (its jobs and projects; the cluster must already be set, since
// gangs are cut to its largest node). REQUIRES: trace.nodes has at least one GPU.
Status ReadJobCsv(const std::string& path, Trace& trace);

}  // namespace kumo::sim
