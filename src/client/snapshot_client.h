// `kumo submit`'s code snapshot (docs/datasets.md, "Code snapshots"): the submit directory as
// it is at submit time — in a git work tree the tracked and untracked files that .gitignore
// does not exclude (`git ls-files --cached --others --exclude-standard`), elsewhere every
// regular file but .git — uploaded to the server (server/snapshot_handlers.h), which stores only
// blobs it lacks. Each file is read once into memory and hashed and sent from those bytes, so a
// file changing during the upload cannot make the snapshot disagree with itself; a file that
// vanished after listing is left out. Symlinks and special files are left out and reported.
// The server's cap (GET /v1/snapshots) is checked on the listed sizes before anything is read.
//
// Thread safety: one call at a time per ApiClient.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "client/api_client.h"

namespace kumo::client {

struct SnapshotInfo {
  std::string digest;  // "sha256:...", the manifest's digest (api/dataset_manifest.h)
  int64_t files = 0, bytes = 0, uploaded_bytes = 0;
  std::vector<std::string> skipped;  // symlinks, special files, .git
};

// ResourceExhausted names the total, the cap and the largest files when the tree is too big.
Result<SnapshotInfo> UploadSnapshot(ApiClient& api, const std::string& dir);

}  // namespace kumo::client
