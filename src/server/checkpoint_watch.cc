#include "server/checkpoint_watch.h"

#include <chrono>
#include <filesystem>
#include <system_error>

namespace kumo::server {
namespace fs = std::filesystem;

std::optional<double> NewestFileTime(const std::string& dir, size_t max_entries) {
  std::optional<double> newest;
  std::error_code ec;
  size_t visited = 0;
  // directory_options::none: symbolic links to directories are not descended into.
  for (fs::recursive_directory_iterator it(dir, ec), end;
       !ec && it != end && visited < max_entries; it.increment(ec), ++visited) {
    std::error_code file_ec;
    // symlink_status: a link is never a regular file here, so its target is never looked at.
    if (!fs::is_regular_file(it->symlink_status(file_ec)) || file_ec) continue;
    const fs::file_time_type t = it->last_write_time(file_ec);
    if (file_ec) continue;
    const auto since_epoch = std::chrono::file_clock::to_sys(t).time_since_epoch();
    const double seconds = std::chrono::duration<double>(since_epoch).count();
    if (!newest || seconds > *newest) newest = seconds;
  }
  return newest;
}

double CheckpointWatch::LastWrite(int64_t id, const std::string& dir, double now) {
  auto [it, fresh] = seen_.try_emplace(id);
  Seen& s = it->second;
  if (fresh || now - s.scanned_at >= kRescanSeconds || now < s.scanned_at) {
    s.scanned_at = now;
    s.last_write = NewestFileTime(dir).value_or(-1);
  }
  return s.last_write;
}

}  // namespace kumo::server
