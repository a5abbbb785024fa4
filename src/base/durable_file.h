// The one way kumo replaces a file so that a reader sees the old bytes or the new, never a
// mix, and the new ones survive kill -9 and power loss once the call returns (tokens, keys,
// snapshot blobs, the port file).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace kumo {

// Writes `bytes` to a uniquely named temp file beside `path` (so concurrent writers never share
// one), gives it exactly `mode` whatever the umask, fsyncs it, renames it over `path` and
// fsyncs the directory. On failure `path` is unchanged and no temp file is left.
// REQUIRES: the directory of `path` exists.
Status WriteFileDurably(const std::string& path, std::string_view bytes, mode_t mode);

}  // namespace kumo
