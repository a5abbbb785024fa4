// Small OS helpers for the server: ports, file ranges.
#pragma once

#include <cstdint>
#include <string>

namespace kumo::server {

// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
int FreeLoopbackPort();
// Bytes [offset, offset+max) of a file; "" when missing.
std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size);

}  // namespace kumo::server
