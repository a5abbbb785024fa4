// Output helpers for the kumo CLI: kubectl-like tables, ages, quantities, JSON -> YAML.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kumo::client {

// kubectl's short ages: "12s", "3m", "2h", "4d", "2y" (truncated, never rounded up, so an age
// only ever grows). Negative ages (clock skew between client and server) are "0s".
std::string FormatAge(double seconds);
// Age of a JSON timestamp (seconds since the epoch) at `now`; "-" for null or missing.
std::string AgeOf(const nlohmann::json& time, double now);
// Local time "2025-01-31 14:02:03"; "-" for null.
std::string FormatTime(const nlohmann::json& time);

// Columns left-aligned, separated by three spaces (kubectl's tabwriter padding), no trailing
// whitespace. Widths count UTF-8 code points, so messages with non-ASCII text stay aligned.
// Cells with newlines or tabs are flattened to spaces: one row is one line.
std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows);

// milli-GPUs as GPUs: 2000 -> "2", 500 -> "0.5", 1250 -> "1.25".
std::string FormatGpus(int64_t milli);
// Bytes in binary units as Kubernetes writes them: 17179869184 -> "16Gi", 1536 -> "1.5Ki".
std::string FormatBytes(int64_t bytes);
// A JSON number as text without a gratuitous ".0" (2.0 -> "2", 0.25 -> "0.25").
std::string FormatNumber(const nlohmann::json& v);

// Block-style YAML (kubectl -o yaml look: sequences not indented under their key). Strings
// are plain when YAML would read them back as the same string, double-quoted (JSON escapes,
// which YAML shares) otherwise; multi-line strings become literal blocks ("|"). Keys come in the
// JSON object's order (nlohmann::json sorts them).
std::string JsonToYaml(const nlohmann::json& v);

}  // namespace kumo::client
