#include "server/task_file.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace kumo::server {

std::optional<TaskFile> TaskFile::Open(const std::string& dir, const std::string& path) {
  size_t start = path.find_first_not_of('/');
  if (start == std::string::npos) return std::nullopt;
  int dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return std::nullopt;
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, dir_fd, path.c_str() + start, &how, sizeof how));
  ::close(dir_fd);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  return TaskFile(fd, static_cast<uint64_t>(st.st_size));
}

TaskFile::TaskFile(TaskFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_bytes_(other.size_bytes_) {}

TaskFile::~TaskFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> TaskFile::Read(uint64_t offset, uint64_t length) const {
  std::string out;
  out.resize(static_cast<size_t>(length));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(Status::IoError(std::string("read: ") + std::strerror(errno)));
    if (n == 0) break;  // the end of the file (it may have shrunk since Open)
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace kumo::server
