#pragma once

#include <string>
#include <vector>

namespace kumo::cli {

// `kumo kube-scheduler`: kumo as the schedulerName of Kubernetes pods (src/kubesched/). Runs
// until SIGINT or SIGTERM; exit 0 then, 2 on bad flags, 1 when it cannot start.
int RunKubeScheduler(const std::vector<std::string>& args);

}  // namespace kumo::cli
