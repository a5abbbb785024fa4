// Store: kumo server's durable state in SQLite (WAL), with group commit.
//
// Writes are queued by any thread and applied by one writer thread, which takes every write
// queued so far, runs them in one transaction and commits with synchronous=FULL (the WAL is
// fsynced before Commit's future is ready). A caller that waits for the future before answering
// (HTTP 201) therefore only acknowledges what survives `kill -9` and power loss alike; batching
// keeps the fsync count low under concurrent submissions (one fsync for many requests, as in
// PostgreSQL's commit_delay or InnoDB's group commit).
//
// Writes are applied in the order they were queued. A write that fails (constraint, disk full)
// fails its own future only: the writer runs each write inside a savepoint, so the others in the
// batch still commit.
//
// Reads (Query) use their own connection; they see committed data only. The server reads the
// store at start-up and otherwise serves reads from memory.
//
// Schema: versioned by `PRAGMA user_version`; Open() applies the missing migrations in order
// (kMigrations in store.cc), each in its own transaction.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/prometheus.h"
#include "base/status.h"

namespace kumo::store {

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct Statement {
  std::string sql;
  std::vector<Value> params;  // bound to ?1, ?2, ...
};

// One row of a query result, column values in select order.
using Row = std::vector<Value>;

int64_t AsInt(const Value& v);         // 0 for null
double AsDouble(const Value& v);       // 0 for null
std::string AsString(const Value& v);  // "" for null

class Store {
 public:
  ~Store();
  // Opens (creating if needed) the database at `path` and migrates it to the current schema.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  // Queues statements to run atomically (all or none) in the next group commit.
  std::future<Status> Write(std::vector<Statement> statements);
  // Write() and wait.
  Status WriteSync(std::vector<Statement> statements);

  Status Query(const std::string& sql, const std::vector<Value>& params,
               const std::function<void(const Row&)>& on_row);

  int schema_version() const { return schema_version_; }
  int64_t commits() const;  // transactions committed so far (for benchmarks and tests)
  // Seconds each group commit took, BEGIN to COMMIT (fsync included), for /metrics.
  const prometheus::Histogram& commit_seconds() const { return commit_seconds_; }

 private:
  Store() = default;
  void WriterLoop();

  sqlite3* write_db_ = nullptr;  // used by the writer thread only (and Open)
  sqlite3* read_db_ = nullptr;   // guarded by read_mu_
  std::mutex read_mu_;
  int schema_version_ = 0;

  struct Pending {
    std::vector<Statement> statements;
    std::promise<Status> done;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  int64_t commits_ = 0;        // guarded by mu_
  prometheus::Histogram commit_seconds_{prometheus::LatencyBoundsSeconds()};
  std::thread writer_;
};

}  // namespace kumo::store
