// Small helpers for the server: ports, file ranges, paths.
#pragma once

#include <sys/types.h>

#include <cstdint>
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
// Writes `bytes` to `path` with `mode` so that it survives kill -9 and power loss once this
// returns: a uniquely named temp file beside it, fsync, rename, fsync of the directory.
Status WriteFileDurably(const std::string& path, std::string_view bytes, mode_t mode);

}  // namespace kumo::server
