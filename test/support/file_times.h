// Test-only: sets a file's modification time to a given clock reading, so tests on a FakeClock
// can make files that were "written" at a fake time (checkpoint dirs, caches).
#pragma once

#include <chrono>
#include <filesystem>

namespace kumo::testing {

// Sets `path`'s modification time to `seconds` since the Unix epoch.
inline void SetModifiedTime(const std::filesystem::path& path, double seconds) {
  const auto sys = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(seconds)));
  std::filesystem::last_write_time(path, std::chrono::file_clock::from_sys(sys));
}

}  // namespace kumo::testing
