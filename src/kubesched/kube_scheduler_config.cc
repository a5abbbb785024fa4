#include "kubesched/kube_scheduler_config.h"

#include <yaml-cpp/yaml.h>

#include "base/yaml_error.h"
#include "core/policy_config.h"
#include "server/policy_config_yaml.h"

namespace kumo::kubesched {
namespace {

using Fail = std::function<Status(const YAML::Node&, const std::string&, const std::string&)>;

// `quota: {guaranteedGpus: 8, maxGpus: 16}` (the same words as the server's project API).
Status LoadQuota(const YAML::Node& q, const std::string& field, const Fail& fail, core::Project* p) {
  if (!q.IsMap()) return fail(q, field, "expected a mapping {guaranteedGpus, maxGpus}");
  for (auto f = q.begin(); f != q.end(); ++f) {
    std::string k = f->first.as<std::string>();
    const YAML::Node v = q[k];
    double gpus = v.as<double>();
    if (gpus < 0) return fail(v, field + "." + k, "must be >= 0");
    if (k == "guaranteedGpus") p->guaranteed[core::kGpu] = static_cast<int64_t>(gpus * core::kMilliPerGpu);
    else if (k == "maxGpus") p->max[core::kGpu] = static_cast<int64_t>(gpus * core::kMilliPerGpu);
    else return fail(f->first, field + "." + k, "unknown field (known: guaranteedGpus, maxGpus)");
  }
  if (p->guaranteed[core::kGpu] > p->max[core::kGpu])
    return fail(q, field + ".guaranteedGpus", "larger than maxGpus");
  return Status::Ok();
}

Status LoadProjects(const YAML::Node& list, const Fail& fail, std::vector<core::Project>* out) {
  if (!list.IsSequence()) return fail(list, "projects", "expected a list");
  out->clear();
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    std::string at = "projects[" + std::to_string(i) + "]";
    if (!item.IsMap()) return fail(item, at, "expected a mapping {namespace, weight, quota}");
    core::Project p;
    for (auto f = item.begin(); f != item.end(); ++f) {
      std::string k = f->first.as<std::string>();
      const YAML::Node v = item[k];
      if (k == "name" || k == "namespace") {
        p.name = v.as<std::string>();
      } else if (k == "weight") {
        p.weight = v.as<double>();
        if (!(p.weight > 0)) return fail(v, at + ".weight", "must be > 0");
      } else if (k == "quota") {
        if (Status s = LoadQuota(v, at + ".quota", fail, &p); !s.ok()) return s;
      } else {
        return fail(f->first, at + "." + k, "unknown field (known: namespace, weight, quota)");
      }
    }
    if (p.name.empty()) return fail(item, at + ".namespace", "required");
    for (const core::Project& other : *out)
      if (other.name == p.name) return fail(item, at + ".namespace", "\"" + p.name + "\" given twice");
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

// The `policy:` section of `kumo server --config` and `kumo sim --config`, read by the same
// reader (server/policy_config_yaml.h), of which this mode uses the scheduler's part: order,
// placement, backfill, preemption, ageing. The parts that need a job's attained service or run
// history (las, minRuntime, history, estimates) are refused rather than ignored: a pod kumo did
// not create has neither. `preemption: true` means priority and reclaim; a defragmenting move
// would delete a pod its owner may never recreate, so naming it is an error.
Status LoadPolicy(const std::string& path, const YAML::Node& v, const Fail& fail,
                  core::SchedulerConfig* out) {
  if (!v.IsMap()) return fail(v, "policy", "expected a mapping");
  for (const char* key : {"las", "minRuntime", "history", "estimates"})
    if (v[key]) return fail(v[key], std::string("policy.") + key, "not used by kumo kube-scheduler");
  core::PolicyConfig policy;
  policy.scheduler = *out;
  if (Status s = server::ReadPolicyConfig(path, v, &policy); !s.ok()) return s;
  const YAML::Node p = v["preemption"];
  if (p && p.IsScalar() && policy.scheduler.preemption)
    policy.scheduler.preemption = KubeSchedulerConfig::DefaultSchedulerConfig().preemption;
  for (const std::string& name : policy.scheduler.preemption.names)
    if (name == "defragment" || name == "fill")
      return fail(p, "policy.preemption",
                  name + " is not available: it stops a pod to start it again, which deletes it");
  *out = policy.scheduler;
  return Status::Ok();
}

Status LoadField(const std::string& path, const std::string& key, const YAML::Node& v,
                 const Fail& fail, KubeSchedulerConfig* c) {
  if (key == "projects") return LoadProjects(v, fail, &c->view.projects);
  if (key == "policy") return LoadPolicy(path, v, fail, &c->scheduler);
  if (key == "gpuResource") c->view.cluster.gpu_resource = v.as<std::string>();
  else if (key == "gpuModelLabel") c->view.cluster.gpu_model_label = v.as<std::string>();
  else if (key == "extendedResources") c->view.cluster.extended_resources = v.as<std::vector<std::string>>();
  else if (key == "bindWorkers") {
    c->bind_workers = v.as<int32_t>();
    if (c->bind_workers < 1 || c->bind_workers > 64) return fail(v, key, "must be in [1, 64]");
  } else {
    return fail(v, key, "unknown field");
  }
  return Status::Ok();
}

}  // namespace

Result<KubeSchedulerConfig> LoadKubeSchedulerConfig(const std::string& path, KubeSchedulerConfig base) {
  auto loaded = LoadYamlFile(path);
  if (!loaded) return Error(loaded.error());
  YAML::Node root = *loaded;
  Fail fail = [&](const YAML::Node& n, const std::string& field, const std::string& message) {
    return YamlError(path, n.Mark(), field, message);
  };
  if (root.IsNull()) return base;
  if (!root.IsMap()) return Error(fail(root, "", "expected a mapping"));
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      if (Status s = LoadField(path, key, root[key], fail, &base); !s.ok()) return Error(s);
    }
  } catch (const YAML::Exception& e) {
    return Error(YamlError(path, e.mark, "", e.msg));  // a value of the wrong type
  }
  if (base.view.cluster.extended_resources.size() > core::kMaxExtendedResources)
    return Error(Status::InvalidArgument(path + ": extendedResources: at most " +
                                         std::to_string(core::kMaxExtendedResources)));
  return base;
}

}  // namespace kumo::kubesched
