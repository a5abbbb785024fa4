// Read-through from an origin directory (`--origin DIR`): a GET that misses locally looks for
// DIR/bucket/key, copies it into the ObjectStore (through BeginPut/Append/Commit, so it is atomic,
// counted against capacity, evicts as needed and a full disk discards it) and the caller then
// serves the cached copy.
//
// Path safety: bucket and key are validated (again, after the server's check) as object names
// (object_path.h: no empty, "." or ".." segment, no NUL). Each segment is opened with
// openat(O_NOFOLLOW) from a descriptor of DIR, directories with O_DIRECTORY, so no symlink is
// followed anywhere below DIR (not even one that points inside it) and nothing outside DIR is
// reachable; the leaf must be a regular file.
//
// Single flight: concurrent misses of one name wait for the first one's copy instead of
// copying again (the origin is typically a slow or shared filesystem); a fetch that finds the
// object already cached does nothing.
//
// The copy runs on the calling thread (a server worker), so that worker's other connections
// wait for it; fine for a local or NFS origin of dataset-sized files, and the next step is a
// copy thread that resumes the request.
//
// Thread safety: Fetch may be called concurrently; counters are relaxed atomics.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cache/storage/object_store.h"

namespace kumo::cache {

class Origin {
 public:
  // DIR must be a directory (it is opened once, so a later rename of DIR does not matter).
  static Result<std::unique_ptr<Origin>> Open(const std::string& dir);
  ~Origin();

  // Makes bucket/key resident in `store` from the origin. Ok: it is cached now (fetched by this
  // call, by a concurrent one, or already there); NotFound: the origin has no such regular
  // file (or the path crosses a symlink); kResourceExhausted: the store refused it (shortage()
  // says why); others: I/O.
  StoreStatus Fetch(std::string_view bucket, std::string_view key, ObjectStore* store);

  uint64_t fetches() const { return fetches_.load(std::memory_order_relaxed); }
  uint64_t fetched_bytes() const { return fetched_bytes_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Flight {
    bool done = false;
    StoreStatus status;
  };
  explicit Origin(int dir_fd) : dir_fd_(dir_fd) {}
  StoreStatus Copy(std::string_view bucket, std::string_view key, ObjectStore* store);

  const int dir_fd_;
  std::mutex mu_;
  std::condition_variable landed_;                          // a flight finished
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by mu_; "bucket/key"
  std::atomic<uint64_t> fetches_{0}, fetched_bytes_{0}, errors_{0};
};

}  // namespace kumo::cache
