#include "server/metrics.h"

#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "base/sha256.h"
#include "server/http_json.h"
#include "server/server_state.h"
#include "server/util.h"

namespace kumo::server {
namespace {

using prometheus::Labels;
using prometheus::TextWriter;
using prometheus::Type;

// The jobs by (project, phase) and the pending ones by (project, reason).
void WriteJobs(TextWriter& w, const ServerState& state) {
  std::map<std::pair<std::string, std::string>, int64_t> by_phase, pending;
  for (const auto& [id, j] : state.jobs) {
    if (!j.durable) continue;
    JobPhase phase = j.launching ? JobPhase::kPending : j.phase;
    ++by_phase[{j.project, std::string(ToString(phase))}];
    if (phase == JobPhase::kPending) ++pending[{j.project, j.launching ? "Starting" : j.reason}];
  }
  w.Family("kumo_server_jobs", Type::kGauge, "Jobs in the store by project and phase.");
  for (const auto& [k, n] : by_phase)
    w.Sample("kumo_server_jobs", {{"project", k.first}, {"phase", k.second}},
             static_cast<double>(n));
  w.Family("kumo_server_pending_jobs", Type::kGauge,
           "Pending jobs by project and the reason they wait (the core's wait reason, or "
           "BackoffRetry, Preempted, Submitted, ...).");
  for (const auto& [k, n] : pending)
    w.Sample("kumo_server_pending_jobs", {{"project", k.first}, {"reason", k.second}},
             static_cast<double>(n));
}

// LAS (server/attained_service.h): the queue boundaries and minRuntime the finished jobs' window
// gives.
void WriteLas(TextWriter& w, const ServerState& state) {
  const core::ServiceHistory& h = state.attained.history();
  w.Family("kumo_server_las_threshold_gpu_seconds", Type::kGauge,
           "LAS queue boundaries in GPU-seconds (queue 1 starts at the first); none while "
           "fewer than history.minJobs jobs have finished.");
  for (size_t q = 0; q < h.thresholds_gpu_s().size(); ++q)
    w.Sample("kumo_server_las_threshold_gpu_seconds", {{"queue", std::to_string(q + 1)}},
             h.thresholds_gpu_s()[q]);
  w.Family("kumo_server_las_min_runtime_seconds", Type::kGauge,
           "Seconds a running job is protected from preemption after its start.");
  w.Sample("kumo_server_las_min_runtime_seconds", {}, static_cast<double>(h.min_runtime()));
}

// GPUs per node and model, what of them is allocated to which project, and cordons.
void WriteNodes(TextWriter& w, const ServerState& state) {
  // (node, gpu index) -> model, to name the model of an allocated share.
  std::map<std::pair<std::string, int32_t>, std::string> model_of;
  std::map<std::pair<std::string, std::string>, int64_t> total;  // (node, model) -> GPUs
  for (const auto& n : state.inventory.nodes)
    for (const auto& g : n.gpus) {
      model_of[{n.name, g.index}] = g.model;
      ++total[{n.name, g.model}];
    }
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> allocated;  // milli-GPU
  for (const auto& [id, j] : state.jobs)
    for (const TaskRec& t : j.tasks)
      if (t.state == TaskState::kRunning)
        for (const auto& s : t.gpus)
          allocated[{t.node, model_of[{t.node, s.gpu_index}], j.project}] += s.milli;
  w.Family("kumo_server_gpus", Type::kGauge, "GPUs by node and model.");
  for (const auto& [k, n] : total)
    w.Sample("kumo_server_gpus", {{"node", k.first}, {"model", k.second}}, static_cast<double>(n));
  w.Family("kumo_server_gpus_allocated", Type::kGauge,
           "GPUs held by running tasks, by node, model and project (a share of 500 milli-GPU "
           "counts 0.5).");
  for (const auto& [k, milli] : allocated)
    w.Sample("kumo_server_gpus_allocated",
             {{"node", std::get<0>(k)}, {"model", std::get<1>(k)}, {"project", std::get<2>(k)}},
             static_cast<double>(milli) / 1000);
  w.Family("kumo_server_node_schedulable", Type::kGauge,
           "1 if new tasks may be placed on the node, 0 if it is cordoned or drained.");
  for (const auto& n : state.inventory.nodes)
    w.Sample("kumo_server_node_schedulable", {{"node", n.name}},
             state.cordoned.count(n.name) ? 0 : 1);
}

void WriteProjects(TextWriter& w, const ServerState& state) {
  w.Family("kumo_server_project_guaranteed_gpus", Type::kGauge, "A project's guaranteed GPUs.");
  for (const auto& [name, p] : state.projects)
    w.Sample("kumo_server_project_guaranteed_gpus", {{"project", name}},
             static_cast<double>(p.guaranteed_gpu_milli) / 1000);
  w.Family("kumo_server_project_max_gpus", Type::kGauge,
           "A project's maximum GPUs (absent: no maximum).");
  for (const auto& [name, p] : state.projects)
    if (p.max_gpu_milli >= 0)
      w.Sample("kumo_server_project_max_gpus", {{"project", name}},
               static_cast<double>(p.max_gpu_milli) / 1000);
}

void WriteEvents(TextWriter& w, const ServerState& state) {
  const ServerMetrics& m = state.metrics;
  auto histogram = [&](const char* name, const char* help, const prometheus::Histogram& h) {
    w.Family(name, Type::kHistogram, help);
    w.Histogram(name, {}, h.Value());
  };
  m.http_requests.Write(w, "kumo_server_http_requests_total",
                        "HTTP requests answered, by route template, method and status code.");
  m.submissions.Write(w, "kumo_server_jobs_submitted_total", "Jobs accepted (201), by project.");
  histogram("kumo_server_submit_duration_seconds",
            "From a submission's arrival to its answer, the store commit included.",
            m.submit_seconds);
  m.starts.Write(w, "kumo_server_job_starts_total", "Attempts started, by project.");
  histogram("kumo_server_job_wait_seconds",
            "From submission to a job's first start (submit-to-start latency).", m.wait_seconds);
  m.passes.Write(w, "kumo_server_scheduling_passes_total", "Scheduling passes run.");
  histogram("kumo_server_scheduling_pass_duration_seconds",
            "Time the scheduling core took for one pass.", m.pass_seconds);
  histogram("kumo_server_runtime_estimate_relative_error",
            "|estimate - actual| / actual of the runtime estimates of jobs without maxRuntime.",
            m.estimate_error);
  m.preemptions.Write(w, "kumo_server_preemptions_total",
                      "Running jobs stopped for another, by reason (priority, reclaim; "
                      "defragment: moved elsewhere; fill: stopped after a save for idle GPUs).");
  m.retries.Write(w, "kumo_server_job_retries_total",
                  "Failed attempts retried after their backoff, by project.");
  histogram("kumo_server_store_commit_duration_seconds",
            "One group commit of the store: its statements, then fsync.",
            state.store->commit_seconds());
}

}  // namespace

void ServerMetrics::RecordRequest(const http::Request& req, int status) {
  // Methods are client text too: anything unusual shares one label value.
  static const std::set<std::string> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                 "DELETE", "HEAD", "OPTIONS"};
  http_requests.Add({{"route", RouteTemplate(req.path)},
                     {"method", kMethods.count(req.method) ? req.method : "OTHER"},
                     {"code", std::to_string(status)}});
}

std::string RouteTemplate(const std::string& path) {
  static const std::set<std::string> kCollections = {
      "jobs", "events", "queue", "top", "nodes", "projects", "users", "whoami", "history"};
  static const std::set<std::string> kActions = {"cancel", "events",   "results", "logs",
                                                 "cordon", "uncordon", "drain"};
  if (path == "/metrics") return path;
  if (path == "/ui" || path.starts_with("/ui/")) return "/ui";
  std::vector<std::string> s = SplitPath(path);
  if (s.size() < 2 || s.size() > 4 || s[0] != "v1" || !kCollections.count(s[1])) return "other";
  std::string out = "/v1/" + s[1];
  if (s.size() >= 3) out += s[1] == "jobs" ? "/{id}" : "/{name}";
  if (s.size() == 4) {
    if (!kActions.count(s[3])) return "other";
    out += "/" + s[3];
  }
  return out;
}

Status LoadMetricsToken(ServerState& state) {
  const std::string& path = state.config.metrics_token_file;
  if (path.empty()) return Status::Ok();
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token))
    return Status::InvalidArgument("metricsTokenFile: cannot read " + path);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16)
    return Status::InvalidArgument(
        "metricsTokenFile: " + path +
        ": expected a token of at least 16 characters on its first line");
  state.metrics.token_sha256 = Sha256Hex(token);
  return Status::Ok();
}

std::string RenderServerMetrics(ServerState& state) {
  TextWriter w;
  WriteEvents(w, state);
  std::lock_guard<std::mutex> lock(state.mu);
  WriteJobs(w, state);
  WriteLas(w, state);
  WriteNodes(w, state);
  WriteProjects(w, state);
  return w.Take();
}

http::Response ServeMetrics(ServerState& state, const UserRec* user, const http::Request& req) {
  if (req.method != "GET") return ErrorResponse(405, req.method + " not allowed on /metrics");
  bool allowed = state.config.metrics_public || (user && user->admin);
  std::string auth = req.Header("authorization");
  if (!allowed && !state.metrics.token_sha256.empty() && auth.starts_with("Bearer "))
    allowed = Sha256Hex(auth.substr(7)) == state.metrics.token_sha256;
  if (!allowed)
    return user ? ErrorResponse(403, "only an admin or the metrics token may read /metrics")
                : ErrorResponse(401,
                                "missing or unknown bearer token (Authorization: Bearer <token>)");
  return {200, "text/plain; version=0.0.4; charset=utf-8", RenderServerMetrics(state), {}};
}

}  // namespace kumo::server
