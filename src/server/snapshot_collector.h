// Collects the code snapshots no job names (snapshot_store.h: mark and sweep with a grace), at
// start and then every `interval`, on a thread of its own: a sweep walks every blob, which must
// not hold the scheduling loop or an API worker.
//
// The mark is every job's `code_version.snapshot` — jobs are never forgotten, so neither are the
// snapshots they ran (`kumo rerun` of a year-old job still finds its code). What goes is what an
// upload left unnamed: a submission that was refused or never sent, blobs a client uploaded
// and never recorded. Staged trees of submissions cut short by a crash go too.
//
// Thread safety: the thread takes ServerState::mu only to read the jobs' digests, never while
// the store's collection runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/status.h"
#include "server/snapshot_store.h"

namespace kumo::server {

struct ServerState;

class SnapshotCollector {
 public:
  // REQUIRES: state.snapshots is set; `state` outlives this.
  SnapshotCollector(ServerState& state, std::chrono::seconds interval, std::chrono::seconds grace);
  ~SnapshotCollector();  // stops and joins the thread (a sweep in progress finishes first)
  SnapshotCollector(const SnapshotCollector&) = delete;
  SnapshotCollector& operator=(const SnapshotCollector&) = delete;

  // Starts the thread: one collection now, then one every `interval`.
  void Start();
  // One collection, on the caller's thread (what the thread runs; tests call it directly).
  Result<SnapshotCollection> CollectOnce();

 private:
  void Run();

  ServerState& state_;
  const std::chrono::seconds interval_, grace_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace kumo::server
