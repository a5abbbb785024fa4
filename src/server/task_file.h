// A regular file inside a directory a task writes (its output dir), opened by the server --
// which runs as root -- so that the task cannot make it open anything else:
//   - no symbolic link is followed anywhere on the path and the walk never leaves the dir
//     (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, Linux 5.6):
//     "metrics.json -> /root/creds.json", or a directory of the path made a link, is not found;
//   - O_NONBLOCK: a FIFO the task left opens at once instead of blocking the server's thread
//     until some writer appears (and is then refused: not a regular file);
//   - only a regular file, checked by fstat on the descriptor opened (no race with a rename).
// Paths are relative to `dir` ("/m.txt" is <dir>/m.txt).
//
// Thread safety: a TaskFile is one descriptor, owned; use it from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace kumo::server {

class TaskFile {
 public:
  // std::nullopt when `path` is not a regular file reached that way.
  static std::optional<TaskFile> Open(const std::string& dir, const std::string& path);

  TaskFile(TaskFile&& other) noexcept;
  TaskFile& operator=(TaskFile&&) = delete;
  TaskFile(const TaskFile&) = delete;
  ~TaskFile();

  uint64_t size_bytes() const { return size_bytes_; }
  // Up to `length` bytes from `offset` (fewer at the end of the file).
  Result<std::string> Read(uint64_t offset, uint64_t length) const;

 private:
  TaskFile(int fd, uint64_t size_bytes) : fd_(fd), size_bytes_(size_bytes) {}
  int fd_ = -1;
  uint64_t size_bytes_ = 0;
};

// A regular file of a task's directory, as ListTaskFiles finds it.
struct TaskFileEntry {
  std::string path;  // relative to the dir, '/'-separated
  uint64_t size_bytes = 0;
};

// Every regular file under `dir` (the output dir a task writes), walked by descriptors: each
// directory is opened relative to its parent's descriptor with O_NOFOLLOW, so a directory the
// task swaps for a symlink mid-walk is skipped, never followed out of `dir` (a path-based walk
// listed another job's files that way). Symlinks, FIFOs and devices are not listed. At most
// `max_entries` entries of any kind are visited (so a tree of empty dirs cannot hold an API
// worker) and 16 levels deep (at most 17 descriptors open at once); unsorted. Empty when `dir`
// cannot be opened.
std::vector<TaskFileEntry> ListTaskFiles(const std::string& dir, size_t max_entries = 100000);

}  // namespace kumo::server
