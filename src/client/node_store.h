// NodeStore: a node's content-addressed copy of dataset files, DIR/objects/<aa>/<sha256>, shared
// by every pull and every job's datasets (server/job_datasets.h) on the node. A version already
// pulled once is materialised again with hard links only — no bytes move — which is why a warm
// pull beats `cp -r` (bench/datasets.sh).
//
// An object enters the store only after its bytes were checked against a manifest entry that
// names it (by XXH3-128 or SHA-256, dataset_client.h Verify): it is written to DIR/tmp, checked,
// then renamed into place (Adopt). The store trusts its names (Has looks at the size only), so
// what must never happen is a name whose bytes are not the ones it names.
//
// Verified after a machine crash, not synced on every pull. A process killed with -9 loses
// nothing it wrote: the page cache is the kernel's, so an adopted object's bytes are there for
// the next reader whether or not they reached the disk. Only a machine crash or power cut can
// leave a renamed name over bytes that never left the page cache, and a machine crash is a new
// boot (/proc/sys/kernel/random/boot_id changes). So DIR/boot_id records the boot in which the
// store was last known consistent, and Open in any other boot (or with no record) first
// recovers, holding DIR/lock so that one opener does it while the others wait:
//   1. everything in DIR/tmp goes (downloads and trees being built in the crashed boot);
//   2. when the record names another boot, every directory in Options::linked_trees is
//      emptied: its entries are trees of hard links to objects (the server's DATA_DIR/datasets),
//      and a link to a torn object is the torn inode itself, which dropping the object's name
//      would not reach. Removing them is cheaper than verifying them (a tree is rebuilt by
//      linking, no bytes move) and needs no manifest; nothing reads them across a reboot (no
//      task outlives the machine). With no record they stay: the store is new (the record is
//      written durably at its first Open, before any pull), or was written by a version that
//      synced every pull and its trees, whose tasks may still be running;
//   3. every object is hashed (SHA-256) against its name; one that does not match, or whose
//      name is not an object's, is removed and logged on stderr (a later pull fetches it);
//   4. one syncfs(2), so that the removals, and bytes that were verified but read from the page
//      cache (the boot that wrote them is this one: a record removed by hand), are on disk;
//   5. the current boot id is written to DIR/boot_id.
// A crash during recovery leaves the old record, so the next boot recovers again. Within one
// boot no pull waits for the disk: a pull that returned OK has the durability of `cp -r`
// (bytes in the page cache, on disk within the kernel's writeback interval), and after a crash
// the same pull again repairs its tree — the torn objects are gone from the store, and LinkTo
// replaces a link to any other inode. Recovery costs a read of every object (~0.7 s of CPU per
// GiB for SHA-256) once per boot; an Open in the recorded boot reads one small file.
//
// Objects are read-only (0444): a directory materialised from the store shares the store's
// inodes, so it is for reading (a job's dataset mount, a training input), not editing.
//
// Thread safety: concurrent use from threads and processes is safe: entries appear by rename
// and are never changed, and recovery is serialised by flock(2) on DIR/lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace kumo::client {

class NodeStore {
 public:
  struct Options {
    // The current boot's id (its first line). A test points it at a file it rewrites to
    // stand for a reboot.
    std::string boot_id_path = "/proc/sys/kernel/random/boot_id";
    // Directories whose every entry is a tree of hard links to this store's objects: emptied
    // by recovery (step 2 above). Missing ones are nothing to do.
    std::vector<std::string> linked_trees;
  };
  // What Open's recovery did; all zero when the store was consistent in this boot already.
  struct Recovery {
    bool recovered = false;        // the recorded boot was another one, or none
    int64_t objects_hashed = 0;    // objects read and checked against their names
    int64_t objects_dropped = 0;   // of those, removed (torn, or not named as an object)
    int64_t temps_removed = 0;     // entries of DIR/tmp
    int64_t trees_removed = 0;     // entries of the linked_trees directories
  };

  // Creates DIR/objects, its 256 fan-out directories and DIR/tmp if missing, then recovers
  // (above) unless DIR/boot_id names the current boot. IoError names the file that failed.
  static Result<NodeStore> Open(const std::string& dir, const Options& options);
  static Result<NodeStore> Open(const std::string& dir) { return Open(dir, Options()); }

  const Recovery& recovery() const { return recovery_; }
  std::string PathOf(const std::string& sha256) const;
  // Whether the object is here with `size` bytes.
  bool Has(const std::string& sha256, int64_t size) const;
  // A fresh temp path on the store's filesystem for a download: unique within this process
  // (a counter) and across processes (a random prefix drawn at Open).
  std::string TempPath() const;
  // Renames `tmp` into the object's place. REQUIRES: `tmp` is read-only (0444) and its bytes
  // were checked against a manifest entry whose sha256 is `sha256` (the store never holds an
  // unchecked object).
  Status Adopt(const std::string& tmp, const std::string& sha256);
  // Makes `dest` a hard link to the object (replacing what was there), unless it already is.
  Status LinkTo(const std::string& sha256, const std::string& dest) const;

 private:
  NodeStore(std::string dir, std::string temp_prefix, Recovery recovery)
      : dir_(std::move(dir)), temp_prefix_(std::move(temp_prefix)), recovery_(recovery),
        temp_count_(std::make_unique<std::atomic<uint64_t>>(0)) {}
  std::string dir_;
  std::string temp_prefix_;  // DIR/tmp/<pid>-<random>-
  Recovery recovery_;
  std::unique_ptr<std::atomic<uint64_t>> temp_count_;  // behind a pointer: NodeStore moves
};

}  // namespace kumo::client
