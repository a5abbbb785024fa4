// SnapshotStore: immutable code snapshots on the server's disk (DATA_DIR/snapshots).
//
// A snapshot is a manifest (api/dataset_manifest.h: path, size, sha256, executable) and its
// blobs, content-addressed: blobs/<sha256> (one file per distinct content, shared by every
// snapshot that holds it) and manifests/<hex digest>.json. `kumo submit` uploads the submit
// directory this way (only blobs the server lacks), the submission names the digest, and the
// job's tasks run in a copy extracted for that job — so editing the directory after submit
// changes nothing, and the Result's snapshot digest names exactly the tree that ran.
//
// Every file is written to a temp name, fsynced and renamed, then the directory fsynced, before
// the call returns: a 2xx answer survives kill -9. A blob is accepted only when its bytes hash to
// its name; a manifest only when all its blobs are present and its total is within the cap.
//
// Thread safety: concurrent calls are safe (writes are atomic renames of complete files;
// a blob written twice at once is the same bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/dataset_manifest.h"
#include "base/status.h"

namespace kumo::server {

class SnapshotStore {
 public:
  // `dir` is created if missing. `max_bytes`: the largest snapshot accepted.
  SnapshotStore(std::string dir, int64_t max_bytes);

  int64_t max_bytes() const { return max_bytes_; }
  // The digests (sha256 hex) of the manifest's blobs that are not stored yet.
  std::vector<std::string> Missing(const api::DatasetManifest& m) const;
  // Stores `bytes` as blob `sha256`. InvalidArgument when they hash to something else.
  Status PutBlob(const std::string& sha256, std::string_view bytes);
  // Records the manifest. ResourceExhausted above the cap; FailedPrecondition naming a missing
  // blob; InvalidArgument naming an entry whose declared size is not its blob's.
  Status Record(const api::DatasetManifest& m);
  // The manifest with this digest ("sha256:..."); NotFound when there is none.
  Result<api::DatasetManifest> Get(const std::string& digest) const;
  // Copies the snapshot's files into `dest` (created; must not exist), 0755 for executables
  // and 0644 otherwise.
  Status Extract(const std::string& digest, const std::string& dest) const;

 private:
  std::string BlobPath(const std::string& sha256) const { return dir_ + "/blobs/" + sha256; }
  std::string ManifestPath(const std::string& digest) const;

  std::string dir_;
  int64_t max_bytes_;
};

// A snapshot extracted under a temporary name in `parent` (before the job it is for has an id),
// then moved into place; removed on destruction unless it was moved.
class StagedTree {
 public:
  static Result<StagedTree> Stage(const SnapshotStore& store, const std::string& digest,
                                  const std::string& parent);
  StagedTree(StagedTree&& o) noexcept : path_(std::exchange(o.path_, "")) {}
  StagedTree& operator=(StagedTree&&) = delete;
  ~StagedTree();
  // Renames the tree to `dest` (replacing a leftover of a submission that never committed).
  Status MoveTo(const std::string& dest);

 private:
  explicit StagedTree(std::string path) : path_(std::move(path)) {}
  std::string path_;  // empty once moved
};

}  // namespace kumo::server
