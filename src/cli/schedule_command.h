#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

// `kumo schedule`: exit 0 on success, 2 on bad flags, 1 when the core rejects the snapshot.
int RunSchedule(const std::vector<std::string>& args);

}  // namespace kumo::cli
