// SchedulingView: the API objects kumo's watches hold -> the core's Snapshot, for `kumo
// kube-scheduler` (kumo as the schedulerName of pods that other tools create).
//
// Pure: JSON in, a Snapshot out; no I/O and no clock (the caller passes `now`), so tests feed it
// objects written by hand. The driver (kube_scheduler.h) calls it once per pass on its watches'
// copies.
//
// A pod is kumo's ("ours") when spec.schedulerName is the configured name and its namespace is
// watched. Every other pod bound to a node, and not ended, only takes capacity there
// (executor/kubernetes/cluster_view.h does that arithmetic).
//
// Jobs (core/snapshot.h), one task group of one replica per pod (task group i <-> pods[i]):
//   pending, single  a pod of ours without a node and without the pod-group label: job "NS/NAME"
//                    (a pod with spec.schedulingGates is not pending yet: it is left alone)
//   pending, gang    the unbound pods of ours labelled scheduling.x-k8s.io/pod-group: G, with a
//                    PodGroup NS/G (scheduling.x-k8s.io/v1alpha1) whose spec.minMember pods exist
//                    (bound or not): one job "pg:NS/G", all of its unbound pods, all or nothing.
//                    Fewer pods, or no PodGroup: no job; each pod gets a PodWait saying why.
//                    Fewer bound pods than minMember beside the job: `partly_bound`
//   running          bound pods of ours (or `assumed` bound by kumo, not yet seen so): one job per
//                    single pod, one per gang; terminating when a pod has a deletionTimestamp
// Per job:
//   project          the namespace (weights and quotas come from `projects`; others weigh 1)
//   priority         the value of the pod's PriorityClass (priorityClassName), else spec.priority
//                    (set by the Priority admission plugin), else 0; preemptionPolicy Never ->
//                    may_preempt false
//   resources        the sum of the containers' requests: cpu (milli-cores), memory (bytes), the
//                    GPU resource (whole GPUs -> milli-GPU), the extended resources named in
//                    options.cluster; init containers are not counted
//   nodeSelector, tolerations  spec.nodeSelector, spec.tolerations (a gang's pods must agree)
//   submit_time      metadata.creationTimestamp (a gang: its oldest pod)
//   max_runtime      spec.activeDeadlineSeconds (the backfill estimate), else none
// GPU indices of running pods are kumo's count only (the device plugin picks the device).
#pragma once

#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/snapshot.h"
#include "executor/kubernetes/cluster_view.h"

namespace kumo::kubesched {

inline constexpr char kPodGroupLabel[] = "scheduling.x-k8s.io/pod-group";

struct ViewOptions {
  std::string scheduler_name = "kumo";
  std::vector<std::string> namespaces;  // empty: every namespace
  executor::kube::ClusterOptions cluster;
  // Weights and quotas by namespace; a namespace not named here is a project of weight 1.
  std::vector<core::Project> projects;
};

// What BuildView reads of one pod, read once: the driver keeps it beside the pod until the pod's
// resourceVersion changes (kube_scheduler.h), so a pass over ten thousand pods parses none of
// them again (reading the JSON of every pod took 0.5-0.9 s per pass at 10,000 pods).
// Independent of ViewOptions: whose the pod is, and what its requests mean, are decided per pass.
struct PodFacts {
  std::shared_ptr<const nlohmann::json> object;  // the pod (SlimPod in the driver)
  std::string key, ns, scheduler_name, group, node;  // group: the pod-group label ("": none)
  std::string uid;  // metadata.uid: tells a pod from one recreated under its name
  bool ended = false;     // Succeeded or Failed
  bool gated = false;     // spec.schedulingGates not empty
  bool deleting = false;  // metadata.deletionTimestamp set
  bool managed = false;   // labelled kumo.dev/job: created (and bound) by kumo server's executor
  // spec.containers[*].resources.requests, summed by name: memory in bytes, others in milli-units.
  std::vector<std::pair<std::string, int64_t>> requests;
  std::vector<core::Label> node_selector;
  std::vector<core::Toleration> tolerations;
  std::string constraints;  // nodeSelector and tolerations as JSON: a gang's pods must agree
  std::string priority_class;
  std::optional<int32_t> priority;  // spec.priority
  bool preempt_never = false;       // spec.preemptionPolicy Never
  std::optional<int64_t> active_deadline_s;
  core::Seconds created = -1, started = -1;  // creationTimestamp, status.startTime; -1: none
};
PodFacts ParsePod(std::shared_ptr<const nlohmann::json> pod);

// What the watches hold, each list in a stable order (by key). Pods are shared, immutable, with
// the driver's cache: a pass over ten thousand pods takes ten thousand pointers, not copies.
struct ClusterObjects {
  std::vector<nlohmann::json> nodes, pod_groups, priority_classes;
  std::vector<std::shared_ptr<const PodFacts>> pods;
  // Pods kumo bound ("NS/NAME" -> node) that the pod watch has not shown bound yet.
  std::map<std::string, std::string> assumed;
  // Pods kumo asked to delete ("NS/NAME": a gang's pods undone, victims) that are not gone yet;
  // like a pod with a deletionTimestamp, one is never placed and never counts toward minMember.
  std::set<std::string> deleting;
};

// A pod of ours that waits for a reason the core never sees (its gang is not complete).
struct PodWait {
  std::string pod;  // "NS/NAME"
  std::string message;
};

struct SchedulingView {
  core::Snapshot snapshot;
  // Parallel to snapshot.jobs: the pods ("NS/NAME") of each job, task group i <-> pods[i].
  std::vector<std::vector<std::string>> pods_of_job;
  std::vector<PodWait> waits;
  // Gangs bound in part: a pending gang job ("pg:NS/G") -> its bound pods that stay, fewer than
  // the PodGroup's minMember. kumo binds a gang's pods in one batch, so this is what a kill -9
  // between two of its bindings leaves, or a bound member deleted and recreated by its owner.
  // The driver completes such a gang when the pass starts the job, and otherwise evicts these
  // pods (kube_scheduler.h), so no gang holds part of its resources for ever.
  std::map<std::string, std::vector<std::string>> partly_bound;
};

bool IsOurs(const PodFacts& pod, const ViewOptions& options);

// The fields of a pod that BuildView and pod_writes.h read, and nothing else (no managedFields,
// no container statuses): what the driver keeps per pod between passes, so that a pass over ten
// thousand pods copies a few fields of each instead of whole objects. BuildView gives the same
// view of a pod and of its slim form.
nlohmann::json SlimPod(const nlohmann::json& pod);
// The same for a Node: what executor/kubernetes/cluster_view.h reads (name, labels, taints,
// unschedulable, allocatable, the Ready condition's status). A KWOK or kubelet node also carries
// managedFields, addresses, nodeInfo, images and more conditions; a pass over a thousand nodes
// copies and parses only these. BuildView gives the same nodes from a Node and its slim form.
nlohmann::json SlimNode(const nlohmann::json& node);
// The "NS/NAME" key of any namespaced object.
std::string KeyOf(const nlohmann::json& object);

SchedulingView BuildView(const ClusterObjects& objects, const ViewOptions& options,
                         core::Seconds now);

// RFC 3339 UTC ("2026-12-06T11:25:09Z", fractions ignored) -> seconds since the epoch; -1 when
// malformed. (The other way: executor::kube::Rfc3339.)
core::Seconds ParseTimestamp(const std::string& text);

}  // namespace kumo::kubesched
