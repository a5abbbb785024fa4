// A file's identity for "has it changed?" polls of files that others rewrite: the member list,
// the JWKS, a token file. A rename (device, inode: kubelet swaps projected tokens this way), a
// write (mtime) or a truncation (size) all change it; a rewrite that keeps all four does not, so
// callers that must not miss one also re-read on demand (SIGHUP, a 401).
//
// Thread safety: StampOf is a pure function of the file system.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace kumo::cache {

struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  off_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

// The stamp of `path` now; {} (exists false) when it cannot be stat'ed.
FileStamp StampOf(const std::string& path);

}  // namespace kumo::cache
