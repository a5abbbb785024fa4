// Inventory files (YAML) and detection of this machine. See inventory.h for the format.
#include "executor/inventory.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "base/quantity.h"
#include "base/yaml_error.h"

namespace kumo::executor {
namespace {

constexpr size_t kMaxInventoryBytes = 4 << 20;
// Emulated nodes are bookkeeping only, but a typo like `count: 1000000000` should be an error,
// not an allocation failure.
constexpr int64_t kMaxNodes = 100000;
constexpr int64_t kMaxGpusPerNode = 1024;

Status FieldError(const YAML::Node& at, const std::string& path, const std::string& message) {
  return YamlError("", at.Mark(), path, message);
}

// A scalar's quantity by `parse` (base/quantity.h); nullopt for a non-scalar or a bad quantity.
std::optional<int64_t> ScalarQuantity(const YAML::Node& n,
                                      Result<int64_t> (*parse)(std::string_view)) {
  if (!n.IsScalar()) return std::nullopt;
  Result<int64_t> q = parse(n.Scalar());
  return q ? std::optional<int64_t>(*q) : std::nullopt;
}

std::string Quoted(const YAML::Node& n) {
  return n.IsScalar() ? "\"" + n.Scalar() + "\"" : std::string("a non-scalar");
}

// Iterates a map's fields in document order, rejecting unknown and repeated keys (yaml-cpp keeps
// both copies of a repeated key; the user meant only one of them).
template <typename Fn>
Status ForEachField(const YAML::Node& map, const std::string& path,
                    std::initializer_list<std::string_view> known, Fn&& fn) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    const std::string name = key.IsScalar() ? key.Scalar() : std::string();
    const std::string field = path.empty() ? name : path + "." + name;
    if (!key.IsScalar()) return FieldError(key, path, "field names must be strings");
    bool is_known = false;
    for (auto k : known) is_known = is_known || k == name;
    if (!is_known) return FieldError(key, field, "unknown field");
    if (!seen.insert(name).second) return FieldError(key, field, "field given twice");
    if (Status s = fn(name, it->second, field); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::string> ParseString(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar() || n.Scalar().empty())
    return Error(FieldError(n, path, "must be a non-empty string"));
  return n.Scalar();
}

Result<int64_t> ParseInt(const YAML::Node& n, const std::string& path, int64_t min, int64_t max) {
  int64_t v = 0;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty() && v >= min && v <= max)
      return v;
  }
  return Error(FieldError(n, path,
                          "must be a whole number from " + std::to_string(min) + " to " +
                              std::to_string(max) + " (got " + Quoted(n) + ")"));
}

Result<std::vector<std::string>> ParseStringList(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) return Error(FieldError(n, path, "must be a list of strings"));
  std::vector<std::string> out;
  for (size_t i = 0; i < n.size(); ++i) {
    auto s = ParseString(n[i], path + "[" + std::to_string(i) + "]");
    if (!s) return Error(s.error());
    out.push_back(*s);
  }
  return out;
}

// Node names end up in placements, logs and paths: keep them to a DNS-like alphabet.
bool ValidNodeName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// One `nodes[i]` entry: the fields of a node before `count` expands it.
struct NodeEntry {
  core::Node node;
  int64_t count = 0;  // 0: not given (one node, named as written)
  int64_t leaf_size = 0;
  std::optional<YAML::Node> leaf_size_at;  // for the error message
};

class InventoryParser {
 public:
  Result<Inventory> Parse(const YAML::Node& root) {
    if (!root.IsMap())
      return Error(YamlError(
          "", root.Mark(), "",
          "the inventory must be a map with a `nodes` list (and optional `topologyLevels`)"));
    std::optional<YAML::Node> nodes_field;
    Status s = ForEachField(
        root, "", {"topologyLevels", "nodes"},
        [&](const std::string& name, const YAML::Node& value, const std::string& path) -> Status {
          if (name == "nodes") {
            nodes_field = value;
            return Status::Ok();
          }
          return ParseLevels(value, path);
        });
    if (!s.ok()) return Error(s);
    // Levels first, whatever the order in the file: node topologies are checked against them.
    if (!nodes_field) return Error(YamlError("", root.Mark(), "nodes", "required field missing"));
    const YAML::Node nodes = *nodes_field;
    if (!nodes.IsSequence() || nodes.size() == 0)
      return Error(FieldError(nodes, "nodes", "must be a non-empty list of nodes"));
    std::set<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const std::string path = "nodes[" + std::to_string(i) + "]";
      auto entry = ParseEntry(nodes[i], path);
      if (!entry) return Error(entry.error());
      if (Status e = Expand(*entry, nodes[i], path, &names); !e.ok()) return Error(e);
    }
    return std::move(inv_);
  }

 private:
  Status ParseLevels(const YAML::Node& value, const std::string& path) {
    auto levels = ParseStringList(value, path);
    if (!levels) return levels.error();
    std::set<std::string> seen;
    for (const auto& l : *levels) {
      if (l == "node") return FieldError(value, path, "\"node\" is implicit (the innermost level)");
      if (!seen.insert(l).second) return FieldError(value, path, "level \"" + l + "\" given twice");
    }
    inv_.topology_levels = *levels;
    return Status::Ok();
  }

  Result<NodeEntry> ParseEntry(const YAML::Node& n, const std::string& path) {
    if (!n.IsMap()) return Error(FieldError(n, path, "must be a map"));
    NodeEntry e;
    bool has_cpu = false, has_memory = false;
    Status s = ForEachField(
        n, path,
        {"name", "count", "leafSize", "cpu", "memory", "gpus", "labels", "taints", "topology",
         "extended"},
        [&](const std::string& name, const YAML::Node& v, const std::string& field) -> Status {
          if (name == "name") {
            auto str = ParseString(v, field);
            if (!str) return str.error();
            if (!ValidNodeName(*str))
              return FieldError(
                  v, field,
                  "must use only letters, digits, '-', '.' and '_' (got " + Quoted(v) + ")");
            e.node.name = *str;
          } else if (name == "count") {
            auto c = ParseInt(v, field, 1, kMaxNodes);
            if (!c) return c.error();
            e.count = *c;
          } else if (name == "leafSize") {
            auto c = ParseInt(v, field, 1, kMaxNodes);
            if (!c) return c.error();
            e.leaf_size = *c;
            e.leaf_size_at = v;
          } else if (name == "cpu") {
            std::optional<int64_t> q = ScalarQuantity(v, ParseMilli);
            if (!q || *q <= 0)
              return FieldError(
                  v, field,
                  "must be a positive number of cores like 8, 0.5 or 500m (got " + Quoted(v) + ")");
            e.node.allocatable[core::kCpu] = *q;
            has_cpu = true;
          } else if (name == "memory") {
            std::optional<int64_t> q = ScalarQuantity(v, ParseBytes);
            if (!q || *q <= 0)
              return FieldError(
                  v, field, "must be a positive size like 32Gi or 512Mi (got " + Quoted(v) + ")");
            e.node.allocatable[core::kMemory] = *q;
            has_memory = true;
          } else if (name == "gpus") {
            return ParseGpus(v, field, &e.node);
          } else if (name == "labels") {
            return ParseLabels(v, field, &e.node);
          } else if (name == "taints") {
            return ParseTaints(v, field, &e.node);
          } else if (name == "topology") {
            return ParseTopology(v, field, &e.node);
          } else if (name == "extended") {
            return ParseExtended(v, field, &e.node);
          }
          return Status::Ok();
        });
    if (!s.ok()) return Error(s);
    if (e.node.name.empty()) return Error(FieldError(n, path + ".name", "required field missing"));
    if (!has_cpu) return Error(FieldError(n, path + ".cpu", "required field missing"));
    if (!has_memory) return Error(FieldError(n, path + ".memory", "required field missing"));
    if (e.leaf_size > 0 && e.node.topology.empty())
      return Error(FieldError(*e.leaf_size_at, path + ".leafSize",
                              "needs `topology` (its last entry names the leaves)"));
    if (!inv_.topology_levels.empty() && e.node.topology.empty())
      return Error(
          FieldError(n, path + ".topology", "required: the inventory declares topologyLevels"));
    return e;
  }

  Status ParseGpus(const YAML::Node& v, const std::string& path, core::Node* node) {
    if (!v.IsMap()) return FieldError(v, path, "must be a map like {count: 4, model: A100}");
    int64_t count = -1, groups = 1;
    std::string model = "fake-gpu";  // every node of an inventory file is emulated
    std::optional<YAML::Node> groups_node;
    Status s = ForEachField(
        v, path, {"count", "model", "nvlinkGroups"},
        [&](const std::string& name, const YAML::Node& f, const std::string& field) -> Status {
          if (name == "count") {
            auto c = ParseInt(f, field, 0, kMaxGpusPerNode);
            if (!c) return c.error();
            count = *c;
          } else if (name == "model") {
            auto m = ParseString(f, field);
            if (!m) return m.error();
            model = *m;
          } else {
            auto g = ParseInt(f, field, 1, kMaxGpusPerNode);
            if (!g) return g.error();
            groups = *g;
            groups_node = f;
          }
          return Status::Ok();
        });
    if (!s.ok()) return s;
    if (count < 0) return FieldError(v, path + ".count", "required field missing");
    if (count % groups != 0 || (count == 0 && groups > 1))
      return FieldError(groups_node.value_or(v), path + ".nvlinkGroups",
                        std::to_string(count) + " GPUs do not split into " +
                            std::to_string(groups) + " equal groups");
    const int64_t per_group = count / groups;
    for (int64_t i = 0; i < count; ++i)
      node->gpus.push_back(
          core::Gpu{static_cast<int32_t>(i), model, static_cast<int32_t>(i / per_group)});
    return Status::Ok();
  }

  Status ParseLabels(const YAML::Node& v, const std::string& path, core::Node* node) {
    if (!v.IsMap()) return FieldError(v, path, "must be a map of label names to values");
    std::set<std::string> seen;
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto key = ParseString(it->first, path);
      if (!key) return key.error();
      const std::string field = path + "." + *key;
      if (!seen.insert(*key).second) return FieldError(it->first, field, "label given twice");
      if (!it->second.IsScalar()) return FieldError(it->second, field, "must be a string");
      node->labels.push_back(core::Label{*key, it->second.Scalar()});
    }
    return Status::Ok();
  }

  Status ParseTaints(const YAML::Node& v, const std::string& path, core::Node* node) {
    if (!v.IsSequence()) return FieldError(v, path, "must be a list of {key, value, effect}");
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string tpath = path + "[" + std::to_string(i) + "]";
      const YAML::Node t = v[i];
      if (!t.IsMap()) return FieldError(t, tpath, "must be a map {key, value, effect}");
      core::Taint taint;
      Status s = ForEachField(
          t, tpath, {"key", "value", "effect"},
          [&](const std::string& name, const YAML::Node& f, const std::string& field) -> Status {
            if (name == "value") {
              if (!f.IsScalar()) return FieldError(f, field, "must be a string");
              taint.value = f.Scalar();
              return Status::Ok();
            }
            auto str = ParseString(f, field);
            if (!str) return str.error();
            if (name == "key") {
              taint.key = *str;
            } else if (*str == "NoSchedule") {
              taint.effect = core::TaintEffect::kNoSchedule;
            } else if (*str == "PreferNoSchedule") {
              taint.effect = core::TaintEffect::kPreferNoSchedule;
            } else if (*str == "NoExecute") {
              taint.effect = core::TaintEffect::kNoExecute;
            } else {
              return FieldError(
                  f, field,
                  "must be NoSchedule, PreferNoSchedule or NoExecute (got " + Quoted(f) + ")");
            }
            return Status::Ok();
          });
      if (!s.ok()) return s;
      if (taint.key.empty()) return FieldError(t, tpath + ".key", "required field missing");
      node->taints.push_back(taint);
    }
    return Status::Ok();
  }

  Status ParseTopology(const YAML::Node& v, const std::string& path, core::Node* node) {
    auto domains = ParseStringList(v, path);
    if (!domains) return domains.error();
    if (inv_.topology_levels.empty())
      return FieldError(v, path, "the inventory declares no topologyLevels");
    if (domains->size() != inv_.topology_levels.size())
      return FieldError(v, path,
                        "needs one domain per topology level (" +
                            std::to_string(inv_.topology_levels.size()) + "), got " +
                            std::to_string(domains->size()));
    node->topology = *domains;
    return Status::Ok();
  }

  Status ParseExtended(const YAML::Node& v, const std::string& path, core::Node* node) {
    if (!v.IsMap()) return FieldError(v, path, "must be a map of device names to counts");
    std::set<std::string> seen;
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto name = ParseString(it->first, path);
      if (!name) return name.error();
      const std::string field = path + "." + *name;
      if (*name == "cpu" || *name == "memory" || *name == "gpu" || *name == "gpus")
        return FieldError(it->first, field, "is a built-in resource, not an extended one");
      if (!seen.insert(*name).second) return FieldError(it->first, field, "given twice");
      auto units = ParseInt(it->second, field, 0, core::kUnlimited - 1);
      if (!units) return units.error();
      size_t slot = 0;
      while (slot < inv_.extended_resources.size() && inv_.extended_resources[slot] != *name)
        ++slot;
      if (slot == inv_.extended_resources.size()) {
        if (slot == static_cast<size_t>(core::kMaxExtendedResources))
          return FieldError(it->first, field,
                            "too many extended resources (at most " +
                                std::to_string(core::kMaxExtendedResources) + " names)");
        inv_.extended_resources.push_back(*name);
      }
      node->allocatable[core::kExtended0 + static_cast<int>(slot)] = *units;
    }
    return Status::Ok();
  }

  Status Expand(const NodeEntry& e, const YAML::Node& at, const std::string& path,
                std::set<std::string>* names) {
    const int64_t n = e.count > 0 ? e.count : 1;
    if (static_cast<int64_t>(inv_.nodes.size()) + n > kMaxNodes)
      return FieldError(at, path, "more than " + std::to_string(kMaxNodes) + " nodes in total");
    for (int64_t i = 0; i < n; ++i) {
      core::Node node = e.node;
      if (e.count > 0) node.name += "-" + std::to_string(i);
      if (e.leaf_size > 0) node.topology.back() += "-" + std::to_string(i / e.leaf_size);
      if (!names->insert(node.name).second)
        return FieldError(at, path + ".name", "duplicate node name \"" + node.name + "\"");
      inv_.nodes.push_back(std::move(node));
    }
    return Status::Ok();
  }

  Inventory inv_;
};

// The path of an executable `name` on this process's PATH, if any.
std::optional<std::string> FindOnPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

}  // namespace

Result<Inventory> ParseInventory(std::string_view yaml_text) {
  if (yaml_text.size() > kMaxInventoryBytes)
    return Error(Status::InvalidArgument("inventory larger than 4 MiB"));
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    return InventoryParser().Parse(root);
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError("", e));
  } catch (const std::exception& e) {
    return Error(Status(StatusCode::kInternal, std::string("inventory: ") + e.what()));
  }
}

Result<Inventory> LoadInventoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Status::NotFound("cannot read inventory file " + path));
  std::ostringstream text;
  text << in.rdbuf();
  auto inv = ParseInventory(text.str());
  if (!inv) return Error(InYamlFile(path, inv.error()));
  return inv;
}

Inventory DetectLocalMachine() {
  core::Node node;
  char host[256] = {};
  node.name = gethostname(host, sizeof host - 1) == 0 && host[0] != '\0' ? host : "localhost";
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  node.allocatable[core::kCpu] = (cpus > 0 ? cpus : 1) * 1000;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "MemTotal: %lld kB", &kib) == 1) {
      node.allocatable[core::kMemory] = static_cast<int64_t>(kib) * 1024;
      break;
    }
  }
  // No nvidia-smi: a machine without NVIDIA GPUs (or drivers), not an error.
  if (FindOnPath("nvidia-smi")) {
    FILE* p = popen("nvidia-smi --query-gpu=index,name --format=csv,noheader 2>/dev/null", "r");
    if (p != nullptr) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, p) != nullptr) {
        std::string line(buf);
        size_t comma = line.find(',');
        if (comma == std::string::npos) continue;
        int index = 0;
        std::string idx = Trim(line.substr(0, comma));
        auto [ptr, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), index);
        if (ec != std::errc() || ptr != idx.data() + idx.size()) continue;
        // nvlink_group 0 for all: nvidia-smi's CSV does not say; `nvidia-smi topo -m` would.
        node.gpus.push_back(core::Gpu{index, Trim(line.substr(comma + 1)), 0});
      }
      pclose(p);
    }
  }
  Inventory inv;
  inv.nodes.push_back(std::move(node));
  return inv;
}

}  // namespace kumo::executor
