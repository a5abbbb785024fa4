// Small OS helpers for the server: clock, hashing, process discovery, ports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kumo::server {

double WallSeconds();  // seconds since the epoch, microsecond resolution
std::string Sha256Hex(const std::string& data);
// `n` bytes from the kernel's CSPRNG (getrandom(2); aborts if it fails, which it does not once
// the pool is initialised). std::random_device costs a cpuid per construction, and cpuid traps
// to the hypervisor in a VM: this is one syscall.
void RandomBytes(void* out, size_t n);
// Task shims alive on this machine whose run dir starts with `prefix`: run dir -> (pid, start
// ticks). Read from /proc/<pid>/cmdline ("<kumo> __task-shim <run_dir> ...").
std::map<std::string, std::pair<pid_t, int64_t>> FindShims(const std::string& prefix);
// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
int FreeLoopbackPort();
// Bytes [offset, offset+max) of a file; "" when missing.
std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size);

}  // namespace kumo::server
