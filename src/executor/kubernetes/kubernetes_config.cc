#include "executor/kubernetes/kubernetes_config.h"

#include <filesystem>

#include "base/yaml_error.h"

namespace kumo::executor::kube {

namespace {

Status Topology(const YAML::Node& v, const std::string& file, KubernetesConfig* c) {
  const std::string field = "kubernetes.topology";
  if (!v.IsSequence()) return YamlError(file, v.Mark(), field, "expected a list");
  c->topology_levels.clear();
  c->cluster.topology_labels.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    std::string at = field + "[" + std::to_string(i) + "]";
    for (const char* key : {"level", "label"})
      if (!v[i][key] || v[i][key].as<std::string>().empty())
        return YamlError(file, v[i].Mark(), at + "." + key, "required");
    for (auto f = v[i].begin(); f != v[i].end(); ++f) {
      std::string k = f->first.as<std::string>();
      if (k != "level" && k != "label")
        return YamlError(file, f->first.Mark(), at + "." + k, "unknown field");
    }
    c->topology_levels.push_back(v[i]["level"].as<std::string>());
    c->cluster.topology_labels.push_back(v[i]["label"].as<std::string>());
  }
  return Status::Ok();
}

Status NodeSelector(const YAML::Node& v, const std::string& file, KubernetesConfig* c) {
  const std::string field = "kubernetes.nodeSelector";
  if (!v.IsMap()) return YamlError(file, v.Mark(), field, "expected a mapping of labels");
  c->node_selector.clear();
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string key = it->first.as<std::string>();
    if (key.empty()) return YamlError(file, it->first.Mark(), field, "a label key is empty");
    if (!it->second.IsScalar())
      return YamlError(file, it->second.Mark(), field + "." + key, "expected a label value");
    c->node_selector[key] = it->second.as<std::string>();
  }
  return Status::Ok();
}

}  // namespace

Result<std::map<std::string, std::string>> ParseNodeSelector(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view pair = text.substr(0, comma);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Error(Status::InvalidArgument("node selector \"" + std::string(pair) +
                                           "\": expected key=value"));
    out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

Status ParseKubernetesConfig(const YAML::Node& section, const std::string& file,
                             KubernetesConfig* c) {
  if (!section.IsMap()) return YamlError(file, section.Mark(), "kubernetes", "expected a mapping");
  for (auto it = section.begin(); it != section.end(); ++it) {
    std::string key = it->first.as<std::string>();
    const YAML::Node v = it->second;  // a copy: `it->` is a temporary proxy
    const std::string field = "kubernetes." + key;
    if (key == "kubeconfig") {
      c->kubeconfig = v.as<std::string>();
      if (!c->kubeconfig.empty() && c->kubeconfig[0] != '/')  // relative to the config file
        c->kubeconfig = (std::filesystem::path(file).parent_path() / c->kubeconfig).string();
    } else if (key == "namespace") {
      c->pods.namespace_name = v.as<std::string>();
    } else if (key == "schedulerName") {
      c->pods.scheduler_name = v.as<std::string>();
    } else if (key == "dataClaim") {
      c->pods.data_claim = v.as<std::string>();
    } else if (key == "dataMount") {
      c->pods.data_mount = v.as<std::string>();
      if (c->pods.data_mount.empty() || c->pods.data_mount[0] != '/')
        return YamlError(file, v.Mark(), field, "must be an absolute path");
    } else if (key == "masterPort") {
      c->pods.master_port = v.as<int>();
      if (c->pods.master_port < 1 || c->pods.master_port > 65535)
        return YamlError(file, v.Mark(), field, "must be in 1..65535");
    } else if (key == "gpuResource") {
      c->cluster.gpu_resource = c->pods.gpu_resource = v.as<std::string>();
    } else if (key == "gpuModelLabel") {
      c->cluster.gpu_model_label = v.as<std::string>();
    } else if (key == "topology") {
      if (Status s = Topology(v, file, c); !s.ok()) return s;
    } else if (key == "nodeSelector") {
      if (Status s = NodeSelector(v, file, c); !s.ok()) return s;
    } else if (key == "extendedResources") {
      c->cluster.extended_resources = v.as<std::vector<std::string>>();
    } else if (key == "notReadyGraceSeconds") {
      c->not_ready_grace_s = v.as<double>();
      if (c->not_ready_grace_s < 0) return YamlError(file, v.Mark(), field, "must be >= 0");
    } else if (key == "endedPodTtlSeconds") {
      c->ended_pod_ttl_s = v.as<double>();
      if (c->ended_pod_ttl_s < 0) return YamlError(file, v.Mark(), field, "must be >= 0");
    } else {
      return YamlError(file, it->first.Mark(), field, "unknown field");
    }
  }
  return Status::Ok();
}

}  // namespace kumo::executor::kube
