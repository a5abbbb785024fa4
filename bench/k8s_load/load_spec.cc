#include "load_spec.h"

#include <cstdio>

namespace kumo::bench {

Status Validate(const LoadSpec& spec) {
  if (spec.namespace_name.empty()) return Status::InvalidArgument("--namespace: empty");
  if (spec.scheduler_name.empty()) return Status::InvalidArgument("--scheduler-name: empty");
  if (spec.pods <= 0)
    return Status::InvalidArgument("--pods: " + std::to_string(spec.pods) + " is not > 0");
  if (spec.group_size < 0 || (spec.group_size > 0 && spec.pods % spec.group_size != 0))
    return Status::InvalidArgument("--group-size: " + std::to_string(spec.group_size) +
                                   " does not divide --pods " + std::to_string(spec.pods));
  if (spec.gpus_per_pod < 0)
    return Status::InvalidArgument("--gpus: " + std::to_string(spec.gpus_per_pod) + " is < 0");
  if (!spec.exit_after.empty() && !(spec.run_duration.empty() && spec.start_delay.empty()))
    return Status::InvalidArgument(
        "--exit-after: a pod that exits unstarted has no --run-duration or --start-delay");
  if (!spec.node_selector.empty()) {
    size_t eq = spec.node_selector.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("--node-selector: \"" + spec.node_selector +
                                     "\" is not KEY=VALUE");
  }
  return Status::Ok();
}

std::string PodName(int index) {
  char name[16];
  std::snprintf(name, sizeof name, "p-%06d", index);
  return name;
}

std::string GroupName(int group) {
  char name[16];
  std::snprintf(name, sizeof name, "g-%05d", group);
  return name;
}

int GroupOf(const LoadSpec& spec, int pod_index) {
  return spec.group_size > 0 ? pod_index / spec.group_size : -1;
}

nlohmann::json PodManifest(const LoadSpec& spec, int index) {
  nlohmann::json meta = {{"name", PodName(index)}, {"namespace", spec.namespace_name},
                         {"labels", {{"app", "k8s-load"}}}};
  if (spec.group_size > 0 && spec.gang_api == GangApi::kSchedulerPlugins)
    meta["labels"][kPodGroupLabel] = GroupName(GroupOf(spec, index));
  if (spec.group_size > 0 && spec.gang_api == GangApi::kVolcano)
    meta["annotations"][kVolcanoGroupAnnotation] = GroupName(GroupOf(spec, index));
  if (!spec.run_duration.empty()) meta["annotations"]["kumo.test/run-duration"] = spec.run_duration;
  if (!spec.start_delay.empty()) meta["annotations"]["kumo.test/start-delay"] = spec.start_delay;
  if (!spec.exit_after.empty()) meta["annotations"]["kumo.test/exit-after"] = spec.exit_after;
  nlohmann::json requests = {{"cpu", "100m"}, {"memory", "128Mi"}};
  nlohmann::json limits = nlohmann::json::object();
  if (spec.gpus_per_pod > 0) {
    // Extended resources are not overcommitted: requests must equal limits.
    requests["nvidia.com/gpu"] = std::to_string(spec.gpus_per_pod);
    limits["nvidia.com/gpu"] = std::to_string(spec.gpus_per_pod);
  }
  nlohmann::json pod_spec = {
      {"schedulerName", spec.scheduler_name},
      {"terminationGracePeriodSeconds", 0},
      {"automountServiceAccountToken", false},
      {"containers",
       {{{"name", "main"},
         {"image", "kumo.test/k8s-load:none"},  // KWOK never pulls it
         {"resources", {{"requests", requests}, {"limits", limits}}}}}}};
  if (!spec.node_selector.empty()) {
    size_t eq = spec.node_selector.find('=');
    pod_spec["nodeSelector"] = {
        {spec.node_selector.substr(0, eq), spec.node_selector.substr(eq + 1)}};
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", pod_spec}};
}

nlohmann::json PodGroupManifest(const LoadSpec& spec, int group) {
  nlohmann::json meta = {{"name", GroupName(group)}, {"namespace", spec.namespace_name}};
  if (spec.gang_api == GangApi::kVolcano) {
    return {{"apiVersion", "scheduling.volcano.sh/v1beta1"},
            {"kind", "PodGroup"},
            {"metadata", meta},
            {"spec", {{"minMember", spec.group_size}, {"queue", kVolcanoQueue}}}};
  }
  return {{"apiVersion", "scheduling.x-k8s.io/v1alpha1"},
          {"kind", "PodGroup"},
          {"metadata", meta},
          {"spec", {{"minMember", spec.group_size}}}};
}

std::string PodGroupPath(const LoadSpec& spec) {
  const char* group_version = spec.gang_api == GangApi::kVolcano
                                  ? "scheduling.volcano.sh/v1beta1"
                                  : "scheduling.x-k8s.io/v1alpha1";
  return std::string("/apis/") + group_version + "/namespaces/" + spec.namespace_name +
         "/podgroups";
}

}  // namespace kumo::bench
