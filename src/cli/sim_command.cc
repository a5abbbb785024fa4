#include "cli/sim_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "sim/packing.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace kumo::cli {
namespace {

const char* kHelp =
    "usage: kumo sim [--trace philly|openb|synthetic] [--policy "
    "all|fifo|fifo-backfill|drf|kumo[,..]]\n"
    "                [--load L] [--json FILE] [--plots DIR] [--trace-dir DIR] [--seed S]\n"
    "                [--openb-pods gpuspec33|default|multigpu50] [--max-jobs N] [--quiet]\n\n"
    "Replays a trace through kumo's scheduling core on a virtual clock and compares policies.\n"
    "  --trace      philly (Microsoft Philly multi-GPU subset on its 8-GPU machines), openb\n"
    "               (Alibaba PAI openb 2023 pods on its 1,523 nodes), or synthetic (seeded)\n"
    "  --load L[,L2,...]  offered load relative to GPU capacity; arrivals are compressed (or "
    "stretched)\n"
    "               to reach it; several loads make a sweep with metric-vs-load plots\n"
    "               to reach it (default 1.2; 0 = replay the recorded arrival times)\n"
    "  --policy     comma-separated names or all (default all)\n"
    "  --cluster-fraction F  keep this fraction of the trace's nodes, same model mix (default 1;\n"
    "               0.125 for openb, whose pods cannot load its full cluster)\n"
    "  --json FILE  write the full report (per policy: mean_jct_s, p99_wait_s, gpu_allocation,\n"
    "               jain_fairness, partial_gangs, preemptions, ...)\n"
    "  --plots DIR  write JCT CDF, queue length and GPU allocation plots (PNG, via gnuplot)\n"
    "  --trace-dir  where the traces are (default $KUMO_TRACE_DIR or ../shared/traces)\n"
    "  --order fifo|drf, --backfill none|greedy|easy, --las on|off, --las-thresholds H1,H2 "
    "(GPU-hours), --min-runtime S, --grace S,\n"
    "  --restart-overhead S   override the policies' preemption settings (experiments)\n"
    "  --pass-interval S  at most one scheduling pass per S seconds of virtual time (default\n"
    "               10, as a production loop; 0: a pass at every event)\n"
    "  --packing    FGD-style packing instead of a replay: pods in trace order, no departures;\n"
    "               compares placements (--placement binpack,bestfit,spread)\n";

// Comma-separated items, empty ones dropped.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// Comma-separated numbers that satisfy `valid`; on a bad item returns false with it in *bad.
bool ParseNumbers(const std::string& text, bool (*valid)(double), std::vector<double>* out,
                  std::string* bad) {
  out->clear();
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    double x = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !valid(x)) {
      *bad = item;
      return false;
    }
    out->push_back(x);
  }
  return true;
}

bool WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) std::fprintf(stderr, "kumo sim: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

bool PlotsDone(const Status& st, const std::string& dir, bool quiet) {
  if (!st.ok()) {
    std::fprintf(stderr, "kumo sim: plots: %s\n", st.message().c_str());
    return false;
  }
  if (!quiet) std::printf("plots written to %s\n", dir.c_str());
  return true;
}

// Every policy on `trace` (already scaled to `load`); prints the error and returns nullopt.
std::optional<std::vector<sim::SimReport>> RunPolicies(const sim::Trace& trace,
                                                       std::vector<sim::SimConfig> configs,
                                                       double load) {
  std::vector<sim::SimReport> reports;
  for (sim::SimConfig& c : configs) {
    c.load = load;
    auto r = sim::Simulate(trace, c);
    if (!r) {
      std::fprintf(stderr, "kumo sim: policy %s: %s\n", c.policy.c_str(),
                   r.error().message().c_str());
      return std::nullopt;
    }
    reports.push_back(std::move(*r));
  }
  return reports;
}

}  // namespace

int RunSim(const std::vector<std::string>& args) {
  std::string trace_name = "philly", policies = "all", json_path, plots_dir,
              trace_dir = sim::DefaultTraceDir();
  std::string openb_variant = "gpuspec33";
  double load = 1.2;
  std::vector<double> sweep;     // --load L1,L2,...
  double cluster_fraction = -1;  // default per trace
  uint64_t seed = 1;
  int64_t max_jobs = 0;
  bool quiet = false;
  bool packing = false;
  std::string las_override;  // "on" | "off" | "" (policy default)
  std::string backfill_override, order_override;
  double min_runtime = -1, grace = -1, restart = -1, pass_interval = -1;
  std::vector<double> las_thresholds;
  std::string placements = "binpack,bestfit,spread";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kumo sim: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return &args[++i];
    };
    auto number = [&](double* out) {
      const std::string* v = value();
      if (!v) return false;
      char* end = nullptr;
      *out = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || *out < 0) {
        std::fprintf(stderr, "kumo sim: %s: \"%s\" is not a non-negative number\n", a.c_str(),
                     v->c_str());
        return false;
      }
      return true;
    };
    const std::string* v = nullptr;
    double d = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--trace") {
      if (!(v = value())) return 2;
      trace_name = *v;
    } else if (a == "--policy") {
      if (!(v = value())) return 2;
      policies = *v;
    } else if (a == "--load") {
      if (!(v = value())) return 2;
      std::string bad;
      if (!ParseNumbers(
              *v, [](double x) { return x >= 0; }, &sweep, &bad)) {
        std::fprintf(stderr, "kumo sim: --load: \"%s\" is not a non-negative number\n",
                     bad.c_str());
        return 2;
      }
      if (sweep.empty()) {
        std::fprintf(stderr, "kumo sim: --load needs a value\n");
        return 2;
      }
      load = sweep.front();
    } else if (a == "--json") {
      if (!(v = value())) return 2;
      json_path = *v;
    } else if (a == "--plots") {
      if (!(v = value())) return 2;
      plots_dir = *v;
    } else if (a == "--trace-dir") {
      if (!(v = value())) return 2;
      trace_dir = *v;
    } else if (a == "--openb-pods") {
      if (!(v = value())) return 2;
      openb_variant = *v;
    } else if (a == "--seed") {
      if (!number(&d)) return 2;
      seed = static_cast<uint64_t>(d);
    } else if (a == "--max-jobs") {
      if (!number(&d)) return 2;
      max_jobs = static_cast<int64_t>(d);
    } else if (a == "--cluster-fraction") {
      if (!number(&cluster_fraction) || cluster_fraction <= 0 || cluster_fraction > 1) {
        std::fprintf(stderr, "kumo sim: --cluster-fraction must be in (0, 1]\n");
        return 2;
      }
    } else if (a == "--las") {
      if (!(v = value())) return 2;
      if (*v != "on" && *v != "off") {
        std::fprintf(stderr, "kumo sim: --las must be on or off\n");
        return 2;
      }
      las_override = *v;
    } else if (a == "--las-thresholds") {
      if (!(v = value())) return 2;
      std::string bad;
      const bool ok = ParseNumbers(
          *v, [](double x) { return x > 0; }, &las_thresholds, &bad);
      for (double& x : las_thresholds) x *= 3600.0;  // GPU-hours -> GPU-seconds
      if (!ok) {
        std::fprintf(stderr,
                     "kumo sim: --las-thresholds: \"%s\" is not a positive number of GPU-hours\n",
                     bad.c_str());
        return 2;
      }
    } else if (a == "--order") {
      if (!(v = value())) return 2;
      if (!core::MakeQueueOrder(*v)) {
        std::fprintf(stderr, "kumo sim: --order must be fifo or drf\n");
        return 2;
      }
      order_override = *v;
    } else if (a == "--backfill") {
      if (!(v = value())) return 2;
      if (!core::ParseBackfillMode(*v)) {
        std::fprintf(stderr, "kumo sim: --backfill must be none, greedy or easy\n");
        return 2;
      }
      backfill_override = *v;
    } else if (a == "--min-runtime") {
      if (!number(&min_runtime)) return 2;
    } else if (a == "--grace") {
      if (!number(&grace)) return 2;
    } else if (a == "--pass-interval") {
      if (!number(&pass_interval)) return 2;
    } else if (a == "--restart-overhead") {
      if (!number(&restart)) return 2;
    } else if (a == "--packing") {
      packing = true;
    } else if (a == "--placement") {
      if (!(v = value())) return 2;
      placements = *v;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      std::fprintf(stderr, "kumo sim: unknown flag \"%s\"\n%s", a.c_str(), kHelp);
      return 2;
    }
  }
  std::vector<std::string> names;
  if (policies == "all") {
    names = sim::PolicyNames();
  } else {
    names = SplitList(policies);
  }
  std::vector<sim::SimConfig> configs;
  for (const std::string& name : names) {
    auto c = sim::NamedPolicy(name);
    if (!c) {
      std::fprintf(stderr, "kumo sim: --policy: %s\n", c.error().message().c_str());
      return 2;
    }
    if (las_override == "on") c->las.enabled = true;
    if (las_override == "off") c->las.enabled = false;
    if (!las_thresholds.empty()) c->las.thresholds_gpu_s = las_thresholds;
    if (!order_override.empty()) c->scheduler.queue_order = order_override;
    if (!backfill_override.empty())
      c->scheduler.backfill = *core::ParseBackfillMode(backfill_override);
    if (min_runtime >= 0) c->min_runtime = static_cast<core::Seconds>(min_runtime);
    if (grace >= 0) c->preemption_grace = static_cast<core::Seconds>(grace);
    if (restart >= 0) c->restart_overhead = static_cast<core::Seconds>(restart);
    if (pass_interval >= 0) c->pass_interval = static_cast<core::Seconds>(pass_interval);
    configs.push_back(*c);
  }

  Result<sim::Trace> trace = Error(Status::InvalidArgument("unknown trace"));
  if (trace_name == "philly") {
    sim::PhillyOptions o;
    o.jobs_csv = trace_dir + "/philly-subset-marwage/philly_ge4gpu_pass_jobs.csv";
    o.machines_csv = trace_dir + "/cluster-configs/philly_cluster_machine_list.csv";
    o.vc_csv = trace_dir + "/cluster-configs/philly_vc_nodes_HeliosArtifact.csv";
    o.seed = seed;
    trace = sim::ReadPhilly(o);
  } else if (trace_name == "openb") {
    sim::OpenbOptions o;
    o.pods_csv = trace_dir + "/alibaba-gpu-v2023/openb_pod_list_" + openb_variant + ".csv";
    o.nodes_csv = trace_dir + "/alibaba-gpu-v2023/openb_node_list_all_node.csv";
    o.seed = seed;
    trace = sim::ReadOpenb(o);
  } else if (trace_name == "synthetic") {
    sim::SyntheticOptions o;
    o.seed = seed;
    trace = sim::MakeSyntheticTrace(o);
  } else {
    std::fprintf(stderr,
                 "kumo sim: --trace: unknown trace \"%s\" (known: philly, openb, synthetic)\n",
                 trace_name.c_str());
    return 2;
  }
  if (!trace) {
    std::fprintf(stderr, "kumo sim: %s\n", trace.error().message().c_str());
    return 1;
  }
  if (max_jobs > 0 && static_cast<int64_t>(trace->jobs.size()) > max_jobs)
    trace->jobs.resize(max_jobs);
  // openb's pods ask for ~1.05x its 6,212 GPUs in all: no compression of arrivals loads the full
  // cluster to 1.2, so by default the replay keeps 1/8 of its nodes (same model mix).
  if (cluster_fraction < 0) cluster_fraction = trace_name == "openb" && !packing ? 0.125 : 1.0;
  const size_t nodes_before = trace->nodes.size();
  sim::ShrinkCluster(*trace, cluster_fraction, sim::TopologyOptions{});
  if (packing) {
    // Packing: the whole cluster, pods in trace order, no departures (FGD's experiment).
    std::vector<sim::PackingReport> reps;
    for (const std::string& name : SplitList(placements)) {
      auto r = sim::Pack(*trace, name);
      if (!r) {
        std::fprintf(stderr, "kumo sim: --placement: %s\n", r.error().message().c_str());
        return 2;
      }
      reps.push_back(*r);
    }
    std::printf("packing %s: %zu pods in trace order on %zu nodes, %lld GPUs, no departures\n",
                trace->name.c_str(), trace->jobs.size(), trace->nodes.size(),
                static_cast<long long>(trace->GpuCapacityMilli() / 1000));
    std::fputs(sim::FormatPackingTable(reps).c_str(), stdout);
    if (!json_path.empty() && !WriteTextFile(json_path, sim::PackingToJson(*trace, reps))) return 1;
    return 0;
  }
  const double recorded_load = sim::OfferedLoad(*trace);
  if (sweep.size() > 1) {
    // Load sweep: the same policies at every load; a table per load, metric-vs-load plots.
    std::vector<std::pair<double, std::vector<sim::SimReport>>> all;
    std::string json = "{\"trace\":\"" + trace->name + "\",\"sweep\":{";
    for (size_t li = 0; li < sweep.size(); ++li) {
      sim::Trace scaled = *trace;
      if (sweep[li] > 0) sim::ScaleToLoad(scaled, sweep[li]);
      auto run = RunPolicies(scaled, configs, sweep[li] > 0 ? sweep[li] : recorded_load);
      if (!run) return 1;
      std::vector<sim::SimReport> reports = std::move(*run);
      std::fputs(sim::FormatTable(reports).c_str(), stdout);
      char key[32];
      std::snprintf(key, sizeof key, "%.2f", sweep[li]);
      std::string one = sim::ReportsToJson(scaled, reports);
      while (!one.empty() && one.back() == '\n') one.pop_back();
      json += std::string(li ? "," : "") + "\"" + key + "\":" + one;
      all.emplace_back(sweep[li], std::move(reports));
    }
    json += "}}\n";
    if (!json_path.empty() && !WriteTextFile(json_path, json)) return 1;
    if (!plots_dir.empty() && !PlotsDone(sim::WriteSweepPlots(plots_dir, all), plots_dir, quiet))
      return 1;
    return 0;
  }
  if (load > 0) sim::ScaleToLoad(*trace, load);
  if (!quiet) {
    std::printf(
        "trace %s: %zu jobs (%lld rows read, %zu invalid), %zu nodes, %lld GPUs; recorded offered "
        "load %.3f, "
        "simulated at %.2f\n",
        trace->name.c_str(), trace->jobs.size(), static_cast<long long>(trace->rows_read),
        trace->invalid.size(), trace->nodes.size(),
        static_cast<long long>(trace->GpuCapacityMilli() / 1000), recorded_load,
        load > 0 ? load : recorded_load);
    if (trace->nodes.size() != nodes_before)
      std::printf("  cluster shrunk to %zu of %zu nodes (--cluster-fraction %.3g)\n",
                  trace->nodes.size(), nodes_before, cluster_fraction);
    for (size_t i = 0; i < trace->invalid.size() && i < 5; ++i)
      std::printf("  invalid: %s:%d: %s\n", trace->invalid[i].file.c_str(), trace->invalid[i].line,
                  trace->invalid[i].reason.c_str());
    if (trace->invalid.size() > 5)
      std::printf("  ... and %zu more invalid rows\n", trace->invalid.size() - 5);
  }
  auto run = RunPolicies(*trace, configs, load > 0 ? load : recorded_load);
  if (!run) return 1;
  const std::vector<sim::SimReport>& reports = *run;
  std::fputs(sim::FormatTable(reports).c_str(), stdout);
  if (!json_path.empty() && !WriteTextFile(json_path, sim::ReportsToJson(*trace, reports)))
    return 1;
  if (!plots_dir.empty() && !PlotsDone(sim::WritePlots(plots_dir, reports), plots_dir, quiet))
    return 1;
  return 0;
}

}  // namespace kumo::cli
