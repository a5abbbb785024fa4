#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

// `kumo sim`: replays a trace through the scheduling core under one or more policies.
// Exit 0 on success, 2 on bad flags, 1 when a trace cannot be read.
int RunSim(const std::vector<std::string>& args);

}  // namespace kumo::cli
