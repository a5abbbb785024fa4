#include "executor/private_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace kumo::executor {

Status MakePrivateDirs(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty directory path");
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError("cannot create " + prefix + ": " + std::strerror(errno));
    if (slash == std::string::npos) break;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::IoError(path + " is not a directory");
  if ((st.st_mode & 07777) != 0700 && chmod(path.c_str(), 0700) != 0)
    return Status::IoError("cannot chmod 0700 " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace kumo::executor
