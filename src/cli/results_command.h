// Results from the command line (docs/datasets.md, "Results"):
//   kumo results ID [-o table|json]        the job's Result records: outcome, provenance, metrics
//   kumo get results [--project P] [-o ..] the latest Result of each job, metrics as columns
//   kumo cp ID[:PATH] DEST                 outputs over the API (streamed in pieces, a progress
//                                          bar on a terminal); no shared paths needed
//   kumo rerun ID                          the same spec, code snapshot and seed as a new job
// Exit codes: 0 ok, 1 the server said no / unreachable, 2 bad usage.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kumo::cli {

// "results", "cp", "rerun"; and "get" when args[0] is "results".
bool IsResultsCommand(std::string_view cmd, const std::vector<std::string>& args);
int RunResultsCommand(const std::string& cmd, const std::vector<std::string>& args);

}  // namespace kumo::cli
