// Usage history: a sample of the cluster's and each project's usage every
// ServerConfig::history_interval_s (a minute by default), kept in the store's usage_history
// table for history_retention_s, served at GET /v1/history (docs/observability.md).
//
// The scheduling loop records the samples (HistoryRecorder::Record on each tick, under
// ServerState::mu, as statements in the same group commit as its other writes), so their times
// come from the injected clock: a test steps a FakeClock a minute and finds the next sample.
// Sample times are aligned to multiples of the interval (12:00:00, 12:01:00, ...), so a restart
// or a late tick rewrites a slot instead of adding a second one.
//
// Visibility follows the API (docs/api.md): the cluster series is for every authenticated user
// (as /v1/nodes is); a project's series only for its members and admins.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/http.h"
#include "store/store.h"

namespace kumo::server {

struct ServerState;
struct UserRec;

struct UsageSample {
  double time = 0;      // seconds since the epoch, a multiple of the interval
  std::string project;  // "" for the whole cluster
  // Cluster: GPUs on schedulable (not cordoned) nodes. Project: its guaranteed GPUs.
  double gpus_capacity = 0;
  double gpus_allocated = 0;  // GPUs held by running tasks (500 milli-GPU count 0.5)
  int64_t running_jobs = 0;   // Running or Terminating
  int64_t pending_jobs = 0;
};

class HistoryRecorder {
 public:
  // Queues the samples of the slot `now` falls in, unless that slot was recorded already;
  // deletes samples older than the retention. REQUIRES: state.mu held.
  void Record(ServerState& state, double now);

 private:
  double last_slot_ = -1;  // guarded by ServerState::mu
};

// The cluster sample and one per project, as of now. REQUIRES: state.mu held.
std::vector<UsageSample> TakeSamples(const ServerState& state, double slot_time);

// The samples with time in [since, until] of `project` ("" : the cluster), averaged per `step`
// seconds (step <= the interval: every sample), oldest first.
Result<std::vector<UsageSample>> ReadHistory(store::Store& store, const std::string& project,
                                             double since, double until, double step);

// GET /v1/history?since=T&until=T&step=S&project=P (docs/observability.md).
http::Response ServeHistory(ServerState& state, const UserRec& user, const http::Request& req);

}  // namespace kumo::server
