#include "cache/serve_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "base/quantity.h"
#include "base/yaml_error.h"

namespace kumo::cache {
bool IsCount(std::string_view text) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  // The Kubernetes grammar of base/quantity.h, plus the cache's spellings from before it: "50GiB",
  // "64KiB", "1B" keep their value, and a bare K M G T now means powers of 1000 (it meant powers
  // of 1024). Both warn, once per spelling: a config file is checked, then read again. (Sizes
  // are parsed at start-up, before any thread, so the set needs no lock.)
  static std::set<std::string, std::less<>> warned;
  std::string_view number = text.substr(0, text.find_first_not_of("0123456789."));
  std::string_view unit = text.substr(number.size());
  bool old_binary = unit == "B" || unit == "KiB" || unit == "MiB" || unit == "GiB" || unit == "TiB";
  bool now_decimal = unit == "K" || unit == "M" || unit == "G" || unit == "T";
  std::string kubernetes(text);
  if (old_binary) kubernetes.pop_back();
  if (unit == "K") kubernetes.back() = 'k';
  Result<int64_t> bytes = ParseBytes(kubernetes);
  if (!bytes) return std::nullopt;
  std::string warning;
  if (old_binary) warning = "is deprecated: write " + kubernetes + " (the same size)";
  if (now_decimal) {
    warning = "now means " + std::to_string(*bytes) +
              " bytes (powers of 1000, as in Kubernetes); write " + std::string(number) +
              unit.front() + "i for the size it meant before";
  }
  if (!warning.empty() && warned.insert(std::string(text)).second) {
    std::fprintf(stderr, "kumo cache: size \"%s\" %s\n", std::string(text).c_str(),
                 warning.c_str());
  }
  return static_cast<uint64_t>(*bytes);
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
