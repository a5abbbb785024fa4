#include "executor/kubernetes/pod_manifest.h"

#include <set>

#include "executor/kubernetes/cluster_view.h"

namespace kumo::executor::kube {
using nlohmann::json;

namespace {

// The server machine's own variables (translate.cc's inherited set) and its device choice.
const std::set<std::string> kServerOnlyEnv = {"PATH", "HOME", "USER", "LOGNAME",
                                              "TMPDIR", "CUDA_VISIBLE_DEVICES"};

std::string InPod(const std::string& value, const PodOptions& o) {
  if (o.data_dir.empty() || value.rfind(o.data_dir, 0) != 0) return value;
  std::string rest = value.substr(o.data_dir.size());
  if (!rest.empty() && rest[0] != '/') return value;  // "/data-other" is not under "/data"
  return o.data_mount + rest;
}

json Env(const TaskLaunch& launch, const PodOptions& o) {
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : launch.env)
    if (!kServerOnlyEnv.count(k)) env[k] = InPod(v, o);
  TaskLaunch rank0 = launch;
  rank0.rank = 0;
  env["MASTER_ADDR"] = PodName(rank0) + "." + GangName(launch) + "." + o.namespace_name + ".svc";
  env["MASTER_PORT"] = std::to_string(o.master_port);
  // A pod sees only the devices the device plugin gave it, numbered from 0: to the task it is a
  // machine of its own, whatever else runs on the node.
  env["LOCAL_RANK"] = "0";
  env.erase("KUMO_NODE");
  json out = json::array();
  for (const auto& [k, v] : env) out.push_back({{"name", k}, {"value", v}});
  // The node is the binding's, read through the downward API: the pod is the same whichever
  // node it is bound to, so a waiting gang's pods are the ones later bound.
  out.push_back({{"name", "KUMO_NODE"},
                 {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}});
  return out;
}

json Resources(const TaskLaunch& launch, const PodOptions& o) {
  json r = {{"cpu", std::to_string(launch.cpu_millis) + "m"},
            {"memory", std::to_string(launch.memory_bytes)}};
  if (launch.gpu_milli > 0) r[o.gpu_resource] = std::to_string(launch.gpu_milli / 1000);
  for (const auto& [name, units] : launch.extended)
    if (units > 0) r[name] = std::to_string(units);
  return {{"requests", r}, {"limits", r}};
}

json Labels(const TaskLaunch& launch) {
  return {{kLabelJob, std::to_string(launch.job_id)},
          {kLabelAttempt, std::to_string(launch.attempt)},
          {kLabelRank, std::to_string(launch.rank)},
          {kLabelGang, GangName(launch)}};
}

// The job's annotations, and the run dir (kumo's own key wins).
json Annotations(const TaskLaunch& launch) {
  json a = launch.annotations;
  a[kAnnotationRunDir] = launch.run_dir;
  return a;
}

}  // namespace

std::string GangName(const TaskLaunch& launch) {
  return "kumo-job-" + std::to_string(launch.job_id) + "-a" + std::to_string(launch.attempt);
}

std::string PodName(const TaskLaunch& launch) {
  return GangName(launch) + "-t" + std::to_string(launch.rank);
}

Result<json> PodManifest(const TaskLaunch& launch, const PodOptions& o) {
  if (launch.image.empty())
    return Error(Status::InvalidArgument(
        "the task group has no image: the Kubernetes executor runs every task in a container "
        "(spec.taskGroups[].image)"));
  if (launch.gpu_milli % 1000 != 0)
    return Error(Status::InvalidArgument(
        "a GPU share (" + std::to_string(launch.gpu_milli) + " milli-GPU) cannot be requested "
        "from Kubernetes, which counts whole devices"));
  json container = {{"name", "task"},
                    {"image", launch.image},
                    {"command", launch.argv},
                    {"env", Env(launch, o)},
                    {"resources", Resources(launch, o)},
                    {"volumeMounts", {{{"name", "kumo-data"}, {"mountPath", o.data_mount}}}}};
  json volume = {{"name", "kumo-data"}};
  if (o.data_claim.empty())
    volume["emptyDir"] = json::object();
  else
    volume["persistentVolumeClaim"] = {{"claimName", o.data_claim}};
  return json{
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", PodName(launch)},
        {"namespace", o.namespace_name},
        {"labels", Labels(launch)},
        {"annotations", Annotations(launch)}}},
      {"spec",
       {{"schedulerName", o.scheduler_name},
        {"restartPolicy", "Never"},
        {"terminationGracePeriodSeconds", launch.grace_period_s},
        {"hostname", PodName(launch)},
        {"subdomain", GangName(launch)},
        {"containers", {container}},
        {"volumes", {volume}}}}};
}

json ServiceManifest(const TaskLaunch& launch, const json& owner_pod, const PodOptions& o) {
  const json& md = owner_pod["metadata"];
  json labels = {{kLabelJob, std::to_string(launch.job_id)},
                 {kLabelAttempt, std::to_string(launch.attempt)},
                 {kLabelGang, GangName(launch)}};
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", GangName(launch)},
            {"namespace", o.namespace_name},
            {"labels", labels},
            {"ownerReferences",
             {{{"apiVersion", "v1"},
               {"kind", "Pod"},
               {"name", md.value("name", "")},
               {"uid", md.value("uid", "")}}}}}},
          {"spec",
           {{"clusterIP", "None"},
            {"publishNotReadyAddresses", true},
            {"selector", {{kLabelGang, GangName(launch)}}},
            {"ports", {{{"name", "master"}, {"port", o.master_port}}}}}}};
}

}  // namespace kumo::executor::kube
