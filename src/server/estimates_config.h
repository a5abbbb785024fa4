// The `estimates:` and `ageing:` sections of a policy config (docs/evaluation.md, "Estimates and
// ageing"), read from YAML into the core's structs. Each reader takes the section's node, so the
// server config (and the one policy section server and simulator share) hooks it in with a line:
//
//   estimates:                 # runtime estimates for jobs without maxRuntime (EASY reserves)
//     enabled: true
//     quantile: 0.5            # of the recent runtimes of the same user's jobs of that name
//     window: 16               # runtimes kept per (user, name) and per project
//     minSamples: 2            # fewer: the project's history, then the class default
//     classDefaults: {normal: 1h, low: 4h}
//   ageing:
//     after: 30m               # a job pending this long goes first within its priority; "off"
//
// Errors name the file, line and field (base/yaml_error.h) and leave *out unchanged.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "base/status.h"
#include "core/resources.h"
#include "core/runtime_estimate.h"

namespace kumo::server {

// `field` is the section's path in the file, e.g. "estimates" or "policy.estimates".
Status LoadEstimatesConfig(const std::string& path, const YAML::Node& v, const std::string& field,
                           core::RuntimeEstimateConfig* out);
Status LoadAgeingConfig(const std::string& path, const YAML::Node& v, const std::string& field,
                        core::Seconds* age_after_s);

}  // namespace kumo::server
