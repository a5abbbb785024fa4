#include "server/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/durable_file.h"
#include "base/random.h"
#include "base/sha256.h"
#include "client/format.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;

SnapshotStore::SnapshotStore(std::string dir, int64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(dir_ + "/blobs", ec);
  fs::create_directories(dir_ + "/manifests", ec);
}

std::string SnapshotStore::ManifestPath(const std::string& digest) const {
  return dir_ + "/manifests/" + digest.substr(digest.find(':') + 1) + ".json";
}

std::vector<std::string> SnapshotStore::Missing(const api::DatasetManifest& m) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& f : m.files)
    if (!fs::exists(BlobPath(f.sha256), ec)) out.push_back(f.sha256);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status SnapshotStore::PutBlob(const std::string& sha256, std::string_view bytes) {
  std::string actual = Sha256Hex(bytes);
  if (actual != sha256)
    return Status::InvalidArgument("blob " + sha256 + ": the bytes hash to " + actual);
  if (fs::exists(BlobPath(sha256))) return Status::Ok();
  return WriteFileDurably(BlobPath(sha256), bytes, 0444);
}

Status SnapshotStore::Record(const api::DatasetManifest& m) {
  if (m.TotalBytes() > max_bytes_)
    return Status::ResourceExhausted(
        client::FormatBytes(m.TotalBytes()) + " in " + std::to_string(m.files.size()) +
        " files is over the snapshot cap of " + client::FormatBytes(max_bytes_) +
        " (list large files in .gitignore; data belongs in a dataset)");
  std::vector<std::string> missing = Missing(m);
  if (!missing.empty())
    return Status::FailedPrecondition("blob " + missing[0] + " was not uploaded");
  // The cap holds for what the tree really holds: a blob's bytes are its own (PutBlob checked
  // their hash), so a manifest that declares another size is refused, or one 2 MB blob named
  // a hundred times with size 0 would pass the cap and extract 200 MB into every job.
  for (size_t i = 0; i < m.files.size(); ++i) {
    const api::ManifestFile& f = m.files[i];
    std::error_code ec;
    const uintmax_t real = fs::file_size(BlobPath(f.sha256), ec);
    if (ec) return Status::IoError("blob " + f.sha256 + ": " + ec.message());
    if (real != static_cast<uintmax_t>(f.size_bytes))
      return Status::InvalidArgument("files[" + std::to_string(i) + "].size: \"" + f.path +
                                     "\" is declared " + std::to_string(f.size_bytes) +
                                     " bytes; its blob holds " + std::to_string(real));
  }
  return WriteFileDurably(ManifestPath(m.Digest()), m.Canonical(), 0444);
}

Result<api::DatasetManifest> SnapshotStore::Get(const std::string& digest) const {
  if (!digest.starts_with("sha256:") || digest.size() != 71 ||
      digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
    return Error(Status::InvalidArgument("snapshot digest: want sha256:<64 hex digits>"));
  std::ifstream in(ManifestPath(digest));
  if (!in) return Error(Status::NotFound("snapshot " + digest + " not found"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = api::ParseManifest(nlohmann::json::parse(ss.str(), nullptr, false));
  if (!m) return Error(Status::Internal("snapshot " + digest + ": " + m.error().message()));
  return m;
}

Status SnapshotStore::Extract(const std::string& digest, const std::string& dest) const {
  auto m = Get(digest);
  if (!m) return m.error();
  std::error_code ec;
  if (!fs::create_directory(dest, ec) || ec)
    return Status::IoError(dest + ": cannot create (" + ec.message() + ")");
  for (const auto& f : m->files) {
    fs::path to = fs::path(dest) / f.path;
    fs::create_directories(to.parent_path(), ec);
    if (!ec) fs::copy_file(BlobPath(f.sha256), to, ec);
    if (!ec)
      fs::permissions(to, f.executable ? fs::perms(0755) : fs::perms(0644),
                      fs::perm_options::replace, ec);
    if (ec) return Status::IoError(to.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Result<StagedTree> StagedTree::Stage(const SnapshotStore& store, const std::string& digest,
                                     const std::string& parent) {
  uint64_t r;
  RandomBytes(&r, sizeof r);
  std::string path = parent + "/.staged-" + std::to_string(r);
  StagedTree tree(path);
  if (Status s = store.Extract(digest, path); !s.ok()) return Error(s);
  return tree;
}

StagedTree::~StagedTree() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Status StagedTree::MoveTo(const std::string& dest) {
  std::error_code ec;
  fs::create_directories(fs::path(dest).parent_path(), ec);
  fs::remove_all(dest, ec);
  if (::rename(path_.c_str(), dest.c_str()) != 0)
    return Status::IoError(dest + ": " + std::strerror(errno));
  path_.clear();
  return Status::Ok();
}

}  // namespace kumo::server
