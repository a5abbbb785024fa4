// Small OS helpers for the server: process discovery, ports, file ranges.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kumo::server {

// Task shims alive on this machine whose run dir starts with `prefix`: run dir -> (pid, start
// ticks). Read from /proc/<pid>/cmdline ("<kumo> __task-shim <run_dir> ...").
std::map<std::string, std::pair<pid_t, int64_t>> FindShims(const std::string& prefix);
// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
int FreeLoopbackPort();
// Bytes [offset, offset+max) of a file; "" when missing.
std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size);

}  // namespace kumo::server
