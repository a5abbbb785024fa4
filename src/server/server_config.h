// ServerConfig: how `kumo server` is set up (flags over a YAML file over these defaults).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/policy_config.h"
#include "executor/task_identity.h"
#include "executor/kubernetes/kubernetes_config.h"
#include "server/records.h"

namespace kumo::server {

// Where tasks run. Parsed once, here; executor_factory.cc is the one place that makes an
// executor for a kind, and everything else asks the executor (executor.h), never the kind.
enum class ExecutorKind {
  kLocal,       // processes on this machine, nodes from inventory_file
  kKubernetes,  // pods, nodes from the cluster's Node objects (docs/kubernetes.md)
};
// "local" or "kubernetes"; nullopt for anything else.
std::optional<ExecutorKind> ParseExecutorKind(std::string_view name);

struct ServerConfig {
  std::string data_dir;  // required; created if missing
  std::string listen = "127.0.0.1:0";
  std::string inventory_file;  // empty: this machine (executor::DetectLocalMachine)
  std::string shim_binary;     // the task shim: kumo-shim, or the kumo binary (`__task-shim`)
  // The scheduler's whole policy: the `policy:` section (policy_config_yaml.h), the same
  // struct and reader as `kumo sim --config`.
  core::PolicyConfig policy;
  std::vector<PriorityClass> priority_classes = {
      {"low", 0, true}, {"normal", 100, true}, {"high", 1000, true}, {"system", 10000, false, true}};
  double tick_s = 0.2;  // loop period while nothing happens
  // At most one pass per this interval: under a burst of submissions one pass takes many jobs
  // instead of one pass per job (Slurm's sched_min_interval plays the same role).
  double pass_min_interval_s = 0.02;
  bool use_cgroups = true;
  // Tasks as unprivileged uids in their own mount namespace (docs/security.md); on by default.
  executor::IsolationConfig isolation;
  // GET /metrics (docs/observability.md): an admin token always reads it; the token in
  // metrics_token_file (one line) reads it and nothing else; metrics_public: anybody.
  std::string metrics_token_file;
  bool metrics_public = false;
  // Usage history: one sample every history_interval_s, kept for history_retention_s.
  double history_interval_s = 60;
  double history_retention_s = 30 * 86400;
  ExecutorKind executor = ExecutorKind::kLocal;
  executor::kube::KubernetesConfig kubernetes;
  // kumo cache servers ("host:port") that hold the datasets' bytes (docs/datasets.md); empty:
  // the dataset API answers 503.
  std::vector<std::string> cache_servers;
  int64_t cache_token_ttl_s = 900;  // lifetime of the cache tokens the server mints
  int64_t snapshot_max_bytes = int64_t{64} << 20;  // the largest code snapshot accepted
  // Code snapshot collection (snapshot_collector.h): every interval, what no job names and
  // nobody uploaded or confirmed within the grace goes. The grace bounds how long a client may
  // take between its first upload request and the submission naming the snapshot.
  double snapshot_collect_interval_s = 3600;
  double snapshot_grace_s = 3600;
  // The node store's cap (DATA_DIR/node-store, node_store_gc.h): past it, the dataset trees no
  // live job reads are removed, least recently used first. 0: no cap.
  int64_t node_store_max_bytes = 0;
  // Accept jobs that no node of the inventory could ever hold (nodes may be added later);
  // false: refuse them at submit (submit_feasibility.h).
  bool wait_for_nodes = false;
};

// Reads a server config file (YAML; see docs/control-plane.md) over the defaults in `base`.
Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base);

}  // namespace kumo::server
