// NodeStore: a node's content-addressed copy of dataset files, DIR/objects/<aa>/<sha256>, shared
// by every pull and every job's datasets (server/job_datasets.h) on the node. A version already pulled once is
// materialised again with hard links only — no bytes move — which is why a warm pull beats
// `cp -r` (bench/datasets.sh).
//
// An object enters the store only after its bytes were checked against a manifest entry that
// names it (written to DIR/tmp, then renamed; by XXH3-128 or SHA-256, dataset_client.h Verify),
// and is made read-only (0444): a directory materialised from the store shares the
// store's inodes, so it is for reading (a job's dataset mount, a training input), not editing.
//
// Thread safety: concurrent use from threads and processes is safe: entries appear by rename
// and are never changed.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace kumo::client {

class NodeStore {
 public:
  // Creates DIR/objects and DIR/tmp if missing.
  static Result<NodeStore> Open(const std::string& dir);

  std::string PathOf(const std::string& sha256) const;
  // Whether the object is here with `size` bytes.
  bool Has(const std::string& sha256, int64_t size) const;
  // A fresh temp path on the store's filesystem for a download.
  std::string TempPath() const;
  // Renames `tmp` into the object's place, read-only. REQUIRES: the caller checked the bytes it
  // wrote to `tmp` against a manifest entry whose sha256 is `sha256` (the store never holds an
  // unchecked object).
  Status Adopt(const std::string& tmp, const std::string& sha256);
  // Makes `dest` a hard link to the object (replacing what was there), unless it already is.
  Status LinkTo(const std::string& sha256, const std::string& dest) const;

 private:
  explicit NodeStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace kumo::client
