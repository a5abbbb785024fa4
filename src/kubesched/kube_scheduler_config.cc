#include "kubesched/kube_scheduler_config.h"

#include <yaml-cpp/yaml.h>

#include "base/yaml_error.h"

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

Status LoadField(const std::string& key, const YAML::Node& v, const Fail& fail,
                 KubeSchedulerConfig* c) {
  if (key == "projects") return LoadProjects(v, fail, &c->view.projects);
  if (key == "placement") c->scheduler.placement = v.as<std::string>();
  else if (key == "queueOrder") c->scheduler.queue_order = v.as<std::string>();
  else if (key == "backfill") {
    auto m = core::ParseBackfillMode(v.as<std::string>());
    if (!m) return fail(v, key, m.error().message());
    c->scheduler.backfill = *m;
  } else if (key == "preemption") {
    c->scheduler.preemption = v.as<bool>() ? KubeSchedulerConfig::DefaultSchedulerConfig().preemption
                                           : core::PreemptionPolicyNames(false);
  } else if (key == "gpuResource") c->view.cluster.gpu_resource = v.as<std::string>();
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
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile& e) {
    return Error(Status::InvalidArgument(path + ": " + e.what()));
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError(path, e));
  }
  Fail fail = [&](const YAML::Node& n, const std::string& field, const std::string& message) {
    return YamlError(path, n.Mark(), field, message);
  };
  if (root.IsNull()) return base;
  if (!root.IsMap()) return Error(fail(root, "", "expected a mapping"));
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      if (Status s = LoadField(key, root[key], fail, &base); !s.ok()) return Error(s);
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
