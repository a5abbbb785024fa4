#include "server/node_store_gc.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

namespace kumo::server {
namespace fs = std::filesystem;

namespace {

Status IoError(const fs::path& p, const std::error_code& ec) {
  return Status::IoError(p.string() + ": " + ec.message());
}

// Bytes of the store's objects, and how many of them only the store links (st_nlink == 1);
// with `unlink_unused` those are removed.
Result<std::pair<int64_t, int64_t>> ScanObjects(const fs::path& objects, bool unlink_unused) {
  int64_t bytes = 0, removed = 0;
  std::error_code ec;
  if (!fs::exists(objects, ec)) return std::pair<int64_t, int64_t>{0, 0};
  for (auto it = fs::recursive_directory_iterator(objects, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (unlink_unused && st.st_nlink == 1) {
      if (::unlink(it->path().c_str()) != 0)
        return Error(Status::IoError(it->path().string() + ": " + std::strerror(errno)));
      ++removed;
      continue;
    }
    bytes += st.st_size;
  }
  if (ec) return Error(IoError(objects, ec));
  return std::pair<int64_t, int64_t>{bytes, removed};
}

// Removes a sealed tree (dirs 0555: made writable first) and returns the bytes it alone held
// besides the store (files linked exactly twice: the store and this tree).
Result<int64_t> RemoveTree(const fs::path& tree) {
  int64_t freed = 0;
  std::error_code ec;
  ::chmod(tree.c_str(), 0755);
  for (auto it = fs::recursive_directory_iterator(tree, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) ::chmod(it->path().c_str(), 0755);
    if (S_ISREG(st.st_mode) && st.st_nlink == 2) freed += st.st_size;
  }
  if (ec) return Error(IoError(tree, ec));
  fs::remove_all(tree, ec);
  if (ec) return Error(IoError(tree, ec));
  return freed;
}

// Trees not in use, least recently used first. Names that are not a 64-hex digest (a tree
// being built under a temp name lives in the node store's tmp, not here) are left alone.
std::vector<fs::path> Candidates(const fs::path& trees, const std::set<std::string>& in_use) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(trees, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() != 64 || in_use.count(name)) continue;
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    found.emplace_back(st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec, e.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [mtime, path] : found) out.push_back(std::move(path));
  return out;
}

}  // namespace

Result<NodeStoreUsage> CollectNodeStore(const std::string& data_dir, int64_t max_bytes,
                                        const std::set<std::string>& in_use) {
  const fs::path objects = fs::path(data_dir) / "node-store" / "objects";
  NodeStoreUsage u;
  auto scan = ScanObjects(objects, false);
  if (!scan) return Error(scan.error());
  u.bytes_before = u.bytes_after = scan->first;
  if (u.bytes_before <= max_bytes) return u;
  for (const fs::path& tree : Candidates(fs::path(data_dir) / "datasets", in_use)) {
    if (u.bytes_after <= max_bytes) break;
    auto freed = RemoveTree(tree);
    if (!freed) return Error(freed.error());
    u.bytes_after -= *freed;
    ++u.trees_removed;
  }
  auto swept = ScanObjects(objects, true);
  if (!swept) return Error(swept.error());
  u.bytes_after = swept->first;
  u.objects_removed = swept->second;
  return u;
}

}  // namespace kumo::server
