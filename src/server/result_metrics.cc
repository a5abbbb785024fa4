#include "server/result_metrics.h"

#include "server/task_file.h"

namespace kumo::server {

nlohmann::json ReadMetrics(const std::string& output_dir) {
  // The task wrote the dir; the server reads it as root: TaskFile follows none of its links.
  std::optional<TaskFile> file = TaskFile::Open(output_dir, "metrics.json");
  if (!file) return nullptr;
  if (file->size_bytes() > kMaxMetricsBytes)
    return {{"error", "metrics.json is " + std::to_string(file->size_bytes()) +
                          " bytes (at most 1 MiB)"}};
  auto text = file->Read(0, kMaxMetricsBytes);
  if (!text) return {{"error", "metrics.json: " + text.error().message()}};
  nlohmann::json m = nlohmann::json::parse(*text, nullptr, false);
  if (m.is_discarded() || !m.is_object())
    return {{"error", "metrics.json is not a JSON object"}};
  return m;
}

}  // namespace kumo::server
