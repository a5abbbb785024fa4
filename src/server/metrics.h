// ServerMetrics: what `kumo server` exposes at GET /metrics (Prometheus text, base/prometheus.h;
// the list with types and labels is docs/observability.md).
//
// Two kinds of numbers:
//   - events, counted where they happen (instruments below, updated without ServerState::mu):
//     HTTP requests (ApiHandlers::Handle), submissions, starts and their wait, passes and their
//     duration, preemptions, retries; the store's commit latency is the store's own histogram;
//   - the state, read at scrape time under ServerState::mu (RenderServerMetrics): jobs by
//     project and phase, pending jobs by reason, GPUs by node and model, allocated GPUs by node,
//     model and project, nodes' schedulability, project quotas.
// Labels are bounded sets: route templates (never raw paths), phases, reasons, projects, nodes.
//
// Who may read /metrics: an admin's token; the metrics token (ServerConfig::metrics_token_file,
// a token that reads nothing else, for Prometheus' `authorization.credentials_file`); anybody
// when ServerConfig::metrics_public. Unauthenticated reads are refused by default.
//
// Thread safety: the instruments may be updated from any thread.
#pragma once

#include <string>

#include "base/prometheus.h"
#include "base/status.h"
#include "http/http.h"

namespace kumo::server {

struct ServerState;
struct UserRec;

struct ServerMetrics {
  // Seconds from a submission's arrival to its 201 (its commit included).
  prometheus::Histogram submit_seconds{prometheus::LatencyBoundsSeconds()};
  // Seconds a job waited from submission to its first start.
  prometheus::Histogram wait_seconds{
      {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800}};
  // Seconds one scheduling pass of the core took (the snapshot given, the decisions back).
  prometheus::Histogram pass_seconds{prometheus::LatencyBoundsSeconds()};
  // |estimate - actual| / actual of the runtime estimate of each job without maxRuntime that
  // succeeded while its history gave one (server/runtime_estimates.h).
  prometheus::Histogram estimate_error{{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10}};
  prometheus::LabeledCounter passes;         // {}
  prometheus::LabeledCounter http_requests;  // {route, method, code}
  prometheus::LabeledCounter submissions;    // {project}
  prometheus::LabeledCounter starts;         // {project}: attempts started
  prometheus::LabeledCounter preemptions;    // {reason}: priority, reclaim, defragment (moves)
  prometheus::LabeledCounter retries;        // {project}: failed attempts retried after backoff
  // SHA-256 (hex) of the metrics token; empty: none. Set before the HTTP server starts.
  std::string token_sha256;

  // One answered request: its route template, method and status code.
  void RecordRequest(const http::Request& req, int status);
};

// "/v1/jobs/{id}/logs" for "/v1/jobs/17/logs": the path with its identifiers replaced, so the
// route label has a bounded set of values; "other" for paths the server does not serve.
std::string RouteTemplate(const std::string& path);

// Reads config.metrics_token_file (when set) into metrics.token_sha256. A file that cannot be
// read or holds no token is an error naming it. Call before the HTTP server starts.
Status LoadMetricsToken(ServerState& state);

// Every family, counters and the state's gauges. Takes state.mu.
std::string RenderServerMetrics(ServerState& state);

// GET /metrics. `user`: the caller when a known user token came with the request, else
// nullptr (then only the metrics token or metrics_public let it through).
http::Response ServeMetrics(ServerState& state, const UserRec* user, const http::Request& req);

}  // namespace kumo::server
