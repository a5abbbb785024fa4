// ClusterView: Kubernetes Node and Pod objects -> the nodes the scheduling core places onto.
//
// Pure: JSON in, core::Node out; no I/O, no clock (the caller passes `now` and what it knows of
// each node's readiness history), so tests feed it objects written by hand.
//
// Per node:
//   allocatable   status.allocatable: cpu -> milli-cores, memory -> bytes, each extended resource
//                 the server names (options.extended_resources, e.g. "rdma/hca") -> whole units;
//                 minus the requests of every pod bound to the node that kumo does not manage
//                 (their capacity is taken, whoever scheduled them) and that has not ended
//   gpus          options.gpu_resource ("nvidia.com/gpu") whole devices, indices 0..n-1, model
//                 from the label options.gpu_model_label ("nvidia.com/gpu.product"); GPUs taken
//                 by unmanaged pods are removed from the top indices (the device plugin, not
//                 kumo, picks the device: kumo's indices only count)
//   labels        metadata.labels; taints from spec.taints (NoSchedule, PreferNoSchedule,
//                 NoExecute), except node.kubernetes.io/{not-ready,unreachable,unschedulable}:
//                 the node lifecycle controller derives those from the two fields below
//   topology      one domain per options.topology_labels entry (the label's value; "none" when
//                 the node lacks it)
//   unschedulable spec.unschedulable (cordoned), or the Ready condition not True (NotReady:
//                 no new work; the executor declares running tasks lost after a grace period)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/snapshot.h"

namespace kumo::executor::kube {

// Labels kumo puts on the pods it creates; a pod without kLabelJob is not kumo's.
inline constexpr char kLabelJob[] = "kumo.dev/job";
inline constexpr char kLabelAttempt[] = "kumo.dev/attempt";
inline constexpr char kLabelRank[] = "kumo.dev/rank";
inline constexpr char kLabelGang[] = "kumo.dev/gang";  // "<pod name prefix>": job and attempt
inline constexpr char kAnnotationRunDir[] = "kumo.dev/run-dir";

struct ClusterOptions {
  std::string gpu_resource = "nvidia.com/gpu";
  std::string gpu_model_label = "nvidia.com/gpu.product";
  std::vector<std::string> topology_labels;     // outermost first
  std::vector<std::string> extended_resources;  // names offered to jobs, in the core's order
};

// The Ready condition of a Node: true only when it is present and "True".
bool NodeReady(const nlohmann::json& node);
bool IsManagedPod(const nlohmann::json& pod);
// Succeeded or Failed: the pod holds no resources any more.
bool PodEnded(const nlohmann::json& pod);

// What of the nodes other pods take. kSkip: the pods kumo server created (kLabelJob) are left
// out, because the executor counts them as its own jobs; kCount: they take their requests like
// any other pod (kumo kube-scheduler, for which the server's pods are another scheduler's).
enum class ManagedPods { kSkip, kCount };

// `nodes` and `pods` are API objects (all pods of the cluster, any namespace).
std::vector<core::Node> NodesFromObjects(const std::vector<nlohmann::json>& nodes,
                                         const std::vector<nlohmann::json>& pods,
                                         const ClusterOptions& options,
                                         ManagedPods managed = ManagedPods::kSkip);

}  // namespace kumo::executor::kube
