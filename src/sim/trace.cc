#include "sim/trace.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "sim/csv.h"
#include "workload/synthetic.h"

namespace kumo::sim {

using core::ResourceVector;
using core::Seconds;

int64_t SimJob::GpuMilli() const {
  int64_t g = 0;
  for (const auto& tg : groups) g += tg.resources.gpu_milli() * tg.replicas;
  return g;
}

int64_t Trace::GpuCapacityMilli() const {
  int64_t g = 0;
  for (const auto& n : nodes) g += static_cast<int64_t>(n.gpus.size()) * core::kMilliPerGpu;
  return g;
}

std::string DefaultTraceDir() {
  if (const char* env = std::getenv("KUMO_TRACE_DIR")) return env;
  return "../shared/traces";
}

namespace {

uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Pad(const char* prefix, int64_t i, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%0*lld", prefix, width, static_cast<long long>(i));
  return buf;
}

Seconds Estimate(const SimJob& j, const EstimateModel& m) {
  if (m.max_overestimate <= 0) return core::kNever;
  workload::Rng rng(Fnv1a(j.id, m.seed));
  double factor = 1.0 + rng.Unit() * std::max(0.0, m.max_overestimate - 1.0);
  double est = std::ceil(static_cast<double>(j.duration) * factor);
  if (m.round_to > 1)
    est = std::ceil(est / static_cast<double>(m.round_to)) * static_cast<double>(m.round_to);
  return static_cast<Seconds>(est);
}

core::TaskGroup Group(const std::string& name, int32_t replicas, int64_t cpu_millis,
                      int64_t mem_bytes, int64_t gpu_milli) {
  core::TaskGroup g;
  g.name = name;
  g.replicas = replicas;
  g.resources = ResourceVector::Of(cpu_millis, mem_bytes, gpu_milli);
  return g;
}

}  // namespace

void SortJobs(std::vector<SimJob>& jobs) {
  std::stable_sort(jobs.begin(), jobs.end(), [](const SimJob& a, const SimJob& b) {
    return a.submit != b.submit ? a.submit < b.submit : a.id < b.id;
  });
}

void AssignTopology(std::vector<core::Node>& nodes, const TopologyOptions& t) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    int64_t leaf = static_cast<int64_t>(i) / std::max(1, t.nodes_per_leaf);
    int64_t spine = leaf / std::max(1, t.leaves_per_spine);
    nodes[i].topology = {Pad("spine", spine, 3), Pad("leaf", leaf, 4)};
  }
}

Result<Trace> ReadPhilly(const PhillyOptions& opt) {
  Trace t;
  t.name = "philly";
  t.topology_levels = {"spine", "leaf"};
  // Machines: "machineId, number of GPUs, single GPU mem".
  auto mtext = ReadFile(opt.machines_csv);
  if (!mtext) return Error(mtext.error());
  auto machines = ParseCsv(*mtext);
  if (!machines)
    return Error(Status::InvalidArgument(opt.machines_csv + ": " + machines.error().message()));
  int id_col = machines->Column("machineId"), gpu_col = machines->Column("number of GPUs");
  if (id_col < 0 || gpu_col < 0)
    return Error(
        Status::InvalidArgument(opt.machines_csv + ": header needs machineId and number of GPUs"));
  for (size_t r = 0; r < machines->rows.size(); ++r) {
    const auto& row = machines->rows[r];
    int64_t gpus = 0;
    if (row.size() != machines->header.size() || !ParseInt(row[gpu_col], &gpus) || gpus < 0 ||
        gpus > 64) {
      t.invalid.push_back({opt.machines_csv, machines->line[r], "bad machine row"});
      continue;
    }
    if (opt.eight_gpu_machines_only && gpus != 8) continue;
    core::Node n;
    n.name = row[id_col];
    // Philly's list gives no cpu/memory: 6 cores and 48 GiB per GPU (documented assumption).
    n.allocatable = ResourceVector::Of(gpus * 6000, gpus * (48LL << 30), 0);
    for (int32_t g = 0; g < gpus; ++g) n.gpus.push_back(core::Gpu{g, "P100", g / 4});
    t.nodes.push_back(std::move(n));
  }
  AssignTopology(t.nodes, opt.topology);

  // Queues: the virtual clusters with their node counts as fair-share weights.
  std::vector<std::pair<std::string, double>> vcs;
  if (!opt.vc_csv.empty()) {
    auto vtext = ReadFile(opt.vc_csv);
    if (!vtext) return Error(vtext.error());
    auto vt = ParseCsv(*vtext);
    if (!vt) return Error(Status::InvalidArgument(opt.vc_csv + ": " + vt.error().message()));
    int vc_col = vt->Column("vc"), nodes_col = vt->Column("node num");
    if (vc_col < 0 || nodes_col < 0)
      return Error(Status::InvalidArgument(opt.vc_csv + ": header needs vc and node num"));
    for (size_t r = 0; r < vt->rows.size(); ++r) {
      double w = 0;
      if (vt->rows[r].size() != vt->header.size() || !ParseDouble(vt->rows[r][nodes_col], &w) ||
          w <= 0) {
        t.invalid.push_back({opt.vc_csv, vt->line[r], "bad vc row"});
        continue;
      }
      vcs.emplace_back("vc-" + vt->rows[r][vc_col], w);
    }
  }
  if (vcs.empty()) vcs.emplace_back("vc-all", 1.0);
  double total_w = 0;
  for (auto& [name, w] : vcs) total_w += w;
  for (auto& [name, w] : vcs) {
    core::Project p;
    p.name = name;
    p.weight = w;
    t.projects.push_back(std::move(p));
  }

  auto jtext = ReadFile(opt.jobs_csv);
  if (!jtext) return Error(jtext.error());
  auto jt = ParseCsv(*jtext);
  if (!jt) return Error(Status::InvalidArgument(opt.jobs_csv + ": " + jt.error().message()));
  int c_id = jt->Column("job_id"), c_off = jt->Column("submit_offset_s"),
      c_gpus = jt->Column("num_gpus"), c_run = jt->Column("runtime_s");
  if (c_id < 0 || c_off < 0 || c_gpus < 0 || c_run < 0)
    return Error(Status::InvalidArgument(
        opt.jobs_csv + ": header needs job_id, submit_offset_s, num_gpus, runtime_s"));
  for (size_t r = 0; r < jt->rows.size(); ++r) {
    const auto& row = jt->rows[r];
    ++t.rows_read;
    auto bad = [&](std::string why) {
      t.invalid.push_back({opt.jobs_csv, jt->line[r], std::move(why)});
    };
    if (row.size() != jt->header.size()) {
      bad("expected " + std::to_string(jt->header.size()) + " fields, got " +
          std::to_string(row.size()));
      continue;
    }
    int64_t off = 0, gpus = 0;
    double run = 0;
    if (!ParseInt(row[c_off], &off) || off < 0) {
      bad("submit_offset_s: not a non-negative integer");
      continue;
    }
    if (!ParseInt(row[c_gpus], &gpus) || gpus < 1 || gpus > 8 * 65536) {
      bad("num_gpus: not an integer in 1..524288");
      continue;
    }
    if (!ParseDouble(row[c_run], &run) || run <= 0) {
      bad("runtime_s: not a positive number");
      continue;
    }
    SimJob j;
    j.id = row[c_id];
    j.submit = off;
    j.duration = std::max<Seconds>(1, static_cast<Seconds>(std::llround(run)));
    // A gang of 8-GPU tasks (one per machine) plus a task for the remainder: 12 -> 8 + 4.
    int64_t full = gpus / 8, rest = gpus % 8;
    if (full > 0)
      j.groups.push_back(
          Group("worker", static_cast<int32_t>(full), 8 * 4000, 8 * (24LL << 30), 8000));
    if (rest > 0)
      j.groups.push_back(
          Group(full > 0 ? "rest" : "worker", 1, rest * 4000, rest * (24LL << 30), rest * 1000));
    // Queue: weighted by VC size, seeded by job id. User: one of 8 per queue.
    workload::Rng rng(Fnv1a(j.id, opt.seed));
    double pick = rng.Unit() * total_w;
    size_t vc = 0;
    for (; vc + 1 < vcs.size() && pick >= vcs[vc].second; ++vc) pick -= vcs[vc].second;
    j.project = vcs[vc].first;
    j.user = "user-" + std::to_string(rng.Uniform(0, 7));
    j.checkpointable = rng.Unit() < opt.checkpointable_fraction;
    j.max_runtime = Estimate(j, opt.estimates);
    t.jobs.push_back(std::move(j));
  }
  SortJobs(t.jobs);
  return t;
}

Result<Trace> ReadOpenb(const OpenbOptions& opt) {
  Trace t;
  t.name = "openb";
  t.topology_levels = {"spine", "leaf"};
  auto ntext = ReadFile(opt.nodes_csv);
  if (!ntext) return Error(ntext.error());
  auto nt = ParseCsv(*ntext);
  if (!nt) return Error(Status::InvalidArgument(opt.nodes_csv + ": " + nt.error().message()));
  int c_sn = nt->Column("sn"), c_cpu = nt->Column("cpu_milli"), c_mem = nt->Column("memory_mib"),
      c_gpu = nt->Column("gpu"), c_model = nt->Column("model");
  if (c_sn < 0 || c_cpu < 0 || c_mem < 0 || c_gpu < 0 || c_model < 0)
    return Error(Status::InvalidArgument(opt.nodes_csv +
                                         ": header needs sn, cpu_milli, memory_mib, gpu, model"));
  for (size_t r = 0; r < nt->rows.size(); ++r) {
    const auto& row = nt->rows[r];
    int64_t cpu = 0, mem = 0, gpus = 0;
    if (row.size() != nt->header.size() || !ParseInt(row[c_cpu], &cpu) ||
        !ParseInt(row[c_mem], &mem) || !ParseInt(row[c_gpu], &gpus) || cpu < 0 || mem < 0 ||
        gpus < 0 || gpus > 64 || (gpus > 0 && row[c_model].empty())) {
      t.invalid.push_back({opt.nodes_csv, nt->line[r], "bad node row"});
      continue;
    }
    core::Node n;
    n.name = row[c_sn];
    n.allocatable = ResourceVector::Of(cpu, mem << 20, 0);
    for (int32_t g = 0; g < gpus; ++g) n.gpus.push_back(core::Gpu{g, row[c_model], g / 4});
    t.nodes.push_back(std::move(n));
  }
  AssignTopology(t.nodes, opt.topology);
  for (int32_t p = 0; p < std::max(1, opt.projects); ++p) {
    core::Project proj;
    proj.name = Pad("team", p, 2);
    proj.weight = 1.0;
    t.projects.push_back(std::move(proj));
  }

  auto ptext = ReadFile(opt.pods_csv);
  if (!ptext) return Error(ptext.error());
  auto pt = ParseCsv(*ptext);
  if (!pt) return Error(Status::InvalidArgument(opt.pods_csv + ": " + pt.error().message()));
  int c_name = pt->Column("name"), p_cpu = pt->Column("cpu_milli"),
      p_mem = pt->Column("memory_mib"), p_ngpu = pt->Column("num_gpu"),
      p_gmilli = pt->Column("gpu_milli"), p_spec = pt->Column("gpu_spec"),
      p_qos = pt->Column("qos"), p_create = pt->Column("creation_time"),
      p_delete = pt->Column("deletion_time"), p_sched = pt->Column("scheduled_time");
  {
    std::string missing;
    const std::pair<int, const char*> required[] = {
        {c_name, "name"},           {p_cpu, "cpu_milli"},    {p_mem, "memory_mib"},
        {p_ngpu, "num_gpu"},        {p_gmilli, "gpu_milli"}, {p_create, "creation_time"},
        {p_delete, "deletion_time"}};
    for (const auto& [col, name] : required)
      if (col < 0) missing += (missing.empty() ? "" : ", ") + std::string(name);
    if (!missing.empty())
      return Error(
          Status::InvalidArgument(opt.pods_csv + ": header lacks required column(s): " + missing));
  }
  for (size_t r = 0; r < pt->rows.size(); ++r) {
    const auto& row = pt->rows[r];
    ++t.rows_read;
    auto bad = [&](std::string why) {
      t.invalid.push_back({opt.pods_csv, pt->line[r], std::move(why)});
    };
    if (row.size() != pt->header.size()) {
      bad("expected " + std::to_string(pt->header.size()) + " fields, got " +
          std::to_string(row.size()));
      continue;
    }
    int64_t cpu = 0, mem = 0, ngpu = 0, gmilli = 0, created = 0, deleted = 0, scheduled = -1;
    if (!ParseInt(row[p_cpu], &cpu) || cpu < 0) {
      bad("cpu_milli: not a non-negative integer");
      continue;
    }
    if (!ParseInt(row[p_mem], &mem) || mem < 0) {
      bad("memory_mib: not a non-negative integer");
      continue;
    }
    if (!ParseInt(row[p_ngpu], &ngpu) || ngpu < 0 || ngpu > 64) {
      bad("num_gpu: not an integer in 0..64");
      continue;
    }
    if (!ParseInt(row[p_gmilli], &gmilli) || gmilli < 0 || gmilli > 1000) {
      bad("gpu_milli: not in 0..1000");
      continue;
    }
    if (!ParseInt(row[p_create], &created) || created < 0) {
      bad("creation_time: not a non-negative integer");
      continue;
    }
    if (!ParseInt(row[p_delete], &deleted)) {
      bad("deletion_time: not an integer");
      continue;
    }
    if (p_sched >= 0 && !row[p_sched].empty() && !ParseInt(row[p_sched], &scheduled)) {
      bad("scheduled_time: not an integer");
      continue;
    }
    int64_t start = scheduled >= 0 ? scheduled : created;
    if (deleted <= start) {
      bad("deletion_time is not after the start");
      continue;
    }
    if (ngpu == 1 && gmilli == 0) {
      bad("num_gpu 1 with gpu_milli 0");
      continue;
    }
    SimJob j;
    j.id = row[c_name];
    j.submit = created;
    j.duration = deleted - start;
    int64_t gpu = ngpu == 0 ? 0 : (ngpu == 1 ? gmilli : ngpu * 1000);
    core::TaskGroup g = Group("pod", 1, cpu, mem << 20, gpu);
    if (p_spec >= 0 && !row[p_spec].empty()) {
      std::string spec = row[p_spec];
      size_t b = 0;
      while (b <= spec.size()) {
        size_t e = spec.find('|', b);
        std::string m = spec.substr(b, e == std::string::npos ? std::string::npos : e - b);
        if (!m.empty()) g.gpu_models.push_back(m);
        if (e == std::string::npos) break;
        b = e + 1;
      }
    }
    j.groups.push_back(std::move(g));
    // QoS as priority: latency-sensitive and guaranteed pods above burstable above best effort.
    std::string qos = p_qos >= 0 ? row[p_qos] : "";
    j.priority = (qos == "LS" || qos == "Guaranteed") ? 10 : (qos == "BE" ? 0 : 5);
    workload::Rng rng(Fnv1a(j.id, opt.seed));
    j.project =
        t.projects[static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(t.projects.size()) - 1))]
            .name;
    j.user = "user-" + std::to_string(rng.Uniform(0, 3));
    j.checkpointable = rng.Unit() < opt.checkpointable_fraction;
    j.max_runtime = Estimate(j, opt.estimates);
    t.jobs.push_back(std::move(j));
  }
  SortJobs(t.jobs);
  return t;
}

Trace MakeSyntheticTrace(const SyntheticOptions& opt) {
  Trace t;
  t.name = "synthetic";
  t.topology_levels = {"spine", "leaf"};
  for (int32_t i = 0; i < opt.nodes; ++i) {
    core::Node n;
    n.name = Pad("node", i, 5);
    n.allocatable =
        ResourceVector::Of(opt.gpus_per_node * 8000LL, opt.gpus_per_node * (64LL << 30), 0);
    for (int32_t g = 0; g < opt.gpus_per_node; ++g) n.gpus.push_back(core::Gpu{g, "H100", g / 4});
    t.nodes.push_back(std::move(n));
  }
  AssignTopology(t.nodes, opt.topology);
  for (int32_t p = 0; p < opt.projects; ++p) {
    core::Project proj;
    proj.name = Pad("proj", p, 2);
    proj.weight =
        p < static_cast<int32_t>(opt.project_weights.size()) ? opt.project_weights[p] : 1.0;
    t.projects.push_back(std::move(proj));
  }
  workload::Rng rng(opt.seed);
  double total_w = 0;
  for (double w : opt.gang_weights) total_w += w;
  double now = 0;
  const double gpn = std::max(1, opt.gpus_per_node);
  for (int32_t i = 0; i < opt.jobs; ++i) {
    // Poisson arrivals: exponential gaps.
    now += -std::log(1.0 - rng.Unit()) * 3600.0 / std::max(1e-9, opt.arrivals_per_hour);
    double pick = rng.Unit() * total_w;
    size_t k = 0;
    for (; k + 1 < opt.gang_gpus.size() && pick >= opt.gang_weights[k]; ++k)
      pick -= opt.gang_weights[k];
    int64_t gpus = opt.gang_gpus[k];
    // Lognormal duration (Box-Muller).
    double u1 = std::max(1e-12, rng.Unit()), u2 = rng.Unit();
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
    SimJob j;
    j.id = Pad("job", i, 6);
    j.submit = static_cast<Seconds>(now);
    j.duration = std::max<Seconds>(
        60, static_cast<Seconds>(std::exp(opt.duration_log_mean + opt.duration_log_sigma * z)));
    int64_t per = std::min<int64_t>(gpus, static_cast<int64_t>(gpn));
    int64_t tasks = (gpus + per - 1) / per;
    j.groups.push_back(
        Group("worker", static_cast<int32_t>(tasks), per * 6000, per * (48LL << 30), per * 1000));
    j.project = t.projects[static_cast<size_t>(rng.Uniform(0, opt.projects - 1))].name;
    j.user = "user-" + std::to_string(rng.Uniform(0, 3));
    j.priority = rng.Unit() < opt.high_priority_fraction ? 100 : 0;
    j.checkpointable = rng.Unit() < opt.checkpointable_fraction;
    j.max_runtime = Estimate(j, opt.estimates);
    t.jobs.push_back(std::move(j));
  }
  SortJobs(t.jobs);
  t.rows_read = opt.jobs;
  return t;
}

void ShrinkCluster(Trace& t, double fraction, const TopologyOptions& topology) {
  if (fraction >= 1.0 || fraction <= 0.0) return;
  // Stratify by (model, GPU count): keep node i of a stratum when floor(i * fraction) advances
  // (node 0 of every stratum is kept, so no model or node size disappears).
  std::map<std::pair<std::string, size_t>, int64_t> seen;
  std::vector<core::Node> kept;
  for (core::Node& n : t.nodes) {
    auto key = std::make_pair(n.gpus.empty() ? std::string() : n.gpus.front().model, n.gpus.size());
    int64_t i = seen[key]++;
    if (static_cast<int64_t>(std::floor(static_cast<double>(i) * fraction)) >
        static_cast<int64_t>(std::floor(static_cast<double>(i - 1) * fraction)))
      kept.push_back(std::move(n));
  }
  t.nodes = std::move(kept);
  AssignTopology(t.nodes, topology);
}

namespace {

// Offered load if arrival gaps are multiplied by m: GPU-seconds arriving, each job counted for at
// most the (scaled) arrival window, over the GPU-seconds the cluster offers in that window.
// Clipping keeps a few months-long services (openb) from standing for "load".
double LoadWithGapFactor(const Trace& t, double m) {
  const double span =
      std::max(1.0, static_cast<double>(t.jobs.back().submit - t.jobs.front().submit) * m);
  double work = 0;
  for (const SimJob& j : t.jobs)
    work += static_cast<double>(j.GpuMilli()) * std::min(static_cast<double>(j.duration), span);
  return work / (static_cast<double>(t.GpuCapacityMilli()) * span);
}

}  // namespace

double OfferedLoad(const Trace& t) {
  if (t.jobs.empty() || t.GpuCapacityMilli() == 0) return 0;
  return LoadWithGapFactor(t, 1.0);
}

double MaxOfferedLoad(const Trace& t) {
  if (t.jobs.empty() || t.GpuCapacityMilli() == 0) return 0;
  return LoadWithGapFactor(t, 1e-6);
}

bool ScaleToLoad(Trace& t, double target) {
  if (t.jobs.empty() || target <= 0 || t.GpuCapacityMilli() == 0) return false;
  // LoadWithGapFactor decreases as gaps grow: bisect on log(m).
  double lo = std::log(1e-6), hi = std::log(1e6);
  if (LoadWithGapFactor(t, std::exp(hi)) > target || LoadWithGapFactor(t, std::exp(lo)) < target)
    return false;
  for (int i = 0; i < 100; ++i) {
    double mid = 0.5 * (lo + hi);
    if (LoadWithGapFactor(t, std::exp(mid)) > target) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double m = std::exp(0.5 * (lo + hi));
  const Seconds first = t.jobs.front().submit;
  for (SimJob& j : t.jobs)
    j.submit = static_cast<Seconds>(std::llround(static_cast<double>(j.submit - first) * m));
  return true;
}

}  // namespace kumo::sim
