#include "server/executor_factory.h"

#include "executor/kubernetes/kubernetes_executor.h"
#include "executor/local_executor.h"

namespace kumo::server {

Result<std::unique_ptr<executor::Executor>> MakeExecutor(const ServerConfig& config,
                                                         const Clock& clock,
                                                         executor::Inventory* inventory) {
  if (config.executor == "kubernetes") {
    executor::kube::KubernetesConfig k = config.kubernetes;
    k.pods.data_dir = config.data_dir;
    inventory->topology_levels = k.topology_levels;
    inventory->extended_resources = k.cluster.extended_resources;
    inventory->nodes.clear();
    auto e = executor::kube::KubernetesExecutor::Create(std::move(k), clock);
    if (!e) return Error(e.error());
    return std::unique_ptr<executor::Executor>(std::move(*e));
  }
  if (config.inventory_file.empty()) {
    *inventory = executor::DetectLocalMachine();
  } else {
    auto inv = executor::LoadInventoryFile(config.inventory_file);
    if (!inv) return Error(inv.error());
    *inventory = std::move(*inv);
  }
  return std::unique_ptr<executor::Executor>(std::make_unique<executor::LocalExecutor>(
      executor::ExecutorConfig{config.shim_binary, config.use_cgroups}));
}

}  // namespace kumo::server
