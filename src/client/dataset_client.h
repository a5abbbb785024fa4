// The client side of datasets (docs/datasets.md): push a directory as a new version, pull a
// version into a directory. The API (ApiClient) carries only metadata; the bytes go straight
// between this process and kumo cache, with the short-lived token the server hands out.
//
// Push: list DIR (regular files and directories only: a symlink or a device is an error naming
// it, since a version must be the same bytes for every reader), then on `parallel` threads hash
// each file (SHA-256 and XXH3-128 in one streamed read) and HEAD its object "<prefix><sha256>";
// only objects that are missing (or have another size) are uploaded, and the cache checks each
// upload's SHA-256 against its key (the server's upload token says so). Finally the manifest
// (both digests per file) is posted and the server, having checked that every object is there,
// numbers the version. An interrupted push leaves its uploaded objects in the cache, so running
// it again sends only the rest.
//
// Pull: every file of the manifest is fetched into DIR/path through a temp file renamed into
// place, and checked against the manifest the server sent (Verify below; a mismatch is an error
// and leaves no file). The bytes are checked as they are written to the temp file, one pass.
// A file already in DIR with the manifest's size and checksum is kept, so an interrupted pull
// resumes. Files in DIR that the manifest does not name are left alone. Through a node store
// (TransferOptions::node_store) nothing is synced, as `cp -r` syncs nothing: the store is
// verified after a machine crash instead, and the same pull again repairs the tree then
// (node_store.h).
//
// Thread safety: one call at a time per ApiClient.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "api/dataset_manifest.h"
#include "cache/client/client.h"
#include "client/api_client.h"
#include "client/node_store.h"

namespace kumo::client {

struct LocalFile {
  std::string path;  // relative to the directory, '/'-separated
  std::string abs;   // as opened
  int64_t size_bytes = 0;
  bool executable = false;  // the owner's x bit
};

// The regular files under `dir`, sorted by path. InvalidArgument names a symlink, a special
// file or a name the manifest cannot hold — unless `skipped` is given: then symlinks and
// special files, and ".git" directories, are left out and their paths appended to it (code
// snapshots, which take a work tree as it is).
Result<std::vector<LocalFile>> ListTree(const std::string& dir,
                                        std::vector<std::string>* skipped = nullptr);
struct FileDigests {
  std::string sha256;  // 64 hex digits: the object's name (its identity)
  std::string xxh3;    // 32 hex digits: XXH3-128, the fast checksum a pull verifies
};
// Both digests of the file's bytes, from one streamed read.
Result<FileDigests> DigestFile(const std::string& path);

// What a pull checks each fetched object against (docs/datasets.md, "Verification").
// kFast: the manifest's XXH3-128 (~0.1 s of CPU per GiB), or its SHA-256 when the manifest has
//   no XXH3 (versions pushed before it, or by the Python client). The SHA-256 was checked by
//   the cache when the object was uploaded; this catches corruption at rest and in transit.
// kSha256: the full SHA-256 of every object (~0.7 s per GiB), for a cache that is not trusted
//   to have checked it (`kumo dataset pull --verify sha256`).
enum class Verify { kFast, kSha256 };

struct TransferOptions {
  int parallel = 8;        // files in flight
  bool progress = true;    // a bar on stderr when it is a terminal
  // Pull: a node store directory (node_store.h). Files come from it by hard link when present,
  // and are fetched into it otherwise; the pulled tree shares its read-only inodes. Empty: the
  // files are fetched straight into the destination as independent copies.
  std::string node_store;
  Verify verify = Verify::kFast;  // pull
};

struct TransferReport {
  nlohmann::json version;  // the server's description of the version
  uint64_t files = 0, bytes = 0;
  uint64_t moved_files = 0, moved_bytes = 0;  // sent (push) or fetched (pull)
  double seconds = 0;
};

// `project` may be empty: the dataset's owner, or the user's only project for a new dataset.
Result<TransferReport> PushDataset(ApiClient& api, const std::string& name,
                                   const std::string& dir, const std::string& project,
                                   const TransferOptions& options);
// `version`: "3" or "latest".
Result<TransferReport> PullDataset(ApiClient& api, const std::string& name,
                                   const std::string& version, const std::string& dir,
                                   const TransferOptions& options);

// Fetches the files of `manifest` (objects `prefix` + sha256 in `bucket`) into `dir` — through
// `store` by hard link when it is not null (node_store.h; a failure adopts no object), else as
// checked copies — on
// `parallel` threads; `on_file` is called once per file (from any of them) with its size and
// whether its bytes came from the cache; every fetched object is checked as `verify` says.
// PullDataset and the server's job datasets use it.
Status FetchVersion(cache::CacheClient& cache, const std::string& bucket,
                    const std::string& prefix, const api::DatasetManifest& manifest,
                    const std::string& dir, NodeStore* store, int parallel,
                    const std::function<void(uint64_t bytes, bool fetched)>& on_file,
                    Verify verify = Verify::kFast);

// "mnist@3" -> {"mnist", "3"}; "mnist" -> {"mnist", default_version}.
std::pair<std::string, std::string> SplitNameVersion(const std::string& text,
                                                     const std::string& default_version);

}  // namespace kumo::client
