#include "server/task_file.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

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

namespace {

// Adds the regular files of the open directory `fd` (closed here) under `prefix`. `*budget`:
// entries of any kind still to visit (a tree of empty dirs or links costs its walk too).
void ListDir(int fd, const std::string& prefix, int depth, size_t* budget,
             std::vector<TaskFileEntry>* out) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (*budget == 0) break;
    --*budget;
    struct stat st;
    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode)) {
      out->push_back({prefix + name, static_cast<uint64_t>(st.st_size)});
    } else if (S_ISDIR(st.st_mode) && depth < 16) {
      int sub = ::openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) ListDir(sub, prefix + name + "/", depth + 1, budget, out);
    }
  }
  ::closedir(d);  // closes fd
}

}  // namespace

std::vector<TaskFileEntry> ListTaskFiles(const std::string& dir, size_t max_entries) {
  std::vector<TaskFileEntry> out;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t budget = max_entries;
  if (fd >= 0) ListDir(fd, "", 0, &budget, &out);
  return out;
}

}  // namespace kumo::server
