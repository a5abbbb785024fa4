#include "client/node_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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
  return NodeStore(fs::absolute(dir).string());
}

std::string NodeStore::PathOf(const std::string& sha256) const {
  return dir_ + "/objects/" + sha256.substr(0, 2) + "/" + sha256;
}

bool NodeStore::Has(const std::string& sha256, int64_t size) const {
  struct stat st;
  return ::stat(PathOf(sha256).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == size;
}

std::string NodeStore::TempPath() const {
  uint64_t r;
  RandomBytes(&r, sizeof r);
  return dir_ + "/tmp/" + std::to_string(::getpid()) + "-" + std::to_string(r);
}

Status NodeStore::Adopt(const std::string& tmp, const std::string& sha256) {
  std::string path = PathOf(sha256);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  ::chmod(tmp.c_str(), 0444);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Status NodeStore::LinkTo(const std::string& sha256, const std::string& dest) const {
  std::string src = PathOf(sha256);
  struct stat a, b;
  if (::stat(src.c_str(), &a) != 0) return Status::NotFound(src + ": not in the node store");
  if (::lstat(dest.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
    return Status::Ok();
  ::unlink(dest.c_str());
  if (::link(src.c_str(), dest.c_str()) != 0)
    return Status::IoError(dest + ": cannot link from the node store (" + std::strerror(errno) +
                           "; the store must be on the same filesystem)");
  return Status::Ok();
}

}  // namespace kumo::client
