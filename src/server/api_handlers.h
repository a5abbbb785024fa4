// ApiHandlers: the /v1 HTTP API (docs/api.md) over the control plane's state.
//
// Every request carries `Authorization: Bearer <token>`; the token's SHA-256 names the user.
// Handlers read and change ServerState under its mutex; a write queues its statements and is
// answered only once they committed (the store's future), so an acknowledged change survives
// kill -9. Reads of events and results first wait for a barrier so they see what the loop has
// recorded so far (read your writes).
//
// Thread safety: Handle is called concurrently from the HTTP server's connection threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/http.h"
#include "server/dataset_handlers.h"
#include "server/result_handlers.h"
#include "server/snapshot_handlers.h"
#include "server/server_state.h"

namespace kumo::server {

class ApiHandlers {
 public:
  explicit ApiHandlers(ServerState& state)
      : state_(state), datasets_(state), snapshots_(*state.snapshots), results_(state) {}
  // The HTTP server's HeadCheck: 401 unless the head carries a valid token (or names a public
  // path: /ui/ pages, /metrics), so the body of an unauthenticated request is never read.
  // Takes state_.mu briefly.
  std::optional<http::Response> CheckHead(const http::Request& head) const;
  // Serves the request and counts it in state.metrics (route template, method, code).
  http::Response Handle(const http::Request& req);

 private:
  http::Response Serve(const http::Request& req);
  // The user whose bearer token `req` carries; kUnauthenticated otherwise. Takes state_.mu.
  Result<UserRec> Authenticate(const http::Request& req) const;
  http::Response Route(const UserRec& user, const http::Request& req);
  std::optional<http::Response> RouteJob(const UserRec& user, const std::vector<std::string>& path,
                                         const http::Request& req);
  http::Response SubmitJob(const UserRec& user, const http::Request& req);
  // SubmitJob's steps. Read: the spec and headers (400). Check: membership first, then the
  // submit dir, whether it could ever fit, its datasets (pinned), its code snapshot (staged).
  // Insert: the job record, in memory and not yet durable; REQUIRES: state_.mu held, Admit passed.
  struct Submission;
  std::optional<http::Response> ReadSubmission(const http::Request& req, Submission* sub);
  std::optional<http::Response> CheckSubmission(const UserRec& user, Submission* sub);
  // Whether the submitter may name its X-Kumo-Snapshot (403 otherwise). Takes state_.mu.
  std::optional<http::Response> AdmitSnapshot(const UserRec& user, const Submission& sub);
  Result<int64_t> InsertJob(const UserRec& user, const std::string& body, Submission* sub);
  // The checks of a submission that need the state: project, membership, priority class, and a
  // repeated Idempotency-Key (answered with the job it made). std::nullopt: admitted.
  // REQUIRES: state_.mu held.
  std::optional<http::Response> Admit(const UserRec& user, const api::JobSpec& spec,
                                      const std::string& idempotency_key);
  // The project exists (400) and `user` may submit to it (403). REQUIRES: state_.mu held.
  std::optional<http::Response> AdmitMember(const UserRec& user, const std::string& project);
  // 400 for an unknown class; 403 when `user` may not use it in the spec's project.
  // REQUIRES: state_.mu held; the project exists.
  std::optional<http::Response> AdmitPriorityClass(const UserRec& user, const api::JobSpec& spec);
  http::Response ListJobs(const UserRec& user, const http::Request& req);
  http::Response GetJob(const UserRec& user, int64_t id);
  http::Response CancelJob(const UserRec& user, int64_t id);
  http::Response JobEvents(const UserRec& user, int64_t id);
  http::Response JobResults(const UserRec& user, int64_t id);
  http::Response JobLogs(const UserRec& user, int64_t id, const http::Request& req);
  http::Response ListEvents(const UserRec& user, const http::Request& req);
  http::Response LatestEvent();
  http::Response Queue(const UserRec& user, const http::Request& req);
  http::Response Top(const UserRec& user);
  http::Response ListNodes(const UserRec& user);
  http::Response NodeAction(const UserRec& user, const std::string& name,
                            const std::string& action);
  http::Response ListProjects(const UserRec& user);
  http::Response PutProject(const UserRec& user, const std::string& name, const http::Request& req,
                            bool create);
  http::Response CreateUser(const UserRec& user, const http::Request& req);
  // POST rotates, DELETE revokes the tokens of user `name` (user_handlers.cc).
  http::Response UserTokens(const UserRec& caller, const std::string& name,
                            const http::Request& req);
  http::Response WhoAmI(const UserRec& user);

  // The job as the API shows it; a job whose start is being made shows as Pending.
  // REQUIRES: state_.mu held.
  nlohmann::json JobJson(const JobRec& job, bool detail) const;
  // The job `id` if `user` may see it, else nullptr and the 404/403 answer.
  // REQUIRES: state_.mu held.
  JobRec* VisibleJob(const UserRec& user, int64_t id, http::Response* denied);
  // The 404/403 answer if `user` may not see job `id`; else std::nullopt once everything
  // recorded so far has committed, so a read of the store sees it. Takes state_.mu itself.
  std::optional<http::Response> AwaitVisibleJob(const UserRec& user, int64_t id);
  // Evicts the jobs running on `node` (checkpoint signal, grace period); they are requeued and
  // resume from their checkpoints elsewhere. Returns how many. REQUIRES: state_.mu held.
  int64_t DrainNode(const std::string& node, double now);

  // Long polls (`/v1/events?wait=`) hold an HTTP worker while they wait; at most this many at
  // once, so watchers can never take every worker (http.h: 64) from submissions and reads.
  static constexpr int kMaxLongPolls = 32;
  std::atomic<int> long_polls_{0};

  ServerState& state_;
  DatasetHandlers datasets_;    // /v1/datasets, /v1/cache (dataset_handlers.h)
  SnapshotHandlers snapshots_;  // /v1/snapshots (snapshot_handlers.h)
  ResultHandlers results_;      // /v1/jobs/ID/outputs (result_handlers.h)
};

}  // namespace kumo::server
