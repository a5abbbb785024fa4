// Reading the kernel's pseudo-files: /proc/<pid>/stat and /proc/<pid>/cmdline for the local
// executor's shims, and small cgroupfs files. Stateless; safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kumo::executor {

// Reads a small file whole. procfs and cgroupfs files report size 0, so it reads until EOF;
// at most ~1 MiB (nothing it is used for is bigger). nullopt on failure, with errno in *err.
std::optional<std::string> ReadSmallFile(const std::string& path, int* err = nullptr);

enum class ProcPresence { kPresent, kAbsent, kUnknown };

struct ProcStat {
  ProcPresence presence = ProcPresence::kUnknown;
  char state = '?';         // field 3: R, S, Z (zombie), X (dead), ...
  pid_t ppid = 0;           // field 4
  pid_t pgid = 0;           // field 5: the process group
  int64_t start_ticks = 0;  // field 22: start time in clock ticks after boot
  int error = 0;            // errno of a failed read; 0 with kUnknown: the text did not parse
};

// /proc/<pid>/stat. kAbsent when no process has that pid; a pid with the same start_ticks is
// the same process (a recycled pid has a later start time).
ProcStat ReadProcStat(pid_t pid);

// /proc/<pid>/cmdline split at its NULs; empty for a zombie, a kernel thread or no process.
std::vector<std::string> ReadProcCmdline(pid_t pid);

}  // namespace kumo::executor
