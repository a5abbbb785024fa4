#include "server/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "base/durable_file.h"
#include "base/random.h"
#include "base/sha256.h"
#include "client/format.h"
#include "executor/private_files.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;

SnapshotStore::SnapshotStore(std::string dir, int64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  // 0700 whatever the umask (docs/security.md: owner-only); an error shows at the first write.
  (void)executor::MakePrivateDirs(dir_ + "/blobs");
  (void)executor::MakePrivateDirs(dir_ + "/manifests");
}

std::string SnapshotStore::ManifestPath(const std::string& digest) const {
  return dir_ + "/manifests/" + digest.substr(digest.find(':') + 1) + ".json";
}

namespace {

bool IsSha256Hex(std::string_view name) {
  return name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Sets the mtime of `path` to now; false when there is no such file.
bool Refresh(const std::string& path) {
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
  return !ec;
}

// Refreshes `path`, or creates it empty (and its directory). Markers are not fsynced: one lost
// to a power cut costs its user one more upload of the bytes.
Status Touch(const std::string& path) {
  if (Refresh(path)) return Status::Ok();
  if (Status s = executor::MakePrivateDirs(fs::path(path).parent_path().string()); !s.ok())
    return s;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(path + ": " + std::strerror(errno));
  ::close(fd);
  return Status::Ok();
}

}  // namespace

std::string SnapshotStore::MarkerPath(const std::string& user, const char* kind,
                                      const std::string& hex) const {
  // A key, not the name: a user name is not a path component.
  return dir_ + "/owners/" + Sha256Hex(user).substr(0, 32) + "/" + kind + "/" + hex;
}

std::vector<std::string> SnapshotStore::MissingLocked(const std::string& user,
                                                      const api::DatasetManifest& m) const {
  std::vector<std::string> out;
  for (const auto& f : m.files) {
    std::error_code ec;
    const bool sent = fs::exists(MarkerPath(user, "blobs", f.sha256), ec);
    if (!sent || !Refresh(BlobPath(f.sha256))) out.push_back(f.sha256);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> SnapshotStore::Missing(const std::string& user,
                                                const api::DatasetManifest& m) const {
  std::shared_lock lock(mu_);
  return MissingLocked(user, m);
}

bool SnapshotStore::RecordedBy(const std::string& user, const std::string& digest) const {
  if (!digest.starts_with("sha256:") || !IsSha256Hex(std::string_view(digest).substr(7)))
    return false;
  std::shared_lock lock(mu_);
  std::error_code ec;
  return fs::exists(MarkerPath(user, "manifests", digest.substr(7)), ec);
}

Status SnapshotStore::PutBlob(const std::string& user, const std::string& sha256,
                              std::string_view bytes) {
  std::string actual = Sha256Hex(bytes);
  if (actual != sha256)
    return Status::InvalidArgument("blob " + sha256 + ": the bytes hash to " + actual);
  std::shared_lock lock(mu_);
  std::error_code ec;
  const bool sent_before = fs::exists(MarkerPath(user, "blobs", sha256), ec);
  // Bytes this user has not sent before cost the same durable write whether or not another
  // user stored them: how fast the answer comes must not tell either (see the top of the
  // header). Sent before: refreshed, young again.
  if (!sent_before || !Refresh(BlobPath(sha256)))
    if (Status s = WriteFileDurably(BlobPath(sha256), bytes, 0444); !s.ok()) return s;
  return Touch(MarkerPath(user, "blobs", sha256));
}

Status SnapshotStore::Record(const std::string& user, const api::DatasetManifest& m) {
  if (m.TotalBytes() > max_bytes_)
    return Status::ResourceExhausted(
        client::FormatBytes(m.TotalBytes()) + " in " + std::to_string(m.files.size()) +
        " files is over the snapshot cap of " + client::FormatBytes(max_bytes_) +
        " (list large files in .gitignore; data belongs in a dataset)");
  std::shared_lock lock(mu_);
  std::vector<std::string> missing = MissingLocked(user, m);
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
  const std::string digest = m.Digest();
  if (Status s = WriteFileDurably(ManifestPath(digest), m.Canonical(), 0444); !s.ok()) return s;
  return Touch(MarkerPath(user, "manifests", digest.substr(digest.find(':') + 1)));
}

Result<api::DatasetManifest> SnapshotStore::Get(const std::string& digest) const {
  std::shared_lock lock(mu_);
  return GetLocked(digest);
}

Result<api::DatasetManifest> SnapshotStore::GetLocked(const std::string& digest) const {
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
  std::shared_lock lock(mu_);
  auto m = GetLocked(digest);
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

Result<SnapshotCollection> SnapshotStore::Collect(const std::set<std::string>& keep,
                                                  std::chrono::seconds grace) {
  std::unique_lock lock(mu_);
  const auto cutoff = fs::file_time_type::clock::now() - grace;
  SnapshotCollection out;
  std::set<std::string> live;
  if (Status s = SweepManifests(keep, cutoff, &live, &out); !s.ok()) return Error(s);
  if (Status s = SweepBlobs(live, cutoff, &out); !s.ok()) return Error(s);
  SweepMarkers();  // markers are empty files: nothing to count in bytes
  return out;
}

namespace {

// Removes `entry` when it was last written before `cutoff`; adds its size to `*freed`.
bool RemoveIfOlder(const fs::directory_entry& entry, fs::file_time_type cutoff, int64_t* freed) {
  std::error_code ec;
  const auto mtime = entry.last_write_time(ec);
  if (ec || mtime >= cutoff) return false;
  const uintmax_t size = entry.file_size(ec);
  if (!fs::remove(entry.path(), ec) || ec) return false;
  *freed += static_cast<int64_t>(size);
  return true;
}

}  // namespace

Status SnapshotStore::SweepManifests(const std::set<std::string>& keep, fs::file_time_type cutoff,
                                     std::set<std::string>* live, SnapshotCollection* out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/manifests", ec)) {
    const std::string name = entry.path().filename().string();
    const std::string hex = name.substr(0, name.find('.'));
    if (!IsSha256Hex(hex) || name != hex + ".json") {  // a temp file of a write cut short
      out->leftovers_removed += RemoveIfOlder(entry, cutoff, &out->bytes_freed);
      continue;
    }
    const std::string digest = "sha256:" + hex;
    if (!keep.count(digest) && RemoveIfOlder(entry, cutoff, &out->bytes_freed)) {
      ++out->manifests_removed;
      continue;
    }
    // A manifest that stays but does not parse (a disk fault: Record writes durably) protects
    // none of its blobs; the job that names it could not be extracted or rerun anyway.
    if (auto m = GetLocked(digest))
      for (const auto& f : m->files) live->insert(f.sha256);
  }
  if (ec) return Status::IoError(dir_ + "/manifests: " + ec.message());
  return Status::Ok();
}

Status SnapshotStore::SweepBlobs(const std::set<std::string>& live, fs::file_time_type cutoff,
                                 SnapshotCollection* out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/blobs", ec)) {
    const std::string name = entry.path().filename().string();
    if (!IsSha256Hex(name))
      out->leftovers_removed += RemoveIfOlder(entry, cutoff, &out->bytes_freed);
    else if (!live.count(name))
      out->blobs_removed += RemoveIfOlder(entry, cutoff, &out->bytes_freed);
  }
  if (ec) return Status::IoError(dir_ + "/blobs: " + ec.message());
  return Status::Ok();
}

void SnapshotStore::SweepMarkers() {
  std::error_code ec;
  for (const auto& user : fs::directory_iterator(dir_ + "/owners", ec)) {
    std::error_code inner;
    for (const auto& m : fs::directory_iterator(user.path() / "blobs", inner))
      if (!fs::exists(BlobPath(m.path().filename().string()), inner)) fs::remove(m.path(), inner);
    for (const auto& m : fs::directory_iterator(user.path() / "manifests", inner))
      if (!fs::exists(ManifestPath("sha256:" + m.path().filename().string()), inner))
        fs::remove(m.path(), inner);
  }
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

int StagedTree::RemoveLeftovers(const std::string& parent, std::chrono::seconds grace) {
  const auto cutoff = fs::file_time_type::clock::now() - grace;
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    if (!entry.path().filename().string().starts_with(".staged-")) continue;
    std::error_code age;
    if (entry.last_write_time(age) >= cutoff || age) continue;
    removed += fs::remove_all(entry.path(), age) > 0;
  }
  return removed;
}

Status StagedTree::MoveTo(const std::string& dest) {
  std::error_code ec;
  if (Status s = executor::MakePrivateDirs(fs::path(dest).parent_path().string()); !s.ok())
    return s;
  fs::remove_all(dest, ec);
  if (::rename(path_.c_str(), dest.c_str()) != 0)
    return Status::IoError(dest + ": " + std::strerror(errno));
  path_.clear();
  return Status::Ok();
}

}  // namespace kumo::server
