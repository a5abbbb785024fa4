#include "server/estimates_config.h"

#include "base/quantity.h"
#include "base/yaml_error.h"

namespace kumo::server {
namespace {

// A duration such as "90", "30m" or "1h30m", > 0.
Result<core::Seconds> Duration(const std::string& path, const YAML::Node& v,
                               const std::string& field) {
  auto s = ParseDurationSeconds(v.as<std::string>());
  if (!s || *s <= 0)
    return Error(YamlError(path, v.Mark(), field, "a duration > 0, e.g. 90, 30m, 1h"));
  return *s;
}

}  // namespace

Status LoadEstimatesConfig(const std::string& path, const YAML::Node& v, const std::string& field,
                           core::RuntimeEstimateConfig* out) {
  if (!v.IsMap()) return YamlError(path, v.Mark(), field, "expected a mapping");
  core::RuntimeEstimateConfig c = *out;
  try {
    for (auto f = v.begin(); f != v.end(); ++f) {
      const std::string k = f->first.as<std::string>();
      const YAML::Node value = v[k];  // by key: the iterator's pair is a temporary proxy
      const std::string at = field + "." + k;
      if (k == "enabled") {
        c.enabled = value.as<bool>();
      } else if (k == "quantile") {
        c.quantile = value.as<double>();
        if (!(c.quantile > 0 && c.quantile <= 1))
          return YamlError(path, value.Mark(), at, "must be in (0, 1]");
      } else if (k == "window" || k == "minSamples") {
        const int32_t n = value.as<int32_t>();
        if (n < 1 || n > 1000) return YamlError(path, value.Mark(), at, "must be in 1..1000");
        (k == "window" ? c.window : c.min_samples) = n;
      } else if (k == "classDefaults") {
        if (!value.IsMap()) return YamlError(path, value.Mark(), at, "expected {class: duration}");
        c.class_default.clear();
        for (auto d = value.begin(); d != value.end(); ++d) {
          const std::string cls = d->first.as<std::string>();
          auto s = Duration(path, value[cls], at + "." + cls);
          if (!s) return s.error();
          c.class_default[cls] = *s;
        }
      } else {
        return YamlError(path, f->first.Mark(), at, "unknown field");
      }
    }
  } catch (const YAML::Exception& e) {
    return YamlError(path, e.mark, field, "wrong type: " + e.msg);
  }
  if (c.min_samples > c.window)
    return YamlError(path, v.Mark(), field + ".minSamples", "must not exceed window");
  *out = std::move(c);
  return Status::Ok();
}

Status LoadAgeingConfig(const std::string& path, const YAML::Node& v, const std::string& field,
                        core::Seconds* age_after_s) {
  if (!v.IsMap()) return YamlError(path, v.Mark(), field, "expected a mapping");
  core::Seconds after = *age_after_s;
  try {
    for (auto f = v.begin(); f != v.end(); ++f) {
      const std::string k = f->first.as<std::string>();
      const YAML::Node value = v[k];
      if (k != "after") return YamlError(path, f->first.Mark(), field + "." + k, "unknown field");
      if (value.as<std::string>() == "off") {
        after = core::kNever;
        continue;
      }
      auto s = Duration(path, value, field + ".after");
      if (!s) return s.error();
      after = *s;
    }
  } catch (const YAML::Exception& e) {
    return YamlError(path, e.mark, field, "wrong type: " + e.msg);
  }
  *age_after_s = after;
  return Status::Ok();
}

}  // namespace kumo::server
