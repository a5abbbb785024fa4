// The cache's objects on a local disk, with a capacity limit and an eviction policy.
//
// Layout: DIR/objects/<hh>/<16 hex> where the hex is XXH64("bucket/key") and hh its first two
// digits (256 directories, so no directory grows huge); DIR/tmp/ holds uploads in progress and
// is emptied on open. Each object file starts with a small header, then the bytes:
//   0  "KUMOOBJ1"            8 bytes magic
//   8  header_bytes          u32, 40 + name_bytes: where the object's bytes start
//   12 name_bytes            u32, length of "bucket/key"
//   16 size_bytes            u64
//   24 etag                  u64, XXH64 of the object's bytes
//   32 header_check          u64, XXH64 of bytes 0..31 and the name
//   40 name                  "bucket/key"
// (little-endian). Metadata travels with the bytes in one file, so one rename publishes both
// and restart rebuilds the index by reading headers — no xattrs (not every filesystem keeps
// them) and no second file to keep in step. A file whose header does not check out is removed
// on open. Two names whose XXH64 collide (≈ 2^-64 per pair) share a file: the later PUT wins
// and the earlier name reads as a miss.
//
// Durability: a PUT writes DIR/tmp/<n>, fsyncs it, renames it into place and fsyncs the
// directory before Commit() returns, so a 201 means the object survives a crash. Concurrent
// PUTs of one name each write their own temp file; renames are atomic and the index is updated
// under the same lock as the rename, so the last rename wins and readers see one whole object.
// A reader keeps its file descriptor, so replacing or evicting an object never cuts a
// download short.
//
// Capacity: BeginPut reserves the declared size, evicting until used + reserved + size fits;
// an object larger than the capacity is refused (Shortage::kRoom → 507), one larger than
// max_object_bytes too (Shortage::kObjectSize → 413). BeginStreamingPut (a chunked upload: the size
// is known only at its end) reserves as the bytes arrive, kReserveStepBytes at a time (or just
// what is needed when a step does not fit), evicting the same way: an Append that would pass
// max_object_bytes fails with kObjectSize (413), one that cannot be made room for with
// kRoom (507); either way nothing was published and destroying the writer removes
// the temp file. Commit releases what was reserved beyond the final size. A write that fails with
// ENOSPC (the disk is smaller than --capacity or shared) evicts and retries; if nothing is left to
// evict the upload is discarded (507). Nothing is renamed until it is complete, so a full disk
// never corrupts.
//
// Verified reads (`verify_reads`): the first Get of an index entry — created by a PUT commit or
// by Rebuild at start — reads the whole object once (outside the lock) and compares its XXH64
// with the header's etag; later Gets of the same entry only check a flag, so hits stay
// zero-copy (sendfile). A mismatch or a short file removes the entry and the file, counts
// corrupt_objects(), and reads as a miss (so --origin can fetch a good copy). The trade-off:
// bytes that rot on disk after their entry was verified are caught at the next restart, not on
// every read (verifying each read would cost a full read per request, ranges included).
// Stat (HEAD, sends no bytes) does not verify.
//
// Thread safety: all methods may be called concurrently; one mutex (`mu_`) guards the index
// and the policy. File I/O happens outside it except the rename and unlinks of victims.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "base/status.h"
#include "cache/storage/content_hash.h"
#include "cache/storage/eviction_policy.h"

namespace kumo::cache {

struct StoreOptions {
  std::string dir;
  uint64_t capacity_bytes = 0;
  uint64_t max_object_bytes = 0;  // 0: same as capacity
  std::string eviction = "s3fifo";
  // Resident objects keep their file open (a hit then costs no open/close) up to this many
  // descriptors; beyond it a read opens the file itself.
  size_t max_open_files = 8192;
  // Check each entry's content hash on its first Get (see "Verified reads" above).
  bool verify_reads = false;
};

// An open object file; the descriptor closes when the last holder lets go.
class ObjectFile {
 public:
  ObjectFile(int fd, uint64_t data_offset) : fd_(fd), data_offset_(data_offset) {}
  ~ObjectFile();
  ObjectFile(const ObjectFile&) = delete;
  ObjectFile& operator=(const ObjectFile&) = delete;
  int fd() const { return fd_; }
  uint64_t data_offset() const { return data_offset_; }  // where the object's byte 0 is

 private:
  int fd_;
  uint64_t data_offset_;
};

struct ObjectInfo {
  uint64_t size_bytes = 0;
  uint64_t etag = 0;  // XXH64 of the bytes
  std::shared_ptr<const ObjectFile> file;
};

class ObjectStore;

// What a refused upload ran short of. Both are StatusCode::kResourceExhausted; the HTTP layer
// answers by this reason, never by the message: 413 Content Too Large for the object's own limit
// (RFC 9110 §15.5.14), 507 Insufficient Storage for the cache's room (RFC 4918 §11.5).
enum class Shortage {
  kNone,        // not a shortage: any other status (or OK)
  kObjectSize,  // the object is over max_object_bytes, or over its declared size
  kRoom,        // the capacity or the disk cannot hold it, even after evicting
};

// A Status of the upload path (BeginPut, Append, Origin::Fill) that also says what ran short.
// It holds its Status rather than being one: a StoreStatus does not convert to a Status (which
// would drop the shortage and turn a 413 into a 507), nor a Status to a StoreStatus unless
// written out (`StoreStatus(Status::NotFound(...))`); status() gives the plain Status on purpose.
class StoreStatus {
 public:
  StoreStatus() = default;
  explicit StoreStatus(Status s) : status_(std::move(s)) {}  // any other outcome, as it is
  static StoreStatus ObjectTooLarge(std::string message) {
    return {Status::ResourceExhausted(std::move(message)), Shortage::kObjectSize};
  }
  static StoreStatus NoRoom(std::string message) {
    return {Status::ResourceExhausted(std::move(message)), Shortage::kRoom};
  }
  bool ok() const { return status_.ok(); }
  StatusCode code() const { return status_.code(); }
  const std::string& message() const { return status_.message(); }
  Shortage shortage() const { return shortage_; }
  const Status& status() const { return status_; }  // without the shortage

 private:
  StoreStatus(Status s, Shortage shortage) : status_(std::move(s)), shortage_(shortage) {}
  Status status_;
  Shortage shortage_ = Shortage::kNone;
};

template <typename T>
using StoreResult = std::expected<T, StoreStatus>;

// One upload in progress. Append the declared number of bytes (or, from BeginStreamingPut, any
// number up to max_object_bytes), then Commit. Destroying an uncommitted writer discards the
// upload and releases its reservation. Not thread-safe.
class PutWriter {
 public:
  ~PutWriter();
  StoreStatus Append(std::string_view bytes);
  // REQUIRES: exactly size_bytes appended (sized uploads). Durable when it returns OK.
  Result<ObjectInfo> Commit();
  // Sized uploads: bytes still to come. Streaming uploads: 0 (the end is the caller's to say).
  uint64_t remaining_bytes() const { return size_known_ ? size_bytes_ - written_ : 0; }
  uint64_t written_bytes() const { return written_; }

 private:
  friend class ObjectStore;
  PutWriter(ObjectStore* store, std::string name, std::optional<uint64_t> size_bytes, int fd,
            std::string tmp_path);
  ObjectStore* store_;
  std::string name_;  // "bucket/key"
  bool size_known_;
  uint64_t size_bytes_;  // the declared size; for a streaming upload set at Commit
  uint64_t reserved_;    // capacity this upload holds in ObjectStore::reserved_bytes_
  uint64_t written_ = 0;
  int fd_;
  std::string tmp_path_;
  ContentHasher hasher_;
  bool done_ = false;
};

class ObjectStore {
 public:
  // Creates DIR's layout if needed, empties DIR/tmp, rebuilds the index from the headers
  // (oldest modification first, so recency survives roughly), evicts if over capacity.
  static Result<std::unique_ptr<ObjectStore>> Open(StoreOptions options);
  ~ObjectStore();

  // A hit counts as an access for the policy; nullopt is a miss.
  std::optional<ObjectInfo> Get(std::string_view bucket, std::string_view key);
  // Like Get without telling the policy (HEAD, If-None-Match checks that send nothing).
  std::optional<ObjectInfo> Stat(std::string_view bucket, std::string_view key);
  StoreResult<std::unique_ptr<PutWriter>> BeginPut(std::string_view bucket, std::string_view key,
                                                   uint64_t size_bytes);
  // An upload whose size is not known up front (see Capacity above).
  StoreResult<std::unique_ptr<PutWriter>> BeginStreamingPut(std::string_view bucket,
                                                            std::string_view key);
  // How much a streaming upload reserves at a time.
  static constexpr uint64_t kReserveStepBytes = 4 << 20;
  // NotFound when absent.
  Status Delete(std::string_view bucket, std::string_view key);

  uint64_t used_bytes() const;
  uint64_t capacity_bytes() const { return options_.capacity_bytes; }
  size_t object_count() const;
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  // Objects whose bytes did not match their etag when verified (removed since).
  uint64_t corrupt_objects() const { return corrupt_.load(std::memory_order_relaxed); }
  std::string_view eviction_policy() const { return policy_->name(); }

 private:
  friend class PutWriter;
  struct Entry {
    uint64_t size_bytes = 0;
    uint64_t etag = 0;
    std::string path;
    std::shared_ptr<const ObjectFile> file;  // null when over max_open_files
    uint64_t version = 0;   // unique per entry: a verification applies to the entry it read
    bool verified = false;  // with verify_reads: the bytes matched etag once
  };

  explicit ObjectStore(StoreOptions options, std::unique_ptr<EvictionPolicy> policy);
  Status Rebuild();
  std::string PathFor(const std::string& name) const;
  std::optional<ObjectInfo> Lookup(std::string_view bucket, std::string_view key, bool touch);
  // Hashes `info`'s bytes; on a match marks entry `version` verified, otherwise removes it.
  bool VerifyEntry(const std::string& name, uint64_t version, const ObjectInfo& info);
  // Caller holds mu_. Evicts one object; false when nothing is resident.
  bool do_EvictOne();
  // Caller holds mu_. Evicts until `need` bytes fit, the caller's own `already_held`
  // reservation counted as replaced; kRoom when eviction cannot make the room.
  StoreStatus do_MakeRoom(uint64_t need, uint64_t already_held);
  // Caller holds mu_. Drops `name` from the index and the policy (its file stays).
  void do_Forget(const std::string& name);
  Result<ObjectInfo> CommitUpload(PutWriter* w, uint64_t etag);
  void ReleaseReservation(uint64_t bytes);
  // Grows w's reservation to at least `need` bytes (evicting), and its preallocated blocks.
  StoreStatus GrowReservation(PutWriter* w, uint64_t need);
  // Opens the temp file and makes the writer; `reserved` is already counted in reserved_bytes_.
  StoreResult<std::unique_ptr<PutWriter>> StartUpload(std::string name,
                                                      std::optional<uint64_t> size_bytes,
                                                      uint64_t reserved);
  // posix_fallocate of [offset, offset + len) of fd, evicting on ENOSPC.
  StoreStatus Preallocate(int fd, off_t offset, off_t len);
  // Evicts one object to free disk space after ENOSPC; false when nothing is left.
  bool EvictForSpace();

  const StoreOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<EvictionPolicy> policy_;                // guarded by mu_
  std::unordered_map<std::string, Entry> index_;          // guarded by mu_; key "bucket/key"
  std::unordered_map<std::string, std::string> by_path_;  // guarded by mu_; path → name
  uint64_t used_bytes_ = 0;                               // guarded by mu_
  uint64_t reserved_bytes_ = 0;                           // guarded by mu_
  size_t open_files_ = 0;                                 // guarded by mu_
  uint64_t next_version_ = 1;                             // guarded by mu_
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> corrupt_{0};
  std::atomic<uint64_t> tmp_counter_{0};
  int shard_dir_fds_[256];
};

}  // namespace kumo::cache
