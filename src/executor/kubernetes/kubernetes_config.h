// KubernetesConfig: how `kumo server --executor kubernetes` reaches its cluster and shapes its
// pods; the `kubernetes:` section of the server config file (docs/kubernetes.md):
//
//   executor: kubernetes
//   kubernetes:
//     kubeconfig: /etc/kumo/kubeconfig        # default: the pod's service account
//     namespace: kumo-jobs                    # default "default"
//     schedulerName: kumo
//     dataClaim: kumo-data                    # PVC mounted at dataMount in every pod
//     dataMount: /kumo
//     masterPort: 29500
//     gpuResource: nvidia.com/gpu
//     gpuModelLabel: nvidia.com/gpu.product
//     topology: [{level: zone, label: topology.kubernetes.io/zone}, {level: leaf, label: example.org/leaf}]
//     extendedResources: [rdma/hca]
//     nodeSelector: {kumo.dev/pool: training} # only these nodes are kumo's (default: every node)
//     notReadyGraceSeconds: 40
//     endedPodTtlSeconds: 300
//
// Errors are YamlError's: "FILE:LINE: kubernetes.topology[1].label: required".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/status.h"
#include "executor/kubernetes/cluster_view.h"
#include "executor/kubernetes/pod_manifest.h"

namespace kumo::executor::kube {

struct KubernetesConfig {
  std::string kubeconfig;  // empty: the pod's service account (in-cluster)
  PodOptions pods;         // namespace, scheduler name, data volume, MASTER_PORT
  ClusterOptions cluster;  // GPU resource and model label, topology labels, extended resources
  std::vector<std::string> topology_levels;  // the core's level names, one per topology label
  // kumo manages only the nodes that carry every one of these labels: a partition of a shared
  // cluster. Pods on those nodes that kumo did not create still take their capacity.
  std::map<std::string, std::string> node_selector;  // empty: every node
  double not_ready_grace_s = 40;  // a NotReady node's tasks are lost after this long (seconds)
  double sync_timeout_s = 30;     // the executor waits this long for its first lists (seconds)
  double ended_pod_ttl_s = 300;   // pods of ended tasks are deleted after this long (seconds)
};

// "k=v,k2=v2" (the --node-selector flag) -> {k: v, k2: v2}. Fails (kInvalidArgument, naming the
// pair) on a pair without '=' or with an empty key; values may be empty, as label values may.
Result<std::map<std::string, std::string>> ParseNodeSelector(std::string_view text);

// Reads the `kubernetes:` mapping over `config`; `file` names the config file in errors.
Status ParseKubernetesConfig(const YAML::Node& section, const std::string& file,
                             KubernetesConfig* config);

}  // namespace kumo::executor::kube
