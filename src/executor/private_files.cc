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

Status WritePrivateFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
  // A temp file left by an older version may have been created with a wider mode.
  bool ok = ::fchmod(fd, 0600) == 0;
  ok = ok && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::IoError("cannot write " + path);
  return Status::Ok();
}

}  // namespace kumo::executor
