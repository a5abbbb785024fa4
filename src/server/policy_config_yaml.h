// The `policy:` section of a config file: the one reader of core::PolicyConfig, used by
// `kumo server --config` (server_config.cc) and `kumo sim --config` alike, so one file gives one
// policy in both. Keys and defaults: docs/control-plane.md#policy.
//
//   policy:
//     queueOrder: drf                  # core/queue_order.h
//     placement: binpack               # core/placement_policy.h
//     backfill: easy                   # none | greedy | easy
//     backfillDepth: 500               # jobs tried after the reservation (0: all)
//     preemption: [priority, reclaim, defragment]   # or true / false
//     preemptForGain: {enabled: false, restartSeconds: 60}   # core/scheduler.h
//     las: {enabled: true, thresholdQuantiles: [0.5, 0.9], starveFactor: 4,
//           starveRunQuantile: 0, victimWindowSeconds: 120, protectAfterRequeues: 0}
//     minRuntime: {fractionOfMedian: 0.05, floorSeconds: 0, maxSeconds: 3600}
//     history: {windowJobs: 500, minJobs: 20}
//
// Errors are `FILE:LINE: policy.field: message` (base/yaml_error.h); on error `*out` may be
// partly updated, and callers discard it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "base/status.h"
#include "core/policy_config.h"

namespace kumo::server {

// Reads `node` (the value of the `policy` key in `file`) over `*out`: keys it names replace
// the defaults, the rest stay.
Status ReadPolicyConfig(const std::string& file, const YAML::Node& node, core::PolicyConfig* out);

// `kumo sim --config FILE`: the policy of a `kumo server --config` file, read by the server's own
// reader (LoadServerConfig, which validates the whole file), so one file is one policy in both.
Result<core::PolicyConfig> LoadPolicyFromConfigFile(const std::string& path);

}  // namespace kumo::server
