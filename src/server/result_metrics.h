// A task's metrics for its Result: `$KUMO_OUTPUT_DIR/metrics.json`, a JSON object the task
// writes (e.g. {"loss": 0.12, "accuracy": 0.97}), recorded as the Result's "metrics" when the
// attempt ends, so `kumo get results` can compare runs without opening their outputs.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kumo::server {

inline constexpr size_t kMaxMetricsBytes = 1 << 20;

// The object in OUTPUT_DIR/metrics.json; null when there is no such file. A file that is not a
// JSON object or is over kMaxMetricsBytes gives {"error": "..."} (the Result says why there are
// no metrics rather than silently having none).
nlohmann::json ReadMetrics(const std::string& output_dir);

}  // namespace kumo::server
