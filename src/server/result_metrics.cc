#include "server/result_metrics.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kumo::server {

nlohmann::json ReadMetrics(const std::string& output_dir) {
  std::string path = output_dir + "/metrics.json";
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return nullptr;
  if (size > kMaxMetricsBytes)
    return {{"error", "metrics.json is " + std::to_string(size) + " bytes (at most 1 MiB)"}};
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json m = nlohmann::json::parse(ss.str(), nullptr, false);
  if (m.is_discarded() || !m.is_object())
    return {{"error", "metrics.json is not a JSON object"}};
  return m;
}

}  // namespace kumo::server
