// Small helpers for the server: ports, file ranges, paths, ids and names. (JSON answers:
// http_json.h.)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "base/status.h"

namespace kumo::server {

// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
int FreeLoopbackPort();
// Bytes [offset, offset+max) of a file; "" when missing.
std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size);
// A URL path's non-empty segments: "/v1/jobs/12/" -> {"v1", "jobs", "12"}.
std::vector<std::string> SplitPath(const std::string& path);
// A decimal id of at most 18 digits; nullopt for anything else.
std::optional<int64_t> ParseId(const std::string& s);
// A user, project or dataset name: lower-case letters, digits and '-', 1..63, not starting or
// ending with '-' (a DNS label, so it can be part of a cache key or a Kubernetes name).
bool ValidName(const std::string& s);

}  // namespace kumo::server
