// NodeStore: a node's content-addressed copy of dataset files, DIR/objects/<aa>/<sha256>, shared
// by every pull and every job's datasets (server/job_datasets.h) on the node. A version already pulled once is
// materialised again with hard links only — no bytes move — which is why a warm pull beats
// `cp -r` (bench/datasets.sh).
//
// An object enters the store only after its bytes were checked against a manifest entry that
// names it (by XXH3-128 or SHA-256, dataset_client.h Verify) and are on disk: it is written to
// DIR/tmp, checked, made durable (Sync), then renamed into place (Adopt). So a power cut can lose
// objects (a later pull fetches them again) but never leave a name whose bytes are not the ones
// it names — the store trusts its names (Has looks at the size only). Objects are read-only
// (0444): a directory materialised from the store shares the store's inodes, so it is for
// reading (a job's dataset mount, a training input), not editing.
//
// Thread safety: concurrent use from threads and processes is safe: entries appear by rename
// and are never changed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace kumo::client {

class NodeStore {
 public:
  // Creates DIR/objects, its 256 fan-out directories and DIR/tmp if missing.
  static Result<NodeStore> Open(const std::string& dir);

  std::string PathOf(const std::string& sha256) const;
  // Whether the object is here with `size` bytes.
  bool Has(const std::string& sha256, int64_t size) const;
  // A fresh temp path on the store's filesystem for a download: unique within this process
  // (a counter) and across processes (a random prefix drawn at Open).
  std::string TempPath() const;
  // Makes everything written on the store's filesystem durable: one syncfs(2), which writes
  // the file data and metadata of the whole filesystem (not only this store's) and waits.
  Status Sync() const;
  // Renames `tmp` into the object's place. REQUIRES: `tmp` is read-only (0444), its bytes were
  // checked against a manifest entry whose sha256 is `sha256` (the store never holds an
  // unchecked object), and Sync() ran after they were written (nor an undurable one).
  Status Adopt(const std::string& tmp, const std::string& sha256);
  // Makes `dest` a hard link to the object (replacing what was there), unless it already is.
  Status LinkTo(const std::string& sha256, const std::string& dest) const;

 private:
  NodeStore(std::string dir, std::string temp_prefix)
      : dir_(std::move(dir)), temp_prefix_(std::move(temp_prefix)),
        temp_count_(std::make_unique<std::atomic<uint64_t>>(0)) {}
  std::string dir_;
  std::string temp_prefix_;  // DIR/tmp/<pid>-<random>-
  std::unique_ptr<std::atomic<uint64_t>> temp_count_;  // behind a pointer: NodeStore moves
};

}  // namespace kumo::client
