// LoadSpec: the pods (and PodGroups) one k8s_load run creates in one namespace, and the
// manifests it sends for them. Pure: no I/O, so the manifests are checked by plain tests.
//
// Pods are named p-000000, p-000001, ...; with gangs (group_size > 0) pod i belongs to group
// i / group_size, named g-00000, ..., and carries the scheduler-plugins label
// `scheduling.x-k8s.io/pod-group: g-NNNNN`; each group is one PodGroup
// (scheduling.x-k8s.io/v1alpha1) with spec.minMember = group_size, the convention both the
// coscheduling plugin and kumo's secondary-scheduler mode read. With GangApi::kVolcano the
// same groups take Volcano's convention instead: the pod annotation
// `scheduling.k8s.io/group-name: g-NNNNN` and a PodGroup of scheduling.volcano.sh/v1beta1 with
// spec.minMember = group_size in spec.queue `default`.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace kumo::bench {

inline constexpr char kPodGroupLabel[] = "scheduling.x-k8s.io/pod-group";
inline constexpr char kVolcanoGroupAnnotation[] = "scheduling.k8s.io/group-name";
inline constexpr char kVolcanoQueue[] = "default";  // the queue vc-scheduler creates at start

// Whose PodGroup objects and pod markings a gang load uses.
enum class GangApi { kSchedulerPlugins, kVolcano };

struct LoadSpec {
  std::string namespace_name;             // created by the run; must not exist yet
  std::string scheduler_name = "default-scheduler";  // spec.schedulerName: who binds the pods
  int pods = 0;                           // > 0
  int group_size = 0;                     // 0: independent pods; else pods % group_size == 0
  GangApi gang_api = GangApi::kSchedulerPlugins;  // with group_size > 0
  int gpus_per_pod = 1;                   // nvidia.com/gpu requests (= limits), >= 0
  std::string run_duration;               // kumo.test/run-duration (KWOK stage); "": forever
  std::string start_delay;                // kumo.test/start-delay (KWOK stage); "": at once
  // kumo.test/exit-after (KWOK stage): Succeeded that long after binding, never Running (one
  // status write, not two); excludes run_duration and start_delay. "": the two above apply.
  std::string exit_after;
  std::string node_selector;              // "key=value" or "" (any node)
};

// Checks the fields' ranges; the error names the flag ("--pods: ...").
Status Validate(const LoadSpec& spec);

std::string PodName(int index);                      // "p-000042"
std::string GroupName(int group);                    // "g-00007"
int GroupOf(const LoadSpec& spec, int pod_index);    // -1 without gangs

// REQUIRES: Validate(spec).ok(), 0 <= index < spec.pods.
nlohmann::json PodManifest(const LoadSpec& spec, int index);
// REQUIRES: spec.group_size > 0, 0 <= group < spec.pods / spec.group_size.
nlohmann::json PodGroupManifest(const LoadSpec& spec, int group);
// The collection PodGroupManifest's objects are POSTed to, in spec.namespace_name.
std::string PodGroupPath(const LoadSpec& spec);

}  // namespace kumo::bench
