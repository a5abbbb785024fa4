#include "server/policy_config_yaml.h"

#include <functional>
#include <map>
#include <vector>

#include "base/yaml_error.h"
#include "core/placement_policy.h"
#include "core/queue_order.h"
#include "server/estimates_config.h"
#include "server/server_config.h"

namespace kumo::server {
namespace {

// One field's reader: the value's node and its path ("policy.las.enabled") for errors.
using FieldReader = std::function<Status(const YAML::Node&, const std::string&)>;

// Reads a mapping whose keys are the readers' names; any other key is an error.
Status ReadFields(const std::string& file, const YAML::Node& node, const std::string& path,
                  const std::map<std::string, FieldReader>& fields) {
  if (!node.IsMap()) return YamlError(file, node.Mark(), path, "expected a mapping");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.as<std::string>();
    const YAML::Node value = it->second;  // a copy: `it->` is a temporary proxy
    auto reader = fields.find(key);
    if (reader == fields.end())
      return YamlError(file, it->first.Mark(), path + "." + key, "unknown field");
    try {
      if (Status st = reader->second(value, path + "." + key); !st.ok()) return st;
    } catch (const YAML::Exception& e) {  // a value of the wrong type
      return YamlError(file, value.Mark(), path + "." + key, e.msg);
    }
  }
  return Status::Ok();
}

// A number `check` accepts (it returns "" or what is wrong) into *out.
template <typename T>
FieldReader Number(const std::string& file, T* out, std::string (*check)(double)) {
  return [=](const YAML::Node& v, const std::string& path) {
    const double x = v.as<double>();
    if (std::string bad = check(x); !bad.empty()) return YamlError(file, v.Mark(), path, bad);
    *out = static_cast<T>(v.as<T>());
    return Status::Ok();
  };
}

std::string NonNegative(double x) { return x >= 0 ? "" : "must be >= 0"; }
std::string AtLeastOne(double x) { return x >= 1 ? "" : "must be >= 1"; }
std::string OffOrQuantile(double x) { return x >= 0 && x < 1 ? "" : "must be in [0, 1) (0: off)"; }
std::string AboveOne(double x) { return x > 1 ? "" : "must be > 1"; }

FieldReader Bool(bool* out) {
  return [=](const YAML::Node& v, const std::string&) {
    *out = v.as<bool>();
    return Status::Ok();
  };
}

// A policy name that `make` knows.
template <typename Make>
FieldReader Name(const std::string& file, std::string* out, Make make) {
  return [=](const YAML::Node& v, const std::string& path) {
    const std::string name = v.as<std::string>();
    if (auto made = make(name); !made) return YamlError(file, v.Mark(), path, made.error().message());
    *out = name;
    return Status::Ok();
  };
}

// `true` (every preemption policy), `false` (none) or a list of names.
Status ReadPreemption(const std::string& file, const YAML::Node& v, const std::string& path,
                      core::PreemptionPolicyNames* out) {
  if (v.IsScalar()) {
    *out = v.as<bool>();
    return Status::Ok();
  }
  if (!v.IsSequence()) return YamlError(file, v.Mark(), path, "expected true, false or a list");
  auto names = v.as<std::vector<std::string>>();
  if (auto made = core::MakePreemptionPolicies(names); !made)
    return YamlError(file, v.Mark(), path, made.error().message());
  out->names = std::move(names);
  return Status::Ok();
}

// Strictly increasing quantiles in (0, 1), at most 8 (priorities multiply by their count + 1).
Status ReadQuantiles(const std::string& file, const YAML::Node& v, const std::string& path,
                     std::vector<double>* out) {
  if (!v.IsSequence()) return YamlError(file, v.Mark(), path, "expected a list of quantiles");
  auto q = v.as<std::vector<double>>();
  if (q.size() > 8) return YamlError(file, v.Mark(), path, "at most 8 quantiles");
  for (size_t i = 0; i < q.size(); ++i)
    if (!(q[i] > 0 && q[i] < 1) || (i > 0 && q[i] <= q[i - 1]))
      return YamlError(file, v[i].Mark(), path + "[" + std::to_string(i) + "]",
                       "quantiles must increase strictly within (0, 1)");
  *out = std::move(q);
  return Status::Ok();
}

Status ReadLas(const std::string& file, const YAML::Node& node, const std::string& path,
               core::LasConfig* las) {
  return ReadFields(
      file, node, path,
      {{"enabled", Bool(&las->enabled)},
       {"thresholdQuantiles",
        [&](const YAML::Node& v, const std::string& p) {
          return ReadQuantiles(file, v, p, &las->threshold_quantiles);
        }},
       {"starveFactor", Number(file, &las->starve_factor, NonNegative)},
       {"starveRunQuantile", Number(file, &las->starve_run_quantile, OffOrQuantile)},
       {"victimWindowSeconds", Number(file, &las->victim_window_s, NonNegative)},
       {"protectAfterRequeues", Number(file, &las->protect_after_requeues, NonNegative)},
       {"predictedRemaining", Bool(&las->predicted_remaining)},
       {"classBase", Number(file, &las->class_base, AboveOne)},
       {"guardQuantile", Number(file, &las->guard_quantile, OffOrQuantile)}});
}

Status ReadMinRuntime(const std::string& file, const YAML::Node& node, const std::string& path,
                      core::MinRuntimeConfig* m) {
  Status st = ReadFields(file, node, path,
                         {{"fractionOfMedian", Number(file, &m->fraction_of_median, NonNegative)},
                          {"floorSeconds", Number(file, &m->floor_s, NonNegative)},
                          {"maxSeconds", Number(file, &m->max_s, NonNegative)}});
  if (st.ok() && m->max_s < m->floor_s)
    return YamlError(file, node.Mark(), path + ".maxSeconds", "must be >= floorSeconds");
  return st;
}

Status ReadHistory(const std::string& file, const YAML::Node& node, const std::string& path,
                   core::ServiceHistoryConfig* h) {
  return ReadFields(file, node, path,
                    {{"windowJobs", Number(file, &h->window_jobs, AtLeastOne)},
                     {"arrivalWindowJobs", Number(file, &h->arrival_window_jobs, AtLeastOne)},
                     {"minJobs", Number(file, &h->min_jobs, AtLeastOne)}});
}

Status ReadPreemptForGain(const std::string& file, const YAML::Node& node, const std::string& path,
                          core::PreemptionGainConfig* g) {
  return ReadFields(file, node, path,
                    {{"enabled", Bool(&g->enabled)},
                     {"restartSeconds", Number(file, &g->restart_cost_s, NonNegative)}});
}

}  // namespace

Status ReadPolicyConfig(const std::string& file, const YAML::Node& node, core::PolicyConfig* out) {
  core::SchedulerConfig& s = out->scheduler;
  const auto sub = [&](auto read, auto* part) -> FieldReader {
    return [=, &file](const YAML::Node& v, const std::string& p) { return read(file, v, p, part); };
  };
  return ReadFields(
      file, node, "policy",
      {{"queueOrder", Name(file, &s.queue_order, core::MakeQueueOrder)},
       {"placement", Name(file, &s.placement, core::MakePlacementPolicy)},
       {"backfill",
        [&](const YAML::Node& v, const std::string& p) {
          auto m = core::ParseBackfillMode(v.as<std::string>());
          if (!m) return YamlError(file, v.Mark(), p, m.error().message());
          s.backfill = *m;
          return Status::Ok();
        }},
       {"backfillDepth", Number(file, &s.backfill_depth, NonNegative)},
       {"preemption", sub(ReadPreemption, &s.preemption)},
       {"preemptForGain", sub(ReadPreemptForGain, &s.preempt_for_gain)},
       {"fillHorizonSeconds", Number(file, &s.fill_horizon_s, NonNegative)},
       {"las", sub(ReadLas, &out->las)},
       {"minRuntime", sub(ReadMinRuntime, &out->min_runtime)},
       {"history", sub(ReadHistory, &out->history)},
       {"estimates", sub(LoadEstimatesConfig, &out->estimates)},
       {"ageing", sub(LoadAgeingConfig, &s.age_after_s)},
       {"relativeAge", Number(file, &s.relative_age, NonNegative)}});
}

Result<core::PolicyConfig> LoadPolicyFromConfigFile(const std::string& path) {
  const ServerConfig defaults;
  auto config = LoadServerConfig(path, defaults);
  if (!config) return Error(config.error());
  return config->policy;
}

}  // namespace kumo::server
