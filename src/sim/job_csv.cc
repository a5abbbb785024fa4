#include "sim/job_csv.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "sim/csv.h"

namespace kumo::sim {
namespace {

using core::Seconds;

constexpr const char* kColumns[] = {"submit_s",      "gpus",      "duration_s", "project", "user",
                                    "max_runtime_s", "gpu_model", "priority",   "checkpoint"};

// One row's fields by column name; an absent optional column reads as "".
struct Row {
  const CsvTable& table;
  size_t r;
  std::string operator[](const char* column) const {
    const int c = table.Column(column);
    return c < 0 ? std::string() : table.rows[r][c];
  }
};

// Seconds in (0, kMaxTraceSeconds] (or [0, ...] when zero_ok); "" when fine, else the message.
std::string CheckSeconds(const std::string& text, bool zero_ok, Seconds* out) {
  double v = 0;
  if (!ParseDouble(text, &v)) return "\"" + text + "\" is not a number";
  if (v < 0 || (v == 0 && !zero_ok)) return zero_ok ? "must be >= 0" : "must be > 0";
  if (v > static_cast<double>(kMaxTraceSeconds))
    return "\"" + text + "\" seconds is more than ten years";
  *out = std::max<Seconds>(zero_ok ? 0 : 1, static_cast<Seconds>(std::llround(v)));
  return "";
}

// The gang of `gpus` GPUs cut to nodes of `per_node` GPUs: 20 on 8 -> 2 x 8 + 1 x 4.
std::vector<core::TaskGroup> Gang(int64_t gpus, int64_t per_node,
                                  const std::vector<std::string>& models) {
  std::vector<core::TaskGroup> groups;
  auto add = [&](const char* name, int64_t replicas, int64_t each) {
    core::TaskGroup g;
    g.name = name;
    g.replicas = static_cast<int32_t>(replicas);
    g.resources = core::ResourceVector::Of(0, 0, each * core::kMilliPerGpu);
    g.gpu_models = models;
    groups.push_back(std::move(g));
  };
  const int64_t full = gpus / per_node, rest = gpus % per_node;
  if (full > 0) add("worker", full, per_node);
  if (rest > 0) add(full > 0 ? "rest" : "worker", 1, rest);
  return groups;
}

// Parses row r into *job; "" when fine, else "column: message".
std::string ParseRow(Row row, int64_t per_node, SimJob* job) {
  Seconds submit = 0;
  if (auto e = CheckSeconds(row["submit_s"], true, &submit); !e.empty()) return "submit_s: " + e;
  int64_t gpus = 0;
  if (!ParseInt(row["gpus"], &gpus) || gpus < 1 || gpus > 1'000'000)
    return "gpus: \"" + row["gpus"] + "\" is not an integer in 1..1000000";
  if (auto e = CheckSeconds(row["duration_s"], false, &job->duration); !e.empty())
    return "duration_s: " + e;
  if (!row["max_runtime_s"].empty())
    if (auto e = CheckSeconds(row["max_runtime_s"], false, &job->max_runtime); !e.empty())
      return "max_runtime_s: " + e;
  int64_t priority = 0;
  if (!row["priority"].empty() &&
      (!ParseInt(row["priority"], &priority) || std::llabs(priority) > 1'000'000))
    return "priority: \"" + row["priority"] + "\" is not an integer in -1000000..1000000";
  Seconds interval = 0;
  if (!row["checkpoint"].empty())
    if (auto e = CheckSeconds(row["checkpoint"], true, &interval); !e.empty())
      return "checkpoint: " + e + " (an interval in seconds; 0: does not checkpoint)";
  std::vector<std::string> models;
  if (std::string m = row["gpu_model"]; !m.empty()) {
    for (size_t b = 0, e; b <= m.size(); b = e + 1) {
      e = std::min(m.find('|', b), m.size());
      if (e == b) return "gpu_model: empty model name in \"" + m + "\"";
      models.push_back(m.substr(b, e - b));
    }
  }
  job->submit = submit;
  job->priority = static_cast<int32_t>(priority);
  job->checkpointable = interval > 0;
  job->checkpoint_interval = interval;
  job->project = row["project"].empty() ? "default" : row["project"];
  job->user = row["user"].empty() ? "user" : row["user"];
  job->groups = Gang(gpus, per_node, models);
  return "";
}

}  // namespace

Result<ClusterShape> ParseClusterShape(std::string_view text) {
  const size_t x = text.find('x');
  int64_t nodes = 0, gpus = 0;
  if (x == std::string_view::npos ||
      !ParseInt(std::string(text.substr(0, x)), &nodes) ||
      !ParseInt(std::string(text.substr(x + 1)), &gpus) || nodes < 1 || nodes > 100000 ||
      gpus < 1 || gpus > 64)
    return Error(Status::InvalidArgument(
        "cluster \"" + std::string(text) +
        "\": expected NxG, N nodes (1..100000) of G GPUs (1..64), e.g. 8x8, or an inventory file"));
  return ClusterShape{static_cast<int32_t>(nodes), static_cast<int32_t>(gpus)};
}

void SetUniformCluster(const ClusterShape& shape, Trace& trace) {
  trace.nodes.clear();
  for (int32_t i = 0; i < shape.nodes; ++i) {
    core::Node n;
    char name[32];
    std::snprintf(name, sizeof name, "node-%05d", i);
    n.name = name;
    const int64_t g = shape.gpus_per_node;
    n.allocatable = core::ResourceVector::Of(g * 6000, g * (48LL << 30), 0);
    for (int32_t k = 0; k < g; ++k) n.gpus.push_back(core::Gpu{k, "GPU", k / 4});
    trace.nodes.push_back(std::move(n));
  }
  trace.topology_levels = {"spine", "leaf"};
  AssignTopology(trace.nodes, TopologyOptions{});
}

Status ReadJobCsv(const std::string& path, Trace& trace) {
  auto text = ReadFile(path);
  if (!text) return text.error();
  auto table = ParseCsv(*text);
  if (!table) return Status::InvalidArgument(path + ": " + table.error().message());
  for (const std::string& h : table->header)
    if (std::find(std::begin(kColumns), std::end(kColumns), h) == std::end(kColumns))
      return Status::InvalidArgument(path + ":1: " + h +
                                     ": unknown column (known: submit_s, gpus, duration_s, "
                                     "project, user, max_runtime_s, gpu_model, priority, "
                                     "checkpoint)");
  for (const char* required : {"submit_s", "gpus", "duration_s"})
    if (table->Column(required) < 0)
      return Status::InvalidArgument(path + ":1: " + required + ": required column missing");
  if (table->rows.empty()) return Status::InvalidArgument(path + ": no jobs (only a header)");
  int64_t per_node = 0;
  for (const core::Node& n : trace.nodes)
    per_node = std::max<int64_t>(per_node, static_cast<int64_t>(n.gpus.size()));
  std::map<std::string, bool> projects;
  trace.jobs.clear();
  for (size_t r = 0; r < table->rows.size(); ++r) {
    const std::string where = path + ":" + std::to_string(table->line[r]) + ": ";
    if (table->rows[r].size() != table->header.size())
      return Status::InvalidArgument(where + "expected " + std::to_string(table->header.size()) +
                                     " fields, got " + std::to_string(table->rows[r].size()));
    SimJob job;
    char id[32];
    std::snprintf(id, sizeof id, "job-%06d", table->line[r]);
    job.id = id;
    if (auto e = ParseRow(Row{*table, r}, per_node, &job); !e.empty())
      return Status::InvalidArgument(where + e);
    projects[job.project] = true;
    trace.jobs.push_back(std::move(job));
  }
  trace.rows_read = static_cast<int64_t>(table->rows.size());
  trace.projects.clear();
  for (const auto& [name, unused] : projects) {
    core::Project p;
    p.name = name;
    trace.projects.push_back(std::move(p));
  }
  SortJobs(trace.jobs);
  return Status::Ok();
}

}  // namespace kumo::sim
