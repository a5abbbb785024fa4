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
// Collection (Collect) is mark and sweep with a grace period, as a container registry's garbage
// collection: what no job names and nobody touched for `grace` goes. An upload is several
// requests (POST the manifest to learn what is Missing, PUT the blobs, POST again to Record,
// then submit the job naming the digest), and nothing names its objects until the last; so
// every step refreshes the mtime of what it relies on — Missing and PutBlob a blob already
// stored, Record its manifest — and an upload whose steps all fall within `grace` of each other
// never loses an object to a collection running between them. Without it, any user could fill
// the server's disk with blobs no snapshot names (docs/security.md).
//
// Blobs are shared by content, but what a user may name is only what that user sent: the store
// keeps a marker per user and object (owners/<user key>/{blobs,manifests}/<hex>, empty files).
// Missing answers for the asking user — a blob another user stored is still missing for them,
// so the answer says nothing about anyone else's files (otherwise any user could confirm a
// guess of another's file, 10^5 guesses a request, and then run a job that prints it) — Record
// takes only blobs the user sent, and a job may name only a snapshot its submitter recorded
// (or the one of a job it reruns). Markers go when their object goes.
//
// Thread safety: concurrent calls are safe (writes are atomic renames of complete files;
// a blob written twice at once is the same bytes); Collect excludes every other call while it
// runs, so no step of an upload interleaves with a sweep.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/dataset_manifest.h"
#include "base/status.h"

namespace kumo::server {

// What one collection removed.
struct SnapshotCollection {
  int manifests_removed = 0;
  int64_t blobs_removed = 0;
  int64_t bytes_freed = 0;    // of the manifests and blobs removed
  int leftovers_removed = 0;  // temp files of writes interrupted by a crash
};

class SnapshotStore {
 public:
  // `dir` is created if missing. `max_bytes`: the largest snapshot accepted.
  SnapshotStore(std::string dir, int64_t max_bytes);

  int64_t max_bytes() const { return max_bytes_; }
  // The digests (sha256 hex) of the manifest's blobs that `user` has not sent (or that are not
  // stored any more). Refreshes the mtime of the others: the client will not send them (see the
  // collection above).
  std::vector<std::string> Missing(const std::string& user, const api::DatasetManifest& m) const;
  // Stores `bytes` as blob `sha256` (or refreshes its mtime when it is stored already) as sent
  // by `user`. InvalidArgument when they hash to something else.
  Status PutBlob(const std::string& user, const std::string& sha256, std::string_view bytes);
  // Records the manifest as `user`'s. ResourceExhausted above the cap; FailedPrecondition naming
  // a blob the user has not sent; InvalidArgument naming an entry whose declared size is not its
  // blob's.
  Status Record(const std::string& user, const api::DatasetManifest& m);
  // Whether `user` recorded the manifest with this digest.
  bool RecordedBy(const std::string& user, const std::string& digest) const;
  // The manifest with this digest ("sha256:..."); NotFound when there is none.
  Result<api::DatasetManifest> Get(const std::string& digest) const;
  // Copies the snapshot's files into `dest` (created; must not exist), 0755 for executables
  // and 0644 otherwise.
  Status Extract(const std::string& digest, const std::string& dest) const;

  // Removes every manifest no digest in `keep` names ("sha256:...") that was last written more
  // than `grace` ago; then every blob no remaining manifest names that was last written or
  // refreshed more than `grace` ago; and temp files older than `grace`.
  // REQUIRES: `keep` holds every digest a job names (describe and `kumo rerun` read them).
  Result<SnapshotCollection> Collect(const std::set<std::string>& keep,
                                     std::chrono::seconds grace);

 private:
  std::string BlobPath(const std::string& sha256) const { return dir_ + "/blobs/" + sha256; }
  std::string ManifestPath(const std::string& digest) const;
  // owners/<key of user>/<kind>/<hex>; kind is "blobs" or "manifests".
  std::string MarkerPath(const std::string& user, const char* kind, const std::string& hex) const;
  std::vector<std::string> MissingLocked(const std::string& user,
                                         const api::DatasetManifest& m) const;
  Result<api::DatasetManifest> GetLocked(const std::string& digest) const;
  // Removes the markers of objects that are gone.
  void SweepMarkers();
  // Sweeps manifests/; fills `live` with the blobs of those that stay.
  Status SweepManifests(const std::set<std::string>& keep, std::filesystem::file_time_type cutoff,
                        std::set<std::string>* live, SnapshotCollection* out);
  Status SweepBlobs(const std::set<std::string>& live, std::filesystem::file_time_type cutoff,
                    SnapshotCollection* out);

  std::string dir_;
  int64_t max_bytes_;
  // Shared by every call but Collect, which holds it exclusively.
  mutable std::shared_mutex mu_;
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
  // Removes the trees Stage left in `parent` more than `grace` ago — a server killed between
  // Stage and MoveTo leaves one. Returns how many.
  static int RemoveLeftovers(const std::string& parent, std::chrono::seconds grace);

 private:
  explicit StagedTree(std::string path) : path_(std::move(path)) {}
  std::string path_;  // empty once moved
};

}  // namespace kumo::server
