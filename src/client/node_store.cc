#include "client/node_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/durable_file.h"
#include "base/random.h"
#include "base/sha256.h"
#include "client/dataset_client.h"

namespace kumo::client {
namespace fs = std::filesystem;

namespace {

Status StoreError(const std::string& path, int err) {
  return Status::IoError("node store " + path + ": " + std::strerror(err));
}

// The first line of `path`: a boot id, or the store's record of one ("" when there is none).
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The entries of `dir` (none when it is missing), listed before any is removed.
Result<std::vector<fs::path>> Entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path());
  if (ec) return Error(Status::IoError("node store " + dir.string() + ": " + ec.message()));
  return out;
}

// Removes every entry of `dir` (trees sealed 0555 are made writable first); returns how many.
Result<int64_t> RemoveEntries(const std::string& dir) {
  auto entries = Entries(dir);
  if (!entries) return Error(entries.error());
  std::error_code ec;
  for (const fs::path& e : *entries) {
    ::chmod(e.c_str(), 0755);
    for (fs::recursive_directory_iterator it(e, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) ::chmod(it->path().c_str(), 0755);
    ec.clear();  // not a directory: nothing to make writable
    fs::remove_all(e, ec);
    if (ec) return Error(Status::IoError("node store " + e.string() + ": " + ec.message()));
  }
  return static_cast<int64_t>(entries->size());
}

// Step 3 of the header's recovery: every object checked against its name.
Status DropTornObjects(const std::string& dir, NodeStore::Recovery& r) {
  auto fans = Entries(dir + "/objects");
  if (!fans) return fans.error();
  for (const fs::path& fan : *fans) {
    auto objects = Entries(fan);
    if (!objects) return objects.error();
    for (const fs::path& object : *objects) {
      std::string name = object.filename().string();
      struct stat st;
      bool named = IsLowerHex(name, 64) && name.starts_with(fan.filename().string()) &&
                   ::lstat(object.c_str(), &st) == 0 && S_ISREG(st.st_mode);
      if (named) ++r.objects_hashed;
      if (named) {
        auto digests = DigestFile(object);  // dataset_client.h: the same read as a push's
        if (digests && digests->sha256 == name) continue;
      }
      std::fprintf(stderr, "kumo: node store %s: %s does not hash to its name (torn by a "
                   "machine crash?): removed, a later pull fetches it again\n",
                   dir.c_str(), object.c_str());
      std::error_code ec;
      fs::remove_all(object, ec);
      if (ec) return Status::IoError("node store " + object.string() + ": " + ec.message());
      ++r.objects_dropped;
    }
  }
  return Status::Ok();
}

// The header's recovery, steps 1 to 5; `recorded` is the boot DIR/boot_id names ("": none).
// REQUIRES: DIR/lock held.
Status Recover(const std::string& dir, const NodeStore::Options& options,
               const std::string& recorded, const std::string& boot_id, NodeStore::Recovery& r) {
  r.recovered = true;
  auto temps = RemoveEntries(dir + "/tmp");
  if (!temps) return temps.error();
  r.temps_removed = *temps;
  for (const auto& trees : recorded.empty() ? std::vector<std::string>() : options.linked_trees) {
    auto removed = RemoveEntries(trees);
    if (!removed) return removed.error();
    r.trees_removed += *removed;
  }
  if (Status s = DropTornObjects(dir, r); !s.ok()) return s;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StoreError(dir, errno);
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return StoreError(dir + ": syncfs", err);
  return WriteFileDurably(dir + "/boot_id", boot_id + "\n", 0644);
}

}  // namespace

Result<NodeStore> NodeStore::Open(const std::string& dir, const Options& options) {
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
      return Error(StoreError(path, errno));
  }
  const std::string boot_id = FirstLine(options.boot_id_path);
  if (boot_id.empty())
    return Error(Status::IoError("node store: no boot id in " + options.boot_id_path));
  Recovery recovery;
  // The record is written only once recovery is done, so a match needs no lock.
  if (FirstLine(abs + "/boot_id") != boot_id) {
    int lock = ::open((abs + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) return Error(StoreError(abs + "/lock", errno));
    Status s = ::flock(lock, LOCK_EX) == 0 ? Status::Ok() : StoreError(abs + "/lock", errno);
    // Another opener may have recovered while this one waited.
    std::string recorded = FirstLine(abs + "/boot_id");
    if (s.ok() && recorded != boot_id) s = Recover(abs, options, recorded, boot_id, recovery);
    ::close(lock);
    if (!s.ok()) return Error(s);
  }
  uint64_t r;
  RandomBytes(&r, sizeof r);
  return NodeStore(abs, abs + "/tmp/" + std::to_string(::getpid()) + "-" + std::to_string(r) + "-",
                   recovery);
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
