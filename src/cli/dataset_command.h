// `kumo dataset push|ls|describe|pull|rm|grant` (docs/datasets.md): the command line over the
// /v1/datasets API and client/dataset_client.h. Exit codes as for the other client commands:
// 0 ok, 1 the server or the cache said no / unreachable, 2 bad usage.
#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

// args[0] is the subcommand ("push", ...), the rest its arguments and flags.
int RunDatasetCommand(const std::vector<std::string>& args);

}  // namespace kumo::cli
