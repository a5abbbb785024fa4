// Directories and files that only the server's uid may read, whatever the process umask (issue
// #12, docs/security.md): the data dir, job and run dirs, the admin token. The modes are set
// explicitly, not left to open()/mkdir() and the umask, and existing ones are tightened.
#pragma once

#include <string>

#include "base/status.h"

namespace kumo::executor {

// mkdir -p `path`: every directory it creates is 0700; `path` itself is chmod 0700 even if it
// existed. Parents that existed keep their modes.
Status MakePrivateDirs(const std::string& path);

// Files: WriteFileDurably(path, bytes, 0600) (base/durable_file.h).

}  // namespace kumo::executor
