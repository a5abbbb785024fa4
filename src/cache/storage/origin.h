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
// Off the I/O workers: Fill only queues the copy and returns; a small pool of fill threads
// (OriginOptions::fill_threads) runs it and calls back. A worker that took a miss parks that
// connection and goes on serving its others (request_handler.h), so one slow origin read no
// longer stalls every connection of the worker that happened to take it.
//
// Single flight: concurrent misses of one name share the first one's copy — one copy, every
// waiter called back with its outcome (the origin is typically a slow or shared filesystem); a
// copy that finds the object already cached does nothing. The queue holds at most one entry per
// distinct name in flight, so it is bounded by the connections parked on misses.
//
// Thread safety: Fill may be called from any thread; callbacks run on a fill thread (never
// inside Fill); counters are relaxed atomics. The destructor finishes the copy in progress,
// answers queued fills kUnavailable and joins the pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "cache/storage/object_store.h"

namespace kumo::cache {

struct OriginOptions {
  int fill_threads = 4;  // copies in flight at once (distinct names); >= 1
  // Test seam: called on the fill thread with "bucket/key" before each copy starts, so a test
  // can hold a copy in flight (a slow origin) for as long as it likes. Null in production.
  std::function<void(const std::string& name)> before_copy;
};

class Origin {
 public:
  // The outcome of a fill. Ok: the object is cached now (copied by this fill, by a concurrent
  // one, or already there); NotFound: the origin has no such regular file (or the path crosses
  // a symlink); kResourceExhausted: the store refused it (shortage() says why); kUnavailable:
  // the origin shut down first; others: I/O.
  using FillDone = std::function<void(const StoreStatus&)>;

  // DIR must be a directory (it is opened once, so a later rename of DIR does not matter).
  static Result<std::unique_ptr<Origin>> Open(const std::string& dir,
                                              OriginOptions options = {});
  ~Origin();

  // Makes bucket/key resident in `store` from the origin, on a fill thread; `done` is called
  // once, on a fill thread, when it is. REQUIRES: `store` outlives this Origin.
  void Fill(std::string_view bucket, std::string_view key, ObjectStore* store, FillDone done);

  uint64_t fetches() const { return fetches_.load(std::memory_order_relaxed); }
  uint64_t fetched_bytes() const { return fetched_bytes_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    std::string bucket, key;
    ObjectStore* store;
  };
  Origin(int dir_fd, OriginOptions options);
  void FillLoop();
  // Answers every waiter of `name` with `s` and ends its flight.
  void Land(const std::string& name, const StoreStatus& s);
  StoreStatus Copy(std::string_view bucket, std::string_view key, ObjectStore* store);

  const int dir_fd_;
  const OriginOptions options_;
  std::mutex mu_;
  std::condition_variable queued_;  // a job was queued, or stopping_
  std::deque<Job> queue_;           // guarded by mu_
  // "bucket/key" -> the callbacks waiting for its copy (queued or running); guarded by mu_.
  std::map<std::string, std::vector<FillDone>> flights_;
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> fetches_{0}, fetched_bytes_{0}, errors_{0};
};

}  // namespace kumo::cache
