// Small helpers for the server: ports, file ranges, paths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kumo::server {

// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
int FreeLoopbackPort();
// Bytes [offset, offset+max) of a file; "" when missing.
std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size);
// A URL path's non-empty segments: "/v1/jobs/12/" -> {"v1", "jobs", "12"}.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace kumo::server
