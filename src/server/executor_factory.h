// MakeExecutor: the executor ServerConfig::executor names, and the inventory the server starts
// from — the one place that knows there is more than one kind of executor.
//
//   local       LocalExecutor; nodes from the inventory file, or this machine as one node
//   kubernetes  KubernetesExecutor; topology levels and extended resources from the config's
//               `kubernetes:` section, nodes from the cluster (Executor::Nodes, every pass)
#pragma once

#include <memory>

#include "base/clock.h"
#include "base/status.h"
#include "executor/executor.h"
#include "executor/inventory.h"
#include "server/server_config.h"

namespace kumo::server {

// `clock` must outlive the executor.
Result<std::unique_ptr<executor::Executor>> MakeExecutor(const ServerConfig& config,
                                                         const Clock& clock,
                                                         executor::Inventory* inventory);

}  // namespace kumo::server
