#include "cache/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "base/yaml_error.h"
#include "cache/cache_command.h"

namespace kumo::cache {
namespace {

bool IsCount(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string ConfigKeyToFlag(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out += '-';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

// yaml-cpp reports malformed input by exception; they are caught here and never leave the
// loader (the config is read once at start, far from the request path).
Result<std::map<std::string, std::string>> ParseConfigFlags(const std::string& text,
                                                            const std::string& path,
                                                            const std::vector<ConfigFlag>& known) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(YamlSyntaxError(path, e));
  }
  std::map<std::string, std::string> out;
  if (root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap())
    return Error(YamlError(path, root.Mark(), "", "want a mapping of settings (key: value)"));
  for (const auto& kv : root) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    std::string key = k.IsScalar() ? k.Scalar() : "?";
    std::string flag = ConfigKeyToFlag(key);
    const ConfigFlag* spec = nullptr;
    for (const ConfigFlag& f : known)
      if (f.flag == flag) spec = &f;
    if (spec == nullptr) return Error(YamlError(path, k.Mark(), key, "unknown setting"));
    if (!v.IsScalar() || v.Scalar().empty())
      return Error(YamlError(path, k.Mark(), key, "want a single value"));
    const std::string& value = v.Scalar();
    switch (spec->kind) {
      case ConfigValueKind::kString:
        break;
      case ConfigValueKind::kSize:
        if (!ParseByteSize(value)) return Error(YamlError(path, k.Mark(), key, "not a size"));
        break;
      case ConfigValueKind::kCount:
        if (!IsCount(value)) return Error(YamlError(path, k.Mark(), key, "not a number"));
        break;
      case ConfigValueKind::kBool: {
        bool b = false;
        if (!YAML::convert<bool>::decode(v, b))
          return Error(YamlError(path, k.Mark(), key, "not true or false"));
        if (!b) continue;
        out[flag] = "true";
        continue;
      }
    }
    if (out.count(flag))
      return Error(YamlError(path, k.Mark(), key, "set twice (as " + flag + ")"));
    out[flag] = value;
  }
  return out;
}

Result<std::map<std::string, std::string>> LoadConfigFlags(const std::string& path,
                                                           const std::vector<ConfigFlag>& known) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(Status::NotFound("cannot read --config " + path));
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseConfigFlags(ss.str(), path, known);
}

}  // namespace kumo::cache
