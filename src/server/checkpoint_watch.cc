#include "server/checkpoint_watch.h"

#include <chrono>
#include <filesystem>
#include <iterator>
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

void CheckpointWatch::Track(const std::map<int64_t, std::string>& dirs) {
  for (auto it = seen_.begin(); it != seen_.end();) {
    auto want = dirs.find(it->first);
    it = (want == dirs.end() || want->second != it->second.dir) ? seen_.erase(it) : std::next(it);
  }
  for (const auto& [id, dir] : dirs) seen_.try_emplace(id).first->second.dir = dir;
}

std::vector<CheckpointWatch::Walk> CheckpointWatch::Due(double now) const {
  std::vector<Walk> due;
  for (const auto& [id, s] : seen_)
    if (!s.walked || now - s.walked_at >= kRescanSeconds || now < s.walked_at)
      due.push_back({id, s.dir, -1});
  return due;
}

void CheckpointWatch::Record(const std::vector<Walk>& walks, double now) {
  for (const Walk& w : walks) {
    auto it = seen_.find(w.id);
    if (it == seen_.end() || it->second.dir != w.dir) continue;
    it->second.walked = true;
    it->second.walked_at = now;
    it->second.last_write = w.newest;
  }
}

double CheckpointWatch::LastWrite(int64_t id) const {
  auto it = seen_.find(id);
  return it == seen_.end() ? -1 : it->second.last_write;
}

}  // namespace kumo::server
