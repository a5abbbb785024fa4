// kumo server: the control plane on one machine.
//
//   HTTP+JSON API (/v1, docs/api.md) ──► in-memory state ──► Store (SQLite, group commit)
//                                           │   ▲
//                          scheduling loop ─┘   └─ task exits (LocalExecutor polls)
//                                 │
//                          scheduling core (one pass = core::Scheduler::Schedule)
//
// State lives in memory under one mutex (`mu_`) and is written through to the store; an API
// write is answered only after its store transaction committed, so a 201 survives kill -9.
// The scheduling loop wakes on every change (and at least every `tick`), polls running tasks,
// applies exits, timeouts and grace periods, runs a pass of the core on a snapshot of the state
// and applies its decisions: starts (launch the gang's processes), preemptions (checkpoint
// signal, grace, kill, requeue) and the waiting jobs' reasons.
//
// On start the server reconciles with what is still running: tasks whose shim is alive are
// adopted, tasks that vanished mark their attempt lost (the job is requeued, not counted as a
// failure; what is left of the task's process group is killed), and shims nobody knows about
// (launched just before a crash) are killed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/job_spec.h"
#include "core/scheduler.h"
#include "executor/inventory.h"
#include "executor/local_executor.h"
#include "http/http.h"
#include "server/job_store.h"
#include "server/records.h"
#include "store/store.h"

namespace kumo::server {

struct ServerConfig {
  std::string data_dir;  // required; created if missing
  std::string listen = "127.0.0.1:0";
  std::string inventory_file;  // empty: this machine (executor::DetectLocalMachine)
  std::string shim_binary;     // the kumo binary (for the task shim)
  core::SchedulerConfig scheduler;
  std::vector<PriorityClass> priority_classes = {
      {"low", 0, true}, {"normal", 100, true}, {"high", 1000, true}, {"system", 10000, false}};
  double tick_s = 0.2;  // loop period while nothing happens
  // At most one pass per this interval: under a burst of submissions one pass takes many jobs
  // instead of one pass per job (Slurm's sched_min_interval plays the same role).
  double pass_min_interval_s = 0.02;
  bool use_cgroups = true;
};

// Reads a server config file (YAML; see docs/control-plane.md) over the defaults in `base`.
Result<ServerConfig> LoadServerConfig(const std::string& path, ServerConfig base);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerConfig config);
  ~Server();
  uint16_t port() const { return http_->port(); }
  const std::string& admin_token_path() const { return admin_token_path_; }
  // Stops the API and the loop. Tasks keep running (a restarted server adopts them).
  void Stop();


 private:
  explicit Server(ServerConfig config);
  Status Init();
  Status Restore();
  void Reconcile();
  void Loop();
  void Tick(std::unique_lock<std::mutex>& lock);
  void PollTasks(double now);
  void AdvanceJob(JobRec& job, double now);
  void FinishAttempt(JobRec& job, double now, const std::string& outcome, const std::string& why);
  // Builds the snapshot under mu_, runs the core with mu_ released (API requests proceed), then
  // applies the decisions under mu_ again.
  void RunPass(double now, std::unique_lock<std::mutex>& lock);
  // The job's spec as the core sees it (cached: specs are immutable); sets *invalid when the
  // job asks for something no node offers.
  const core::Job& CoreJob(JobRec& job, std::string* invalid);
  // Starting gangs, in three steps so that spawning processes (milliseconds each on a busy
  // machine) never holds mu_: PrepareStart under mu_ (attempt, directories, environments),
  // SpawnStart without it (the executor only), CommitStart under mu_ (Running, or LaunchFailed).
  struct PreparedStart;
  PreparedStart PrepareStart(JobRec& job, const std::vector<core::TaskPlacement>& tasks);
  void SpawnStart(PreparedStart& start);
  void CommitStart(JobRec& job, PreparedStart& start, double now);
  void BeginTermination(JobRec& job, const std::string& reason, const std::string& message,
                        double now, bool graceful);
  void Kick();

  // Persistence helpers: statements appended to `pending_writes_` under mu_, flushed by Flush.
  void SaveJob(const JobRec& job);
  void SaveTasks(const JobRec& job);
  void AddEvent(const JobRec* job, const std::string& object, const std::string& type,
                const std::string& reason, const std::string& message, double now);
  // Queues pending_writes_. barrier: the future is ready only when every earlier write has
  // committed too (for reads that must see what the loop recorded).
  std::future<Status> Flush(bool barrier = false);

  http::Response Handle(const http::Request& req);
  // Handlers (server_api.cc).
  http::Response SubmitJob(const UserRec& user, const http::Request& req);
  http::Response ListJobs(const UserRec& user, const http::Request& req);
  http::Response GetJob(const UserRec& user, int64_t id);
  http::Response CancelJob(const UserRec& user, int64_t id);
  http::Response JobEvents(const UserRec& user, int64_t id, const http::Request& req);
  http::Response JobResults(const UserRec& user, int64_t id);
  http::Response JobLogs(const UserRec& user, int64_t id, const http::Request& req);
  http::Response ListEvents(const UserRec& user, const http::Request& req);
  http::Response Queue(const UserRec& user);
  http::Response Top(const UserRec& user);
  http::Response ListNodes(const UserRec& user);
  http::Response NodeAction(const UserRec& user, const std::string& name,
                            const std::string& action);
  http::Response ListProjects(const UserRec& user);
  http::Response PutProject(const UserRec& user, const std::string& name, const http::Request& req,
                            bool create);
  http::Response CreateUser(const UserRec& user, const http::Request& req);
  http::Response WhoAmI(const UserRec& user);

  nlohmann::json JobJson(const JobRec& job, bool detail) const;
  bool MayAccess(const UserRec& user, const std::string& project) const;
  // The job `id` if `user` may see it, else nullptr and the 404/403 answer. REQUIRES: mu_ held.
  JobRec* VisibleJob(const UserRec& user, int64_t id, http::Response* denied);
  std::string CreateToken(const std::string& user, double now);
  const PriorityClass* FindPriorityClass(const std::string& name) const;
  std::string JobDir(int64_t id) const;
  std::string AttemptDir(int64_t id, int32_t attempt) const;

  ServerConfig config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<JobStore> job_store_;
  std::unique_ptr<executor::LocalExecutor> executor_;
  executor::Inventory inventory_;
  std::unique_ptr<core::Scheduler> scheduler_;
  std::unique_ptr<http::Server> http_;
  std::string admin_token_path_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;               // guarded by mu_: something changed since the last pass
  bool stopping_ = false;           // guarded by mu_
  std::map<int64_t, JobRec> jobs_;  // guarded by mu_
  std::map<std::string, int64_t> idempotency_;    // guarded by mu_
  std::map<std::string, UserRec> users_;          // guarded by mu_
  std::map<std::string, std::string> tokens_;     // sha256 -> user; guarded by mu_
  std::map<std::string, ProjectRec> projects_;    // guarded by mu_
  std::map<std::string, std::string> cordoned_;   // node -> reason; guarded by mu_
  std::vector<store::Statement> pending_writes_;  // guarded by mu_
  int64_t next_job_id_ = 1;                       // guarded by mu_
  double last_pass_ = 0;                          // guarded by mu_
  size_t launched_ = 0;                           // gangs launched so far; guarded by mu_
  std::set<pid_t> exited_pids_;  // shims the executor saw end, not yet polled; guarded by mu_
  double last_full_poll_ = 0;    // when PollTasks last looked at every task; guarded by mu_
  std::thread loop_;
  std::thread exit_watcher_;
};

}  // namespace kumo::server
