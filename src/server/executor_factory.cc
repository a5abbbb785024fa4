#include "server/executor_factory.h"

#include "executor/kubernetes/kubernetes_executor.h"
#include "executor/local_executor.h"

namespace kumo::server {

namespace {

Result<std::unique_ptr<executor::Executor>> MakeKubernetesExecutor(const ServerConfig& config,
                                                                   const Clock& clock,
                                                                   executor::Inventory* inventory) {
  executor::kube::KubernetesConfig k = config.kubernetes;
  k.pods.data_dir = config.data_dir;
  inventory->topology_levels = k.topology_levels;
  inventory->extended_resources = k.cluster.extended_resources;
  inventory->nodes.clear();
  auto e = executor::kube::KubernetesExecutor::Create(std::move(k), clock);
  if (!e) return Error(e.error());
  return std::unique_ptr<executor::Executor>(std::move(*e));
}

Result<std::unique_ptr<executor::Executor>> MakeLocalExecutor(const ServerConfig& config,
                                                              executor::Inventory* inventory) {
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

}  // namespace

Result<std::unique_ptr<executor::Executor>> MakeExecutor(const ServerConfig& config,
                                                         const Clock& clock,
                                                         executor::Inventory* inventory) {
  switch (config.executor) {
    case ExecutorKind::kLocal: return MakeLocalExecutor(config, inventory);
    case ExecutorKind::kKubernetes: return MakeKubernetesExecutor(config, clock, inventory);
  }
  return Error(Status::Internal("unknown executor kind"));
}

}  // namespace kumo::server
