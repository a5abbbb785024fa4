#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <utility>

namespace kumo::store {
namespace {

// Schema migrations, applied in order; migration i brings user_version from i to i+1.
// Never edit a released migration: add a new one.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  weight REAL NOT NULL DEFAULT 1,
  guaranteed_gpu_milli INTEGER NOT NULL DEFAULT 0,
  max_gpu_milli INTEGER,                 -- NULL: no maximum
  created_at REAL NOT NULL
);
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  admin INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL
);
CREATE TABLE memberships (
  user TEXT NOT NULL REFERENCES users(name),
  project TEXT NOT NULL REFERENCES projects(name),
  PRIMARY KEY (user, project)
);
CREATE TABLE tokens (
  sha256 TEXT PRIMARY KEY,               -- hex SHA-256 of the bearer token; never the token
  user TEXT NOT NULL REFERENCES users(name),
  created_at REAL NOT NULL
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  user TEXT NOT NULL,
  name TEXT NOT NULL,
  spec_yaml TEXT NOT NULL,               -- the document as submitted
  spec_sha256 TEXT NOT NULL,
  submit_dir TEXT NOT NULL,
  code_version TEXT NOT NULL,            -- JSON from the client
  seed INTEGER NOT NULL,
  submit_time REAL NOT NULL,
  phase TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,    -- attempts started so far
  failures INTEGER NOT NULL DEFAULT 0,
  not_before REAL NOT NULL DEFAULT 0,    -- retry backoff: not started before this time
  start_time REAL,
  end_time REAL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT UNIQUE            -- a retried submission returns the job it made
);
CREATE INDEX jobs_by_phase ON jobs(phase);
CREATE TABLE tasks (
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  grp INTEGER NOT NULL,
  replica INTEGER NOT NULL,
  node TEXT NOT NULL,
  gpus TEXT NOT NULL,                    -- JSON [[index, milli], ...]
  run_dir TEXT NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0,
  start_ticks INTEGER NOT NULL DEFAULT 0,
  cgroup TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,                   -- running | exited | lost
  exit_code INTEGER,
  term_signal INTEGER,
  PRIMARY KEY (job_id, attempt, rank)
);
CREATE TABLE results (
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  record TEXT NOT NULL,                  -- JSON: provenance and outcome of the attempt
  PRIMARY KEY (job_id, attempt)
);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time REAL NOT NULL,
  job_id INTEGER,                        -- NULL for node/project events
  object TEXT NOT NULL,                  -- "job/12", "node/node-0", "project/vision"
  type TEXT NOT NULL,                    -- Submitted, Started, Preempted, ...
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_job ON events(job_id, seq);
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  cordoned INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT ''
);
)sql",
    // 2: usage history (server/history.h): one row per sample time and project.
    R"sql(
CREATE TABLE usage_history (
  time REAL NOT NULL,                    -- a multiple of the sampling interval
  project TEXT NOT NULL,                 -- '' for the whole cluster
  gpus_capacity REAL NOT NULL,           -- cluster: GPUs on schedulable nodes; project: guaranteed
  gpus_allocated REAL NOT NULL,
  running_jobs INTEGER NOT NULL,
  pending_jobs INTEGER NOT NULL,
  PRIMARY KEY (project, time)
);
CREATE INDEX usage_history_by_time ON usage_history(time);
)sql",
    // 3: token expiry; the priority classes a project's members may use; Idempotency-Keys
    // unique per user, not globally (SQLite cannot drop a column's UNIQUE: the table is
    // rebuilt, as https://sqlite.org/lang_altertable.html §7 describes).
    R"sql(
ALTER TABLE tokens ADD COLUMN expires_at REAL;            -- seconds since the epoch; NULL: never
ALTER TABLE projects ADD COLUMN priority_classes TEXT;    -- JSON list of names; NULL: default
CREATE TABLE jobs_v2 (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  user TEXT NOT NULL,
  name TEXT NOT NULL,
  spec_yaml TEXT NOT NULL,
  spec_sha256 TEXT NOT NULL,
  submit_dir TEXT NOT NULL,
  code_version TEXT NOT NULL,
  seed INTEGER NOT NULL,
  submit_time REAL NOT NULL,
  phase TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  attempt INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  not_before REAL NOT NULL DEFAULT 0,
  start_time REAL,
  end_time REAL,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  idempotency_key TEXT,                  -- a retried submission returns the job it made
  UNIQUE (user, idempotency_key)
);
INSERT INTO jobs_v2 SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_by_phase ON jobs(phase);
)sql",
    // 4: datasets (server/dataset_store.h). Versions are never renumbered: next_version only
    // grows, so "mnist@3" names one manifest for ever, even after version 3 is removed.
    R"sql(
CREATE TABLE datasets (
  name TEXT PRIMARY KEY,
  project TEXT NOT NULL REFERENCES projects(name),  -- the owner: reads and writes
  created_by TEXT NOT NULL,
  created_at REAL NOT NULL,
  next_version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE dataset_versions (
  name TEXT NOT NULL REFERENCES datasets(name),
  version INTEGER NOT NULL,
  digest TEXT NOT NULL,                  -- "sha256:" + hex of the canonical manifest
  manifest TEXT NOT NULL,                -- canonical JSON (api/dataset_manifest.h)
  files INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE dataset_grants (            -- projects that may read a dataset
  name TEXT NOT NULL REFERENCES datasets(name),
  project TEXT NOT NULL REFERENCES projects(name),
  PRIMARY KEY (name, project)
);
)sql",
    // 5: the dataset versions a job reads, pinned at submit (server/job_datasets.h).
    R"sql(
ALTER TABLE jobs ADD COLUMN datasets TEXT;  -- JSON [{name, version, digest}]; NULL: none
)sql",
    // 6: LAS's attained service (server/attained_service.h), so a restart does not start the
    // policy afresh: per job, the service of its ended attempts; and the window of finished
    // jobs its thresholds and minRuntime come from.
    R"sql(
CREATE TABLE job_service (
  job_id INTEGER PRIMARY KEY,
  ended_gpu_s REAL NOT NULL,             -- GPU-seconds attained in attempts that ended
  last_attempt INTEGER NOT NULL,         -- the last attempt counted in ended_gpu_s
  pending_since REAL NOT NULL,           -- when it last started waiting (seconds since the epoch)
  finished INTEGER NOT NULL DEFAULT 0,   -- 1: reported to service_history (or never ran)
  requeued_s REAL NOT NULL DEFAULT 0     -- its waits between attempts, seconds
);
CREATE TABLE service_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of finishing
  job_id INTEGER NOT NULL,
  attained_gpu_s REAL NOT NULL,          -- over all its attempts
  executed_s REAL NOT NULL               -- attained / GPUs
);
)sql",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status(StatusCode::kInternal, what + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status(StatusCode::kInternal, std::string("sqlite: ") + m);
  }
  return Status::Ok();
}

Status Bind(sqlite3* db, sqlite3_stmt* st, const std::vector<Value>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i) + 1, rc = SQLITE_OK;
    const Value& v = params[i];
    if (std::holds_alternative<std::nullptr_t>(v)) rc = sqlite3_bind_null(st, idx);
    if (auto* x = std::get_if<int64_t>(&v)) rc = sqlite3_bind_int64(st, idx, *x);
    if (auto* x = std::get_if<double>(&v)) rc = sqlite3_bind_double(st, idx, *x);
    if (auto* x = std::get_if<std::string>(&v))
      rc = sqlite3_bind_text(st, idx, x->data(), static_cast<int>(x->size()), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) return SqliteError(db, "bind");
  }
  return Status::Ok();
}

Status RunStatement(sqlite3* db, const Statement& s,
                    const std::function<void(const Row&)>* on_row = nullptr) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, s.sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return SqliteError(db, "prepare \"" + s.sql.substr(0, 60) + "\"");
  Status status = Bind(db, st, s.params);
  while (status.ok()) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      status = SqliteError(db, "step");
      break;
    }
    if (on_row) {
      int n = sqlite3_column_count(st);
      Row row(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            row[c] = static_cast<int64_t>(sqlite3_column_int64(st, c));
            break;
          case SQLITE_FLOAT:
            row[c] = sqlite3_column_double(st, c);
            break;
          case SQLITE_NULL:
            row[c] = nullptr;
            break;
          default:
            row[c] = std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                 sqlite3_column_bytes(st, c));
        }
      }
      (*on_row)(row);
    }
  }
  sqlite3_finalize(st);
  return status;
}

// The database holds every spec, env value and token hash: owner-only, whatever the umask.
// SQLite creates the -wal and -shm files with the database file's own mode, so creating the
// database 0600 (and tightening one an older version made 0644) covers all three.
Status MakeOwnerOnly(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("open " + path + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm"})
    ok = (::chmod((path + suffix).c_str(), 0600) == 0 || errno == ENOENT) && ok;
  if (!ok) return Status::IoError("chmod 0600 " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<sqlite3*> OpenConnection(const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status s(StatusCode::kInternal,
             "open " + path + ": " + (db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close(db);
    return Error(s);
  }
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer; FULL: the WAL is fsynced at every commit.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    Status s = Exec(db, pragma);
    if (!s.ok()) {
      sqlite3_close(db);
      return Error(s);
    }
  }
  return db;
}

}  // namespace

int64_t AsInt(const Value& v) {
  if (auto* x = std::get_if<int64_t>(&v)) return *x;
  if (auto* x = std::get_if<double>(&v)) return static_cast<int64_t>(*x);
  if (auto* x = std::get_if<std::string>(&v)) return std::stoll(*x);
  return 0;
}
double AsDouble(const Value& v) {
  if (auto* x = std::get_if<double>(&v)) return *x;
  if (auto* x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  return 0;
}
std::string AsString(const Value& v) {
  if (auto* x = std::get_if<std::string>(&v)) return *x;
  if (auto* x = std::get_if<int64_t>(&v)) return std::to_string(*x);
  return "";
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  std::unique_ptr<Store> store(new Store());
  if (Status s = MakeOwnerOnly(path); !s.ok()) return Error(s);
  auto w = OpenConnection(path);
  if (!w) return Error(w.error());
  store->write_db_ = *w;
  int version = 0;
  std::function<void(const Row&)> read_version = [&](const Row& r) {
    version = static_cast<int>(AsInt(r[0]));
  };
  if (Status s = RunStatement(store->write_db_, {"PRAGMA user_version", {}}, &read_version);
      !s.ok())
    return Error(s);
  if (version > kSchemaVersion)
    return Error(Status::FailedPrecondition(path + " has schema version " +
                                            std::to_string(version) + ", newer than this kumo (" +
                                            std::to_string(kSchemaVersion) + "): upgrade kumo"));
  for (int v = version; v < kSchemaVersion; ++v) {
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                      "PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
    if (Status s = Exec(store->write_db_, sql.c_str()); !s.ok()) {
      Exec(store->write_db_, "ROLLBACK");
      return Error(Status(StatusCode::kInternal,
                          "migration to schema " + std::to_string(v + 1) + ": " + s.message()));
    }
  }
  store->schema_version_ = kSchemaVersion;
  auto r = OpenConnection(path);
  if (!r) return Error(r.error());
  store->read_db_ = *r;
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  sqlite3_close(read_db_);
  sqlite3_close(write_db_);
}

std::future<Status> Store::Write(std::vector<Statement> statements) {
  Pending p{std::move(statements), {}};
  std::future<Status> f = p.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      p.done.set_value(Status::FailedPrecondition("store is closing"));
      return f;
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
  return f;
}

Status Store::WriteSync(std::vector<Statement> statements) {
  return Write(std::move(statements)).get();
}

int64_t Store::commits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commits_;
}

void Store::WriterLoop() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    std::vector<Status> results(batch.size());
    auto started = std::chrono::steady_clock::now();
    Status begin = Exec(write_db_, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < batch.size() && begin.ok(); ++i) {
      Exec(write_db_, "SAVEPOINT w");
      for (const Statement& s : batch[i].statements) {
        results[i] = RunStatement(write_db_, s);
        if (!results[i].ok()) break;
      }
      Exec(write_db_, results[i].ok() ? "RELEASE w" : "ROLLBACK TO w; RELEASE w");
    }
    Status commit = begin.ok() ? Exec(write_db_, "COMMIT") : begin;
    if (!commit.ok()) Exec(write_db_, "ROLLBACK");
    commit_seconds_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (commit.ok()) ++commits_;
    }
    for (size_t i = 0; i < batch.size(); ++i)
      batch[i].done.set_value(commit.ok() ? results[i] : commit);
  }
}

Status Store::Query(const std::string& sql, const std::vector<Value>& params,
                    const std::function<void(const Row&)>& on_row) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return RunStatement(read_db_, {sql, params}, &on_row);
}

}  // namespace kumo::store
