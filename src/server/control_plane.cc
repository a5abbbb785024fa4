#include "server/control_plane.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "base/durable_file.h"
#include "server/api_handlers.h"
#include "server/executor_factory.h"
#include "server/job_datasets.h"
#include "server/job_lifecycle.h"
#include "server/scheduling_loop.h"
#include "server/snapshot_collector.h"
#include "server/server_state.h"
#include "server/util.h"
#include "executor/local_executor.h"
#include "executor/private_files.h"

namespace kumo::server {
namespace fs = std::filesystem;

namespace {

// Isolation on needs root (setuid, mount namespaces) and accounts that exist; off is allowed but
// must not go unnoticed: every task can then read the admin token and the database.
Status CheckIsolationConfig(const executor::IsolationConfig& isolation) {
  if (!isolation.enabled) {
    std::fprintf(stderr,
                 "kumo server: WARNING: task isolation is OFF (isolation.enabled: false): tasks "
                 "run as this server's uid %d, unisolated, and can read the data dir (admin "
                 "token, database, every job's files). Never use this on a shared machine.\n",
                 static_cast<int>(::geteuid()));
    return Status::Ok();
  }
  if (::geteuid() != 0)
    return Status::FailedPrecondition(
        "task isolation needs root (tasks run as other uids in their own mount namespace); run "
        "as root, or set `isolation: {enabled: false}` in the server config to run tasks "
        "unisolated as this server's uid (docs/security.md)");
  if (Status s = executor::CheckUidRangeIsFree(isolation, "/etc/passwd", "/etc/subuid",
                                               "/etc/subgid");
      !s.ok())
    return s;
  for (const auto& [user, account] : isolation.users)
    if (auto id = executor::AccountIdentity(account); !id)
      return Status::InvalidArgument("isolation.users." + user + ": " + id.error().message());
  return Status::Ok();
}

}  // namespace

ControlPlane::ControlPlane(ServerConfig config, const Clock& clock)
    : state_(std::make_unique<ServerState>(std::move(config), clock)) {}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(ServerConfig config, const Clock& clock) {
  std::unique_ptr<ControlPlane> s(new ControlPlane(std::move(config), clock));
  if (Status st = s->Init(); !st.ok()) return Error(st);
  return s;
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  {
    // Ends the long polls first (/v1/events?wait=), so the HTTP threads can be joined at once.
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  snapshot_collector_.reset();
  if (http_) http_->Stop();
  if (loop_) loop_->Stop();
  std::future<Status> last;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
    if (state_->store) last = state_->Flush();
  }
  if (last.valid()) last.wait();
}

Status ControlPlane::Init() {
  if (Status s = OpenDataDir(); !s.ok()) return s;
  if (Status s = OpenParts(); !s.ok()) return s;
  if (Status s = LoadMetricsToken(*state_); !s.ok()) return s;
  if (Status s = Restore(); !s.ok()) return s;
  admin_token_path_ = state_->config.data_dir + "/admin.token";
  if (Status s = Bootstrap(); !s.ok()) return s;
  Reconcile();

  auto hp = http::ParseHostPort(state_->config.listen);
  if (!hp) return hp.error();
  http::HttpServerOptions opts;
  opts.host = hp->first;
  opts.port = hp->second;
  // A dataset version's manifest is one body: ~100 bytes a file, so 10^5 files ≈ 10 MiB.
  opts.max_body_bytes = 64 << 20;
  api_ = std::make_unique<ApiHandlers>(*state_);
  auto h = http::HttpServer::Start(
      opts, [this](const http::Request& r) { return api_->Handle(r); },
      [this](const http::Request& head) { return api_->CheckHead(head); });
  if (!h) return h.error();
  http_ = std::move(*h);
  loop_->Start();
  snapshot_collector_ = std::make_unique<SnapshotCollector>(
      *state_, std::chrono::seconds(static_cast<int64_t>(state_->config.snapshot_collect_interval_s)),
      std::chrono::seconds(static_cast<int64_t>(state_->config.snapshot_grace_s)));
  snapshot_collector_->Start();
  return Status::Ok();
}

// Only the server's uid may enter the data dir, whatever the umask or an older version left;
// its parents are created as usual (a task must be able to search the path to its own dirs).
Status ControlPlane::OpenDataDir() {
  ServerConfig& config = state_->config;
  if (config.data_dir.empty()) return Status::InvalidArgument("--data-dir is required");
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  if (ec) return Status::IoError("data dir " + config.data_dir + ": " + ec.message());
  config.data_dir = fs::canonical(config.data_dir, ec).string();
  if (ec) return Status::IoError("data dir " + config.data_dir + ": " + ec.message());
  if (Status s = executor::MakePrivateDirs(config.data_dir); !s.ok()) return s;
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return lock.error();
  lock_.emplace(std::move(*lock));
  if (Status s = executor::MakePrivateDirs(config.data_dir + "/jobs"); !s.ok()) return s;
  // Before any job is given a dataset tree (job_datasets.h: trees after a machine crash).
  auto recovered = RecoverNodeStore(config.data_dir);
  return recovered ? Status::Ok() : recovered.error();
}

// The inventory, the scheduler, the executor and the store.
Status ControlPlane::OpenParts() {
  ServerConfig& config = state_->config;

  auto sched = core::Scheduler::Create(config.policy.scheduler);
  if (!sched) return sched.error();
  auto exec = MakeExecutor(config, state_->clock, &state_->inventory);
  if (!exec) return exec.error();
  state_->executor = std::move(*exec);
  if (state_->executor->NeedsLocalSandbox())
    if (Status s = CheckIsolationConfig(config.isolation); !s.ok()) return s;
  loop_ = std::make_unique<SchedulingLoop>(*state_, std::move(*sched));

  auto st = store::Store::Open(config.data_dir + "/kumo.db");
  if (!st) return st.error();
  state_->store = std::move(*st);
  state_->job_store = std::make_unique<JobStore>(*state_->store);
  auto issuer = CacheTokenIssuer::Open(config.data_dir);
  if (!issuer) return issuer.error();
  state_->cache_tokens = std::move(*issuer);
  state_->snapshots =
      std::make_unique<SnapshotStore>(config.data_dir + "/snapshots", config.snapshot_max_bytes);
  return Status::Ok();
}

// First start: an admin user whose token is written where only the operator can read it
// (like k3s's kubeconfig), and a default project so a fresh server takes jobs at once.
Status ControlPlane::Bootstrap() {
  ServerState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  double now = s.clock.NowSeconds();
  if (s.users.empty()) {
    s.users["admin"] = UserRec{"admin", true, {}};
    s.pending_writes.push_back(
        {"INSERT INTO users(name, admin, created_at) VALUES('admin', 1, ?1)", {now}});
    if (!s.projects.count("default")) {
      s.projects["default"] = ProjectRec{"default", 1, 0, -1};
      s.pending_writes.push_back(
          {"INSERT INTO projects(name, weight, guaranteed_gpu_milli, max_gpu_milli, created_at) "
           "VALUES('default', 1, 0, NULL, ?1)",
           {now}});
    }
    std::string token = s.CreateToken("admin", now);
    if (Status w = WriteFileDurably(admin_token_path_, token + "\n", 0600); !w.ok()) return w;
  }
  return s.Flush().get();
}

// ---- restart ----

Status ControlPlane::Restore() {
  if (Status s = RestoreAccounts(); !s.ok()) return s;
  auto jobs = state_->job_store->Load();
  if (!jobs) return jobs.error();
  std::lock_guard<std::mutex> lock(state_->mu);
  for (auto& [id, j] : *jobs) {
    if (!j.idempotency_key.empty())
      state_->idempotency[IdempotencyScope(j.user, j.idempotency_key)] = id;
    state_->next_job_id = std::max(state_->next_job_id, id + 1);
  }
  state_->jobs = std::move(*jobs);
  return state_->attained.Load(*state_->store, state_->jobs, state_->pending_writes);
}

// Projects, users and their memberships, tokens, cordoned nodes.
Status ControlPlane::RestoreAccounts() {
  ServerState& st = *state_;
  store::Store& db = *st.store;
  std::lock_guard<std::mutex> lock(st.mu);
  auto is_null = [](const store::Value& v) { return std::holds_alternative<std::nullptr_t>(v); };
  Status s = db.Query(
      "SELECT name, weight, guaranteed_gpu_milli, max_gpu_milli, priority_classes FROM projects",
      {}, [&](const store::Row& r) {
        ProjectRec p{store::AsString(r[0]), store::AsDouble(r[1]), store::AsInt(r[2]),
                     is_null(r[3]) ? -1 : store::AsInt(r[3])};
        // Written by PutProject as a JSON list of names; anything else reads as the default.
        auto classes = nlohmann::json::parse(is_null(r[4]) ? "[]" : store::AsString(r[4]),
                                             nullptr, false);
        if (classes.is_array())
          for (const auto& c : classes)
            if (c.is_string()) p.priority_classes.push_back(c.get<std::string>());
        st.projects[p.name] = p;
      });
  if (!s.ok()) return s;
  s = db.Query("SELECT name, admin FROM users", {}, [&](const store::Row& r) {
    st.users[store::AsString(r[0])] = UserRec{store::AsString(r[0]), store::AsInt(r[1]) != 0, {}};
  });
  if (!s.ok()) return s;
  s = db.Query("SELECT user, project FROM memberships", {}, [&](const store::Row& r) {
    st.users[store::AsString(r[0])].projects.insert(store::AsString(r[1]));
  });
  if (!s.ok()) return s;
  s = db.Query("SELECT sha256, user, expires_at FROM tokens", {}, [&](const store::Row& r) {
    st.tokens[store::AsString(r[0])] =
        TokenRec{store::AsString(r[1]), is_null(r[2]) ? 0 : store::AsDouble(r[2])};
  });
  if (!s.ok()) return s;
  return db.Query("SELECT name, reason FROM nodes WHERE cordoned=1", {}, [&](const store::Row& r) {
    st.cordoned[store::AsString(r[0])] = store::AsString(r[1]);
  });
}

void ControlPlane::Reconcile() {
  ServerState& s = *state_;
  // Every task still running whose run dir is under our data dir, by run dir.
  std::map<std::string, executor::TaskHandle> shims =
      s.executor->FindRunningTasks(s.config.data_dir + "/jobs/");
  std::lock_guard<std::mutex> lock(s.mu);
  double now = s.clock.NowSeconds();
  std::set<std::string> claimed;
  for (auto& [id, job] : s.jobs)
    if (HasAttempt(job.phase)) ReconcileJob(job, shims, claimed, now);
  // Shims started just before a crash whose start never committed: nobody will ever wait for
  // them, so they are killed (their job is still Pending and starts again).
  for (const auto& [run_dir, handle] : shims) {
    if (!claimed.count(run_dir)) s.executor->Signal(handle, SIGKILL);
  }
  EndUnsupportedJobs(s, now);
  s.Flush().wait();
}

// Adopts the job's tasks whose shim is alive and records those that ended or vanished.
// REQUIRES: state_->mu held.
void ControlPlane::ReconcileJob(JobRec& job,
                                const std::map<std::string, executor::TaskHandle>& shims,
                                std::set<std::string>& claimed, double now) {
  ServerState& s = *state_;
  int adopted = 0, lost = 0;
  for (TaskRec& t : job.tasks) {
    if (t.state != TaskState::kRunning) continue;
    auto it = shims.find(t.handle.run_dir);
    if (t.handle.pid == 0 && it != shims.end()) {
      t.handle.pid = it->second.pid;  // launched, but its pid had not committed
      t.handle.start_ticks = it->second.start_ticks;
    }
    claimed.insert(t.handle.run_dir);
    executor::TaskStatus st = s.executor->Poll(t.handle);
    if (st.state == executor::TaskState::kRunning) {
      ++adopted;
      s.executor->Watch(t.handle);
    } else if (st.state == executor::TaskState::kExited) {
      t.state = TaskState::kExited;
      t.exit_code = st.exit_code;
      t.term_signal = st.term_signal;
    } else {
      t.state = TaskState::kLost;
      ++lost;
    }
  }
  // The SIGKILL deadline of a job terminating within its checkpoint grace lives in memory
  // only: an adopted one gets its whole grace again from now (the kill at the first tick cut
  // the checkpoint it was writing). Never less than it was promised, at most one grace more.
  if (job.phase == JobPhase::kTerminating && adopted > 0)
    job.kill_at = now + static_cast<double>(job.spec.checkpoint.grace_period_s);
  if (job.tasks.empty()) {
    // The job was marked running but none of its tasks were recorded: the attempt is lost.
    FinishAttempt(s, job, now, AttemptOutcome::kLost, "the server stopped while starting this attempt");
    return;
  }
  s.AddEvent(
      &job, JobObjectName(job.id), "Reconciled", adopted ? "Adopted" : "NotRunning",
      std::to_string(adopted) + " task(s) still running adopted, " + std::to_string(lost) + " lost",
      now);
  s.SaveTasks(job);
}

}  // namespace kumo::server
