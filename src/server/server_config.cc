#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "base/quantity.h"
#include "base/yaml_error.h"
#include "server/policy_config_yaml.h"

namespace kumo::server {
namespace fs = std::filesystem;
namespace {

// `isolation: {enabled: true, users: {alice: alice}, uidRange: 200000-265535}`.
Status LoadIsolation(const std::string& path, const YAML::Node& v,
                     executor::IsolationConfig* out) {
  if (!v.IsMap()) return YamlError(path, v.Mark(), "isolation", "expected a mapping");
  for (auto f = v.begin(); f != v.end(); ++f) {
    std::string k = f->first.as<std::string>();
    const YAML::Node value = v[k];  // by key: GCC 12 misreads the iterator's proxy pair
    if (k == "enabled") {
      out->enabled = value.as<bool>();
    } else if (k == "uidRange") {
      if (Status s = executor::ParseUidRange(value.as<std::string>(), out); !s.ok())
        return YamlError(path, value.Mark(), "isolation.uidRange", s.message());
    } else if (k == "users") {
      if (!value.IsMap()) return YamlError(path, value.Mark(), "isolation.users", "expected a mapping");
      for (auto u = value.begin(); u != value.end(); ++u) {
        std::string user = u->first.as<std::string>();
        out->users[user] = value[user].as<std::string>();
      }
    } else {
      return YamlError(path, f->first.Mark(), "isolation." + k, "unknown field");
    }
  }
  return Status::Ok();
}

}  // namespace

std::optional<ExecutorKind> ParseExecutorKind(std::string_view name) {
  if (name == "local") return ExecutorKind::kLocal;
  if (name == "kubernetes") return ExecutorKind::kKubernetes;
  return std::nullopt;
}

Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base) {
  auto loaded = LoadYamlFile(path);
  if (!loaded) return Error(loaded.error());
  YAML::Node root = *loaded;
  if (!root.IsMap()) return Error(YamlError(path, root.Mark(), "", "expected a mapping"));
  auto fail = [&](const YAML::Node& n, const std::string& field, const std::string& message) {
    return Error(YamlError(path, n.Mark(), field, message));
  };
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      const YAML::Node v = it->second;  // a copy: `it->` is a temporary proxy
      if (key == "inventory") {
        base.inventory_file = v.as<std::string>();
        if (!base.inventory_file.empty() && base.inventory_file[0] != '/')
          base.inventory_file = (fs::path(path).parent_path() / base.inventory_file).string();
      } else if (key == "policy") {
        if (Status st = ReadPolicyConfig(path, v, &base.policy); !st.ok()) return Error(st);
      } else if (key == "cacheServers") {
        if (!v.IsSequence()) return fail(v, key, "expected a list of HOST:PORT");
        base.cache_servers = v.as<std::vector<std::string>>();
      } else if (key == "snapshotMaxBytes") {
        auto bytes = ParseBytes(v.as<std::string>());
        if (!bytes || *bytes <= 0) return fail(v, key, "a size > 0, e.g. 64Mi");
        base.snapshot_max_bytes = *bytes;
      } else if (key == "snapshotCollectIntervalSeconds") {
        base.snapshot_collect_interval_s = v.as<double>();
        if (base.snapshot_collect_interval_s < 1) return fail(v, key, "must be >= 1");
      } else if (key == "snapshotGraceSeconds") {
        base.snapshot_grace_s = v.as<double>();
        if (base.snapshot_grace_s < 60) return fail(v, key, "must be >= 60");
      } else if (key == "nodeStoreMaxBytes") {
        auto bytes = ParseBytes(v.as<std::string>());
        if (!bytes || *bytes < 0) return fail(v, key, "a size >= 0, e.g. 500Gi (0: no cap)");
        base.node_store_max_bytes = *bytes;
      } else if (key == "waitForNodes") {
        base.wait_for_nodes = v.as<bool>();
      } else if (key == "cgroups") {
        base.use_cgroups = v.as<bool>();
      } else if (key == "isolation") {
        if (Status st = LoadIsolation(path, v, &base.isolation); !st.ok()) return Error(st);
      } else if (key == "executor") {
        auto kind = ParseExecutorKind(v.as<std::string>());
        if (!kind) return fail(v, key, "must be local or kubernetes");
        base.executor = *kind;
      } else if (key == "kubernetes") {
        if (Status s = executor::kube::ParseKubernetesConfig(v, path, &base.kubernetes); !s.ok())
          return Error(s);
      } else if (key == "tickSeconds") {
        base.tick_s = v.as<double>();
        if (base.tick_s <= 0 || base.tick_s > 60) return fail(v, key, "must be in (0, 60]");
      } else if (key == "metricsTokenFile") {
        base.metrics_token_file = v.as<std::string>();
        std::string& file = base.metrics_token_file;
        if (!file.empty() && file[0] != '/') file = (fs::path(path).parent_path() / file).string();
      } else if (key == "metricsPublic") {
        base.metrics_public = v.as<bool>();
      } else if (key == "historyIntervalSeconds") {
        base.history_interval_s = v.as<double>();
        if (base.history_interval_s < 1) return fail(v, key, "must be >= 1");
      } else if (key == "historyRetentionDays") {
        base.history_retention_s = v.as<double>() * 86400;
        if (base.history_retention_s <= 0) return fail(v, key, "must be > 0");
      } else if (key == "priorityClasses") {
        if (!v.IsSequence()) return fail(v, key, "expected a list");
        base.priority_classes.clear();
        for (size_t i = 0; i < v.size(); ++i) {
          PriorityClass pc;
          for (auto f = v[i].begin(); f != v[i].end(); ++f) {
            std::string k = f->first.as<std::string>();
            if (k == "name")
              pc.name = f->second.as<std::string>();
            else if (k == "value")
              pc.value = f->second.as<int32_t>();
            else if (k == "preemptible")
              pc.preemptible = f->second.as<bool>();
            else if (k == "adminOnly")
              pc.admin_only = f->second.as<bool>();
            else
              return fail(f->first, key + "[" + std::to_string(i) + "]." + k, "unknown field");
          }
          if (pc.name.empty())
            return fail(v[i], key + "[" + std::to_string(i) + "].name", "required");
          base.priority_classes.push_back(pc);
        }
      } else {
        return fail(it->first, key, "unknown field");
      }
    }
  } catch (const YAML::Exception& e) {
    // A value of the wrong type (`tickSeconds: soon`): the YAML itself was fine.
    return Error(YamlError(path, e.mark, "", e.msg));
  }
  return base;
}

}  // namespace kumo::server
