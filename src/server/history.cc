#include "server/history.h"

#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "server/http_json.h"
#include "server/server_state.h"

namespace kumo::server {
using nlohmann::json;

namespace {

// At most this many points per series in one answer: a week of minutes is 10,080.
constexpr double kMaxPoints = 20'000;

std::optional<double> ParseSeconds(const std::string& text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

json SampleJson(const UsageSample& s) {
  return {{"time", s.time},
          {"gpusCapacity", s.gpus_capacity},
          {"gpusAllocated", s.gpus_allocated},
          {"runningJobs", s.running_jobs},
          {"pendingJobs", s.pending_jobs}};
}

// since, until and step from the query; the 400 answer when one is bad.
struct HistoryRange {
  double since = 0, until = 0, step = 0;
};
Result<HistoryRange> ParseRange(const http::Request& req, double now, double interval) {
  HistoryRange r{now - 86400, now, interval};
  const std::pair<const char*, double*> fields[] = {
      {"since", &r.since}, {"until", &r.until}, {"step", &r.step}};
  for (auto [name, field] : fields) {
    auto it = req.query.find(name);
    if (it == req.query.end()) continue;
    auto v = ParseSeconds(it->second);
    if (!v)
      return Error(Status::InvalidArgument(std::string(name) + ": expected seconds, got \"" +
                                           it->second + "\""));
    *field = *v;
  }
  if (!req.query.count("since") && req.query.count("until")) r.since = r.until - 86400;
  if (r.since > r.until) return Error(Status::InvalidArgument("since: after until"));
  r.step = std::max(r.step, interval);
  if ((r.until - r.since) / r.step > kMaxPoints)
    return Error(Status::InvalidArgument("step: " + std::to_string(static_cast<int64_t>(r.step)) +
                                         " s gives more than " +
                                         std::to_string(static_cast<int64_t>(kMaxPoints)) +
                                         " points from since to until; raise it"));
  return r;
}

}  // namespace

std::vector<UsageSample> TakeSamples(const ServerState& state, double slot_time) {
  UsageSample cluster{slot_time, ""};
  for (const auto& n : state.inventory.nodes)
    if (!state.cordoned.count(n.name)) cluster.gpus_capacity += static_cast<double>(n.gpus.size());
  std::map<std::string, UsageSample> projects;
  for (const auto& [name, p] : state.projects)
    projects[name] = {slot_time, name, static_cast<double>(p.guaranteed_gpu_milli) / 1000};
  for (const auto& [id, j] : state.jobs) {
    if (!j.durable || IsTerminal(j.phase)) continue;
    UsageSample& p = projects[j.project];
    p.time = slot_time;
    p.project = j.project;
    bool pending = j.phase == JobPhase::kPending;
    ++(pending ? p.pending_jobs : p.running_jobs);
    ++(pending ? cluster.pending_jobs : cluster.running_jobs);
    for (const TaskRec& t : j.tasks)
      if (t.state == TaskState::kRunning)
        for (const auto& g : t.gpus) {
          p.gpus_allocated += static_cast<double>(g.milli) / 1000;
          cluster.gpus_allocated += static_cast<double>(g.milli) / 1000;
        }
  }
  std::vector<UsageSample> out = {cluster};
  for (auto& [name, s] : projects) out.push_back(std::move(s));
  return out;
}

void HistoryRecorder::Record(ServerState& state, double now) {
  double interval = state.config.history_interval_s;
  double slot = std::floor(now / interval) * interval;
  if (slot <= last_slot_) return;
  last_slot_ = slot;
  for (const UsageSample& s : TakeSamples(state, slot))
    state.pending_writes.push_back(
        {"INSERT OR REPLACE INTO usage_history(time, project, gpus_capacity, gpus_allocated, "
         "running_jobs, pending_jobs) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
         {s.time, s.project, s.gpus_capacity, s.gpus_allocated, s.running_jobs, s.pending_jobs}});
  state.pending_writes.push_back(
      {"DELETE FROM usage_history WHERE time < ?1", {slot - state.config.history_retention_s}});
}

Result<std::vector<UsageSample>> ReadHistory(store::Store& store, const std::string& project,
                                             double since, double until, double step) {
  std::vector<UsageSample> out;
  // Averages per step-wide bucket; a bucket is named by its first sample's time.
  Status s = store.Query(
      "SELECT MIN(time), AVG(gpus_capacity), AVG(gpus_allocated), AVG(running_jobs), "
      "AVG(pending_jobs) FROM usage_history WHERE project = ?1 AND time >= ?2 AND time <= ?3 "
      "GROUP BY CAST((time - ?2) / ?4 AS INTEGER) ORDER BY 1",
      {project, since, until, step}, [&](const store::Row& r) {
        out.push_back({store::AsDouble(r[0]), project, store::AsDouble(r[1]), store::AsDouble(r[2]),
                       std::llround(store::AsDouble(r[3])), std::llround(store::AsDouble(r[4]))});
      });
  if (!s.ok()) return Error(s);
  return out;
}

http::Response ServeHistory(ServerState& state, const UserRec& user, const http::Request& req) {
  if (req.method != "GET") return ErrorResponse(405, req.method + " not allowed on " + req.path);
  auto range = ParseRange(req, state.clock.NowSeconds(), state.config.history_interval_s);
  if (!range) return ErrorResponse(400, range.error().message());
  auto only = req.query.find("project");
  std::vector<std::string> projects;
  std::future<Status> flushed;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    if (only != req.query.end() && !state.projects.count(only->second))
      return ErrorResponse(404, "project \"" + only->second + "\" not found");
    if (only != req.query.end() && !MayAccess(user, only->second))
      return ErrorResponse(
          403, "user \"" + user.name + "\" is not a member of project \"" + only->second + "\"");
    for (const auto& [name, p] : state.projects)
      if (MayAccess(user, name) && (only == req.query.end() || only->second == name))
        projects.push_back(name);
    flushed = state.Flush(/*barrier=*/true);  // read what the loop has recorded so far
  }
  flushed.wait();
  auto series = [&](const std::string& project) -> Result<json> {
    auto samples = ReadHistory(*state.store, project, range->since, range->until, range->step);
    if (!samples) return Error(samples.error());
    json items = json::array();
    for (const UsageSample& s : *samples) items.push_back(SampleJson(s));
    return items;
  };
  auto cluster = series("");
  if (!cluster) return ErrorResponse(500, "store: " + cluster.error().message());
  json by_project = json::object();
  for (const std::string& name : projects) {
    auto items = series(name);
    if (!items) return ErrorResponse(500, "store: " + items.error().message());
    by_project[name] = std::move(*items);
  }
  return JsonResponse(200, {{"interval", state.config.history_interval_s},
                            {"since", range->since},
                            {"until", range->until},
                            {"step", range->step},
                            {"cluster", std::move(*cluster)},
                            {"projects", std::move(by_project)}});
}

}  // namespace kumo::server
