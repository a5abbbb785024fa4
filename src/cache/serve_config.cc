#include "cache/serve_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace kumo::cache {
namespace {

Status LineError(const std::string& path, const YAML::Mark& mark, const std::string& what) {
  return Status::InvalidArgument(path + " line " + std::to_string(mark.line + 1) + ": " + what);
}

bool IsCount(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  if (unit == "K" || unit == "KiB") shift = 10;
  if (unit == "M" || unit == "MiB") shift = 20;
  if (unit == "G" || unit == "GiB") shift = 30;
  if (unit == "T" || unit == "TiB") shift = 40;
  if (shift < 0) return std::nullopt;
  if (shift > 0 && v > (UINT64_MAX >> shift)) return std::nullopt;
  return v << shift;
}

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
    return Error(LineError(path, e.mark, "not YAML: " + e.msg));
  }
  std::map<std::string, std::string> out;
  if (root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap())
    return Error(LineError(path, root.Mark(), "want a mapping of settings (key: value)"));
  for (const auto& kv : root) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    std::string key = k.IsScalar() ? k.Scalar() : "?";
    std::string flag = ConfigKeyToFlag(key);
    const ConfigFlag* spec = nullptr;
    for (const ConfigFlag& f : known)
      if (f.flag == flag) spec = &f;
    if (spec == nullptr) return Error(LineError(path, k.Mark(), key + ": unknown setting"));
    if (!v.IsScalar() || v.Scalar().empty())
      return Error(LineError(path, k.Mark(), key + ": want a single value"));
    const std::string& value = v.Scalar();
    switch (spec->kind) {
      case ConfigValueKind::kString:
        break;
      case ConfigValueKind::kSize:
        if (!ParseByteSize(value)) return Error(LineError(path, k.Mark(), key + ": not a size"));
        break;
      case ConfigValueKind::kCount:
        if (!IsCount(value)) return Error(LineError(path, k.Mark(), key + ": not a number"));
        break;
      case ConfigValueKind::kBool: {
        bool b = false;
        if (!YAML::convert<bool>::decode(v, b))
          return Error(LineError(path, k.Mark(), key + ": not true or false"));
        if (!b) continue;
        out[flag] = "true";
        continue;
      }
    }
    if (out.count(flag))
      return Error(LineError(path, k.Mark(), key + ": set twice (as " + flag + ")"));
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
