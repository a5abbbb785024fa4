// kumo server: the control plane on one machine.
//
//   HTTP+JSON API (/v1, docs/api.md)           scheduling core (one pass = Scheduler::Schedule)
//        http::HttpServer                                    ▲
//              │                                             │
//        ApiHandlers ──────► ServerState ◄────────── SchedulingLoop ◄── task exits (the executor
//        (api_handlers.h)   (records, mu)           (scheduling_loop.h)  watches each shim's pidfd;
//                             │      │                                   every task is also polled
//                  JobStore ◄─┘      └─► executor::Executor              once a tick)
//             (job_store.h, SQLite group commit)   (shims run the tasks)
//
// ControlPlane wires these rooms and owns them. State lives in memory under one mutex and is
// written through to the store; an API write is answered only after its store transaction
// committed, so a 201 survives kill -9. Beside them: `translate.h` (pure: spec -> core job,
// placements -> launches), `job_lifecycle.h` (the transitions both rooms make: terminate, finish
// an attempt), `job_state.h` (phases and task states), `records.h` (the records themselves).
//
// Tasks run under a shim (the static `kumo-shim` beside the kumo binary, or `kumo __task-shim`;
// see executor/local_executor.h) that outlives the server. On start the control plane
// reconciles with what is still running: tasks whose shim is alive are adopted, tasks that
// vanished mark their attempt lost (the job is requeued, not counted as a failure; what is left
// of the task's process group is killed), and shims nobody knows about (launched just before a
// crash) are killed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "http/http.h"
#include "server/data_dir_lock.h"
#include "server/server_config.h"

namespace kumo::server {

struct ServerState;
class ApiHandlers;
class SchedulingLoop;
class SnapshotCollector;

class ControlPlane {
 public:
  // Opens the store in config.data_dir, restores and reconciles the state, then serves.
  // `clock` gives every timestamp (production: SystemClock(); tests: a FakeClock); it must
  // outlive the control plane.
  static Result<std::unique_ptr<ControlPlane>> Start(ServerConfig config, const Clock& clock);
  ~ControlPlane();
  uint16_t port() const { return http_->port(); }
  const std::string& admin_token_path() const { return admin_token_path_; }
  // Stops the API and the loop. Tasks keep running (a restarted server adopts them).
  void Stop();

 private:
  ControlPlane(ServerConfig config, const Clock& clock);
  Status Init();
  Status OpenDataDir();  // created 0700, locked (one server per dir)
  Status OpenParts();
  Status Restore();
  Status RestoreAccounts();
  // First start: an admin and a default project.
  Status Bootstrap();
  void Reconcile();
  void ReconcileJob(JobRec& job, const std::map<std::string, executor::TaskHandle>& shims,
                    std::set<std::string>& claimed, double now);

  std::optional<DataDirLock> lock_;  // first member: released after everything else stopped
  std::unique_ptr<ServerState> state_;
  std::unique_ptr<ApiHandlers> api_;
  std::unique_ptr<SchedulingLoop> loop_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<SnapshotCollector> snapshot_collector_;  // Stop() ends it first
  std::string admin_token_path_;
};

}  // namespace kumo::server
