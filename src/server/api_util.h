// The /v1 API's small shared pieces: ids and names (answers: http_json.h; paths: util.h). Every
// handler file (api_handlers.cc, dataset_handlers.cc) answers through these, so an error looks
// the same everywhere: {"code": 403, "error": "..."}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http.h"
#include "server/http_json.h"  // JsonResponse, ErrorResponse
#include "server/util.h"       // SplitPath

namespace kumo::server {

// A decimal id of at most 18 digits; nullopt for anything else.
inline std::optional<int64_t> ParseId(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// A user, project or dataset name: lower-case letters, digits and '-', 1..63, not starting or
// ending with '-' (a DNS label, so it can be part of a cache key or a Kubernetes name).
inline bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

}  // namespace kumo::server
