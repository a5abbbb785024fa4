#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "base/yaml_error.h"

namespace kumo::server {
namespace fs = std::filesystem;

Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile& e) {
    return Error(Status::InvalidArgument(path + ": " + e.what()));
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError(path, e));
  }
  if (!root.IsMap()) return Error(YamlError(path, root.Mark(), "", "expected a mapping"));
  auto fail = [&](const YAML::Node& n, const std::string& field, const std::string& message) {
    return Error(YamlError(path, n.Mark(), field, message));
  };
  try {
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      const YAML::Node& v = it->second;
      if (key == "inventory") {
        base.inventory_file = v.as<std::string>();
        if (!base.inventory_file.empty() && base.inventory_file[0] != '/')
          base.inventory_file = (fs::path(path).parent_path() / base.inventory_file).string();
      } else if (key == "placement") {
        base.scheduler.placement = v.as<std::string>();
      } else if (key == "queueOrder") {
        base.scheduler.queue_order = v.as<std::string>();
      } else if (key == "backfill") {
        auto m = core::ParseBackfillMode(v.as<std::string>());
        if (!m) return fail(v, key, m.error().message());
        base.scheduler.backfill = *m;
      } else if (key == "preemption") {
        base.scheduler.preemption = v.as<bool>();
      } else if (key == "waitForNodes") {
        base.wait_for_nodes = v.as<bool>();
      } else if (key == "cgroups") {
        base.use_cgroups = v.as<bool>();
      } else if (key == "tickSeconds") {
        base.tick_s = v.as<double>();
        if (base.tick_s <= 0 || base.tick_s > 60) return fail(v, key, "must be in (0, 60]");
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
