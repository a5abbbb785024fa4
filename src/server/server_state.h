// ServerState: what the control plane's rooms share — the records, the store, the executor,
// the inventory — under one mutex, and the one way to persist a change.
//
//   ApiHandlers ──┐                         ┌──► JobStore / store::Store (SQLite, group commit)
//                 ├──► ServerState (mu) ────┤
//   SchedulingLoop┘        ▲                └──► executor (signals; the loop also launches)
//                          └── ControlPlane builds it, restores it, reconciles it
//
// Every change is written through: under `mu` a room changes the records and queues the
// statements that record it (SaveJob, SaveTasks, AddEvent, `pending_writes`); Flush hands them
// to the store, whose future says when they committed. An API write answers only after that
// future, so what a client was told survives kill -9.
//
// Thread safety: fields marked "guarded by mu" and every method not marked otherwise
// REQUIRE mu held. `config`, `clock`, `inventory` and the pointers are set before any thread
// starts and not changed after.
#pragma once

#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "executor/inventory.h"
#include "executor/executor.h"
#include "server/attained_service.h"
#include "server/cache_token_issuer.h"
#include "server/job_store.h"
#include "server/metrics.h"
#include "server/snapshot_store.h"
#include "server/records.h"
#include "server/server_config.h"
#include "store/store.h"

namespace kumo::server {

struct ServerState {
  ServerState(ServerConfig config, const Clock& clock) : config(std::move(config)), clock(clock) {}

  ServerConfig config;
  const Clock& clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<JobStore> job_store;
  std::unique_ptr<CacheTokenIssuer> cache_tokens;  // signs the cache tokens of datasets
  std::unique_ptr<SnapshotStore> snapshots;        // code snapshots (DATA_DIR/snapshots)
  std::unique_ptr<executor::Executor> executor;
  executor::Inventory inventory;
  ServerMetrics metrics;  // thread-safe instruments: no lock needed

  mutable std::mutex mu;
  // Shared while a job's datasets are materialised and linked; exclusive while the node store is
  // collected (node_store_gc.h), so a tree is never removed as it is being given to a job.
  std::shared_mutex node_store_mu;
  std::condition_variable cv;      // the loop waits on it; Kick wakes it
  // Long polls (/v1/events?wait=S) wait on `changed` for `changes` to move: every Kick and
  // every event moves it.
  std::condition_variable changed;
  int64_t changes = 0;             // guarded by mu
  bool dirty = true;               // guarded by mu: something changed since the last pass
  bool stopping = false;           // guarded by mu
  std::map<int64_t, JobRec> jobs;  // guarded by mu
  std::map<std::string, int64_t> idempotency;    // IdempotencyScope -> job id; guarded by mu
  std::map<std::string, UserRec> users;          // guarded by mu
  std::map<std::string, TokenRec> tokens;        // sha256 -> token; guarded by mu
  std::map<std::string, ProjectRec> projects;    // guarded by mu
  std::map<std::string, std::string> cordoned;   // node -> reason; guarded by mu
  std::vector<store::Statement> pending_writes;  // guarded by mu
  int64_t next_job_id = 1;                       // guarded by mu
  // LAS: what jobs attained and the finished jobs' history; guarded by mu (the loop updates it,
  // /metrics reads the thresholds).
  AttainedService attained{config.policy};

  // Marks the state changed and wakes the loop and the long polls.
  void Kick();
  // Queue the statements recording a job, its current attempt's tasks, an event.
  void SaveJob(const JobRec& job);
  void SaveTasks(const JobRec& job);
  // `job` null for events of nodes and projects. `now` in seconds since the epoch.
  void AddEvent(const JobRec* job, const std::string& object, const std::string& type,
                const std::string& reason, const std::string& message, double now);
  // Hands pending_writes to the store. barrier: the future is ready only when every earlier
  // write has committed too (for reads that must see what the loop recorded).
  std::future<Status> Flush(bool barrier = false);
  // A new bearer token for `user` ("kumo_" + 40 random alphanumerics); only its hash is kept.
  // ttl_s > 0: it expires ttl_s seconds after `now`.
  std::string CreateToken(const std::string& user, double now, double ttl_s = 0);
  // Forgets every token of `user` (queues the delete); returns how many there were.
  int RevokeTokens(const std::string& user);

  // These read only `config`: no lock needed.
  std::string JobDir(int64_t id) const;
  std::string AttemptDir(int64_t id, int32_t attempt) const;
};

// Idempotency-Keys are the submitter's: two users' equal keys name two jobs.
inline std::string IdempotencyScope(const std::string& user, const std::string& key) {
  return user + '\n' + key;  // '\n' cannot occur in a header value nor in a user name
}

inline bool MayAccess(const UserRec& user, const std::string& project) {
  return user.admin || user.projects.count(project) > 0;
}

}  // namespace kumo::server
