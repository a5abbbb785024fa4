#include "client/node_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/random.h"

namespace kumo::client {
namespace fs = std::filesystem;

Result<NodeStore> NodeStore::Open(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir + "/objects", ec);
  if (!ec) fs::create_directories(dir + "/tmp", ec);
  if (ec) return Error(Status::IoError("node store " + dir + ": " + ec.message()));
  std::string abs = fs::absolute(dir).string();
  // All 256 fan-out directories now, so that adopting an object is one rename (no per-object
  // mkdir or stat): 256 mkdirs per Open against 10,000 objects in a pull of small files.
  for (int i = 0; i < 256; ++i) {
    char sub[3];
    std::snprintf(sub, sizeof sub, "%02x", i);
    std::string path = abs + "/objects/" + sub;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return Error(Status::IoError("node store " + path + ": " + std::strerror(errno)));
  }
  uint64_t r;
  RandomBytes(&r, sizeof r);
  return NodeStore(abs, abs + "/tmp/" + std::to_string(::getpid()) + "-" + std::to_string(r) + "-");
}

std::string NodeStore::PathOf(const std::string& sha256) const {
  return dir_ + "/objects/" + sha256.substr(0, 2) + "/" + sha256;
}

bool NodeStore::Has(const std::string& sha256, int64_t size) const {
  struct stat st;
  return ::stat(PathOf(sha256).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == size;
}

std::string NodeStore::TempPath() const {
  return temp_prefix_ + std::to_string(temp_count_->fetch_add(1));
}

Status NodeStore::Sync() const {
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("node store " + dir_ + ": " + std::strerror(errno));
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("node store " + dir_ + ": syncfs: " + std::strerror(err));
  return Status::Ok();
}

Status NodeStore::Adopt(const std::string& tmp, const std::string& sha256) {
  std::string path = PathOf(sha256);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status NodeStore::LinkTo(const std::string& sha256, const std::string& dest) const {
  std::string src = PathOf(sha256);
  // The common case, a fresh tree, is one link(2); what is already at `dest` costs the checks.
  if (::link(src.c_str(), dest.c_str()) == 0) return Status::Ok();
  int err = errno;
  if (err == EEXIST) {
    struct stat a, b;
    if (::stat(src.c_str(), &a) == 0 && ::lstat(dest.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      return Status::Ok();
    ::unlink(dest.c_str());
    if (::link(src.c_str(), dest.c_str()) == 0) return Status::Ok();
    err = errno;
  }
  if (err == ENOENT && ::access(src.c_str(), F_OK) != 0)
    return Status::NotFound(src + ": not in the node store");
  return Status::IoError(dest + ": cannot link from the node store (" + std::strerror(err) +
                         "; the store must be on the same filesystem)");
}

}  // namespace kumo::client
