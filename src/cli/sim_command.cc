#include "cli/sim_command.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "base/flags.h"
#include "core/queue_order.h"
#include "core/scheduler.h"
#include "executor/inventory.h"
#include "server/policy_config_yaml.h"
#include "sim/job_csv.h"
#include "sim/packing.h"
#include "sim/report.h"
#include "sim/seeds.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace kumo::cli {
namespace {

// Everything `kumo sim` takes from its flags.
struct SimFlags {
  std::string trace = "philly";
  std::string cluster;  // NxG or an inventory file; empty: the trace's own cluster
  std::string policies = "all";       // comma-separated names, or all
  std::vector<double> loads = {1.2};  // several make a sweep; 0 replays the recorded arrivals
  std::string json_path, plots_dir, jobs_csv_path;
  std::string trace_dir = sim::DefaultTraceDir();
  std::string openb_pods = "gpuspec33";
  uint64_t seed = 1;
  int64_t seeds = 1;  // runs over seed, seed+1, ...; > 1 reports median and min/max
  int64_t max_jobs = 0;                    // 0: every job of the trace
  std::optional<double> cluster_fraction;  // default per trace (ClusterFraction)
  bool quiet = false;
  bool packing = false;
  std::string placements = "binpack,bestfit,spread";
  // Overrides of the named policies' settings (experiments); unset keeps the policy's own.
  std::string config_path;  // a `kumo server --config` file: its `policy:` section is kumo's
  std::optional<bool> las;
  std::optional<std::string> order;
  std::optional<core::BackfillMode> backfill;
  std::optional<double> grace_s, restart_overhead_s, pass_interval_s;
};

// Comma-separated items, empty ones dropped.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// Comma-separated numbers that satisfy `valid`; a bad item is a usage error naming the flag.
std::vector<double> ParseNumbers(const std::string& flag, const std::string& text,
                                 bool (*valid)(double), const char* what) {
  std::vector<double> numbers;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double x = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !valid(x))
      throw CLI::ValidationError(flag, "\"" + item + "\" is not " + what);
    numbers.push_back(x);
  }
  if (numbers.empty()) throw CLI::ValidationError(flag, "needs a value");
  return numbers;
}

// A check of a flag's value: `error_of` says what is wrong with it, or "" when nothing is.
CLI::Validator Check(std::string (*error_of)(const std::string&), std::string values) {
  return CLI::Validator([error_of](std::string& v) { return error_of(v); }, std::move(values));
}

std::string UnknownTrace(const std::string& v) {
  if (v == "philly" || v == "openb" || v == "synthetic") return "";
  if (v.rfind("csv:", 0) == 0) return v.size() > 4 ? "" : "csv: needs a path (csv:PATH)";
  return "unknown trace \"" + v + "\" (known: philly, openb, synthetic, csv:PATH)";
}

std::string UnknownPolicy(const std::string& text) {
  if (text == "all") return "";
  for (const std::string& name : SplitList(text))
    if (auto c = sim::NamedPolicy(name); !c) return c.error().message();
  return "";
}

std::string NotOnOff(const std::string& v) {
  return v == "on" || v == "off" ? "" : "must be on or off";
}

std::string NotAFraction(const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  return !v.empty() && *end == '\0' && x > 0 && x <= 1 ? "" : "must be in (0, 1]";
}

void AddTraceFlags(CLI::App& app, SimFlags& f) {
  app.add_option("--trace", f.trace,
                 "philly (Microsoft Philly multi-GPU subset on its 8-GPU machines), openb "
                 "(Alibaba PAI openb 2023 pods on its 1,523 nodes), synthetic (seeded), or "
                 "csv:PATH (columns submit_s,gpus,duration_s and optionally project,user,"
                 "max_runtime_s,gpu_model,priority,checkpoint; needs --cluster)")
      ->check(Check(UnknownTrace, "philly|openb|synthetic|csv:PATH"))
      ->capture_default_str();
  app.add_option("--cluster", f.cluster,
                 "the cluster instead of the trace's own: NxG (N nodes of G GPUs) or an inventory "
                 "file (the format `kumo server --inventory` reads)");
  app.add_option("--trace-dir", f.trace_dir,
                 "where the traces are (default $KUMO_TRACE_DIR or ../shared/traces)");
  app.add_option("--openb-pods", f.openb_pods, "openb pod list: gpuspec33, default, multigpu50")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "seed of the synthetic trace and of trace sampling")
      ->check(NonNegative())
      ->capture_default_str();
  app.add_option("--seeds", f.seeds,
                 "run every policy over N seeds (seed, seed+1, ...) and report the median and "
                 "min/max of each metric")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-jobs", f.max_jobs, "replay only the first N jobs (0: all)")
      ->check(NonNegative())
      ->capture_default_str();
  app.add_option_function<double>(
         "--cluster-fraction", [&f](double x) { f.cluster_fraction = x; },
         "keep this fraction of the trace's nodes, same model mix (default 1; 0.125 for openb, "
         "whose pods cannot load its full cluster)")
      ->check(Check(NotAFraction, "(0, 1]"));
  app.add_option_function<std::string>(
         "--load",
         [&f](const std::string& v) {
           f.loads = ParseNumbers(
               "--load", v, [](double x) { return x >= 0; }, "a non-negative number");
         },
         "offered load relative to GPU capacity, L[,L2,...]; arrivals are compressed (or "
         "stretched) to reach it (0 = replay the recorded arrival times); several loads make a "
         "sweep with metric-vs-load plots")
      ->default_str("1.2");
}

void AddPolicyFlags(CLI::App& app, SimFlags& f) {
  app.add_option("--policy", f.policies,
                 "comma-separated names among fifo, fifo-backfill, drf, kumo, sjf-oracle, "
                 "srtf-oracle, tiresias, kumo-no-las, kumo-no-preemption, kumo-no-moves, "
                 "kumo-no-fill, or all")
      ->check(Check(UnknownPolicy, "NAMES"))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--order", [&f](const std::string& v) { f.order = v; }, "override the queue order")
      ->check(Parses(core::MakeQueueOrder, "fifo|drf|shortest|drf-predicted"));
  app.add_option_function<std::string>(
         "--backfill", [&f](const std::string& v) { f.backfill = *core::ParseBackfillMode(v); },
         "override the backfill mode")
      ->check(Parses(core::ParseBackfillMode, "none|greedy|easy"));
  app.add_option_function<std::string>(
         "--las", [&f](const std::string& v) { f.las = v == "on"; },
         "override Tiresias-style LAS queues")
      ->check(Check(NotOnOff, "on|off"));
  app.add_option("--config", f.config_path,
                 "a `kumo server --config` file: its `policy:` section (docs/control-plane.md) "
                 "is kumo's policy, and the ablations and baselines are changes to it")
      ->check(CLI::ExistingFile);
  const auto seconds = [&app](const char* name, std::optional<double>& out, const char* what) {
    app.add_option_function<double>(
           name, [&out](double s) { out = s; }, what)
        ->check(NonNegative());
  };
  seconds("--grace", f.grace_s, "override: seconds from a preemption signal to exit");
  seconds("--restart-overhead", f.restart_overhead_s,
          "override: seconds added to every attempt after the first");
  seconds("--pass-interval", f.pass_interval_s,
          "at most one scheduling pass per S seconds of virtual time (default: the trace's "
          "median job duration / 360, within 1..10 s; 0: a pass at every event)");
}

void AddOutputFlags(CLI::App& app, SimFlags& f) {
  app.add_option("--json", f.json_path,
                 "write the full report (per policy: mean_jct_s, p99_wait_s, gpu_allocation, "
                 "jain_fairness, partial_gangs, preemptions, ...)");
  app.add_option("--jobs-csv", f.jobs_csv_path,
                 "write one row per job and policy: GPUs, duration, first wait, all time queued, "
                 "preemptions, work lost (one --load, one seed)");
  app.add_option("--plots", f.plots_dir,
                 "write JCT CDF, queue length and GPU allocation plots (PNG, via gnuplot)");
  app.add_flag("--quiet", f.quiet, "print only the tables");
  app.add_flag("--packing", f.packing,
               "FGD-style packing instead of a replay: pods in trace order, no departures; "
               "compares placements (--placement)");
  app.add_option("--placement", f.placements, "placements compared by --packing")
      ->capture_default_str();
}

// The named policies with the flags' overrides; the pass interval follows the trace's time
// scale unless given.
std::vector<sim::SimConfig> PolicyConfigs(const SimFlags& f, const core::PolicyConfig& kumo,
                                          const sim::Trace& trace) {
  std::vector<sim::SimConfig> configs;
  for (const std::string& name : f.policies == "all" ? sim::PolicyNames() : SplitList(f.policies)) {
    sim::SimConfig c = *sim::NamedPolicy(name, kumo);  // the flag's validator knows every name
    if (f.las) c.policy_config.las.enabled = *f.las;
    if (f.order) c.policy_config.scheduler.queue_order = *f.order;
    if (f.backfill) c.policy_config.scheduler.backfill = *f.backfill;
    if (f.grace_s) c.preemption_grace = static_cast<core::Seconds>(*f.grace_s);
    if (f.restart_overhead_s)
      c.restart_overhead = static_cast<core::Seconds>(*f.restart_overhead_s);
    sim::FitTimeScale(trace, c);
    if (f.pass_interval_s) c.pass_interval = static_cast<core::Seconds>(*f.pass_interval_s);
    configs.push_back(std::move(c));
  }
  return configs;
}

// --cluster into the trace: NxG, or an inventory file's nodes and topology levels.
Status SetCluster(const std::string& cluster, sim::Trace& trace) {
  if (auto shape = sim::ParseClusterShape(cluster)) {
    sim::SetUniformCluster(*shape, trace);
    return Status::Ok();
  }
  if (cluster.find_first_of("/.") == std::string::npos)
    return sim::ParseClusterShape(cluster).error();
  auto inventory = executor::LoadInventoryFile(cluster);
  if (!inventory) return inventory.error();
  trace.nodes = std::move(inventory->nodes);
  trace.topology_levels = std::move(inventory->topology_levels);
  return Status::Ok();
}

// A job CSV on the --cluster it names.
Result<sim::Trace> LoadCsvTrace(const SimFlags& f) {
  sim::Trace trace;
  trace.name = f.trace.substr(4);
  if (f.cluster.empty())
    return Error(Status::InvalidArgument("--trace csv:PATH needs --cluster NxG or FILE"));
  if (Status st = SetCluster(f.cluster, trace); !st.ok()) return Error(st);
  if (trace.GpuCapacityMilli() == 0)
    return Error(Status::InvalidArgument("--cluster " + f.cluster + ": no node has a GPU"));
  if (Status st = sim::ReadJobCsv(trace.name, trace); !st.ok()) return Error(st);
  return trace;
}

// The trace the flags name, on --cluster if given, cut to --max-jobs. An empty trace or a
// cluster without GPUs is an error: every figure of a run would be 0 or NaN.
Result<sim::Trace> LoadTrace(const SimFlags& f) {
  Result<sim::Trace> trace = Error(Status::InvalidArgument("unknown trace " + f.trace));
  if (f.trace.rfind("csv:", 0) == 0) {
    trace = LoadCsvTrace(f);
  } else if (f.trace == "philly") {
    sim::PhillyOptions o;
    o.jobs_csv = f.trace_dir + "/philly-subset-marwage/philly_ge4gpu_pass_jobs.csv";
    o.machines_csv = f.trace_dir + "/cluster-configs/philly_cluster_machine_list.csv";
    o.vc_csv = f.trace_dir + "/cluster-configs/philly_vc_nodes_HeliosArtifact.csv";
    o.seed = f.seed;
    trace = sim::ReadPhilly(o);
  } else if (f.trace == "openb") {
    sim::OpenbOptions o;
    o.pods_csv = f.trace_dir + "/alibaba-gpu-v2023/openb_pod_list_" + f.openb_pods + ".csv";
    o.nodes_csv = f.trace_dir + "/alibaba-gpu-v2023/openb_node_list_all_node.csv";
    o.seed = f.seed;
    trace = sim::ReadOpenb(o);
  } else if (f.trace == "synthetic") {
    sim::SyntheticOptions o;
    o.seed = f.seed;
    trace = sim::MakeSyntheticTrace(o);
  }
  if (!trace) return trace;
  if (!f.cluster.empty() && f.trace.rfind("csv:", 0) != 0)
    if (Status st = SetCluster(f.cluster, *trace); !st.ok()) return Error(st);
  if (f.max_jobs > 0 && static_cast<int64_t>(trace->jobs.size()) > f.max_jobs)
    trace->jobs.resize(f.max_jobs);
  if (trace->jobs.empty()) return Error(Status::InvalidArgument("trace " + f.trace + ": no jobs"));
  if (trace->GpuCapacityMilli() == 0)
    return Error(Status::InvalidArgument("trace " + f.trace + ": the cluster has no GPU"));
  return trace;
}

// openb's pods ask for ~1.05x its 6,212 GPUs in all: no compression of arrivals loads the full
// cluster to 1.2, so by default a replay keeps 1/8 of its nodes (same model mix).
double ClusterFraction(const SimFlags& f) {
  if (f.cluster_fraction) return *f.cluster_fraction;
  return f.trace == "openb" && !f.packing && f.cluster.empty() ? 0.125 : 1.0;
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

// Packing: the whole cluster, pods in trace order, no departures (FGD's experiment).
int RunPacking(const sim::Trace& trace, const SimFlags& f) {
  std::vector<sim::PackingReport> reps;
  for (const std::string& name : SplitList(f.placements)) {
    auto r = sim::Pack(trace, name);
    if (!r) {
      std::fprintf(stderr, "kumo sim: --placement: %s\n", r.error().message().c_str());
      return 2;
    }
    reps.push_back(*r);
  }
  std::printf("packing %s: %zu pods in trace order on %zu nodes, %lld GPUs, no departures\n",
              trace.name.c_str(), trace.jobs.size(), trace.nodes.size(),
              static_cast<long long>(trace.GpuCapacityMilli() / 1000));
  std::fputs(sim::FormatPackingTable(reps).c_str(), stdout);
  if (!f.json_path.empty() && !WriteTextFile(f.json_path, sim::PackingToJson(trace, reps)))
    return 1;
  return 0;
}

// Usage error: --load asks for more than the trace can offer on this cluster.
int LoadUnreachable(const sim::Trace& trace, double load) {
  std::fprintf(stderr,
               "kumo sim: --load %.2f: trace %s cannot reach it on %lld GPUs (at most %.2f, with "
               "every arrival at once)\n",
               load, trace.name.c_str(), static_cast<long long>(trace.GpuCapacityMilli() / 1000),
               sim::MaxOfferedLoad(trace));
  return 2;
}

// Load sweep: the same policies at every load; a table per load, metric-vs-load plots.
int RunSweep(const sim::Trace& trace, const std::vector<sim::SimConfig>& configs,
             const SimFlags& f) {
  const double recorded_load = sim::OfferedLoad(trace);
  std::vector<std::pair<double, std::vector<sim::SimReport>>> all;
  std::string json = "{\"trace\":\"" + trace.name + "\",\"sweep\":{";
  for (size_t li = 0; li < f.loads.size(); ++li) {
    const double load = f.loads[li];
    sim::Trace scaled = trace;
    if (load > 0 && !sim::ScaleToLoad(scaled, load)) return LoadUnreachable(trace, load);
    auto run = RunPolicies(scaled, configs, load > 0 ? load : recorded_load);
    if (!run) return 1;
    std::fputs(sim::FormatTable(*run).c_str(), stdout);
    char key[32];
    std::snprintf(key, sizeof key, "%.2f", load);
    std::string one = sim::ReportsToJson(scaled, *run);
    while (!one.empty() && one.back() == '\n') one.pop_back();
    json += std::string(li ? "," : "") + "\"" + key + "\":" + one;
    all.emplace_back(load, std::move(*run));
  }
  json += "}}\n";
  if (!f.json_path.empty() && !WriteTextFile(f.json_path, json)) return 1;
  if (!f.plots_dir.empty() &&
      !PlotsDone(sim::WriteSweepPlots(f.plots_dir, all), f.plots_dir, f.quiet))
    return 1;
  return 0;
}

void PrintTraceSummary(const sim::Trace& trace, double recorded_load, double load,
                       size_t nodes_before, double cluster_fraction) {
  std::printf(
      "trace %s: %zu jobs (%lld rows read, %zu invalid), %zu nodes, %lld GPUs; recorded offered "
      "load %.3f, simulated at %.2f\n",
      trace.name.c_str(), trace.jobs.size(), static_cast<long long>(trace.rows_read),
      trace.invalid.size(), trace.nodes.size(),
      static_cast<long long>(trace.GpuCapacityMilli() / 1000), recorded_load,
      load > 0 ? load : recorded_load);
  if (trace.nodes.size() != nodes_before)
    std::printf("  cluster shrunk to %zu of %zu nodes (--cluster-fraction %.3g)\n",
                trace.nodes.size(), nodes_before, cluster_fraction);
  for (size_t i = 0; i < trace.invalid.size() && i < 5; ++i)
    std::printf("  invalid: %s:%d: %s\n", trace.invalid[i].file.c_str(), trace.invalid[i].line,
                trace.invalid[i].reason.c_str());
  if (trace.invalid.size() > 5)
    std::printf("  ... and %zu more invalid rows\n", trace.invalid.size() - 5);
}

// Jobs each policy found it could never run (a few per policy), with the core's reason.
void PrintUnschedulable(const std::vector<sim::SimReport>& run) {
  for (const sim::SimReport& r : run) {
    for (size_t i = 0; i < r.unschedulable_jobs.size() && i < 3; ++i)
      std::printf("  %s: unschedulable: %s: %s\n", r.policy.c_str(),
                  r.unschedulable_jobs[i].id.c_str(), r.unschedulable_jobs[i].why.c_str());
    if (r.unschedulable_jobs.size() > 3)
      std::printf("  %s: ... and %zu more unschedulable jobs\n", r.policy.c_str(),
                  r.unschedulable_jobs.size() - 3);
  }
}

// One load: a summary of the trace, the policy table, and the JSON and plots if asked for.
int RunReplay(sim::Trace& trace, const std::vector<sim::SimConfig>& configs, const SimFlags& f,
              size_t nodes_before) {
  const double recorded_load = sim::OfferedLoad(trace);
  const double load = f.loads.front();
  if (load > 0 && !sim::ScaleToLoad(trace, load)) return LoadUnreachable(trace, load);
  if (!f.quiet) PrintTraceSummary(trace, recorded_load, load, nodes_before, ClusterFraction(f));
  auto run = RunPolicies(trace, configs, load > 0 ? load : recorded_load);
  if (!run) return 1;
  std::fputs(sim::FormatTable(*run).c_str(), stdout);
  PrintUnschedulable(*run);
  if (!f.json_path.empty() && !WriteTextFile(f.json_path, sim::ReportsToJson(trace, *run)))
    return 1;
  if (!f.jobs_csv_path.empty() && !WriteTextFile(f.jobs_csv_path, sim::JobsToCsv(*run))) return 1;
  if (!f.plots_dir.empty() && !PlotsDone(sim::WritePlots(f.plots_dir, *run), f.plots_dir, f.quiet))
    return 1;
  return 0;
}

// --seeds N: every policy over the trace read with seeds seed..seed+N-1, at one load.
int RunSeeds(const SimFlags& f, const core::PolicyConfig& kumo) {
  std::vector<std::vector<sim::SimReport>> runs;
  std::vector<uint64_t> seeds;
  std::string name;
  SimFlags one = f;
  for (int64_t i = 0; i < f.seeds; ++i) {
    one.seed = f.seed + static_cast<uint64_t>(i);
    Result<sim::Trace> trace = LoadTrace(one);
    if (!trace) {
      std::fprintf(stderr, "kumo sim: %s\n", trace.error().message().c_str());
      return 2;
    }
    sim::ShrinkCluster(*trace, ClusterFraction(one), sim::TopologyOptions{});
    const double load = f.loads.front();
    if (load > 0 && !sim::ScaleToLoad(*trace, load)) return LoadUnreachable(*trace, load);
    auto run = RunPolicies(*trace, PolicyConfigs(one, kumo, *trace),
                           load > 0 ? load : sim::OfferedLoad(*trace));
    if (!run) return 1;
    if (!f.quiet) std::printf("seed %llu done\n", static_cast<unsigned long long>(one.seed));
    name = trace->name;
    seeds.push_back(one.seed);
    runs.push_back(std::move(*run));
  }
  const double load = runs[0].empty() ? 0 : runs[0][0].load;
  const std::vector<sim::PolicySpread> spreads = sim::SpreadOverSeeds(runs);
  std::fputs(sim::FormatSpreadTable(name, load, f.seeds, spreads).c_str(), stdout);
  if (!f.json_path.empty() &&
      !WriteTextFile(f.json_path, sim::SpreadToJson(name, load, seeds, spreads)))
    return 1;
  return 0;
}

}  // namespace

int RunSim(const std::vector<std::string>& args) {
  CLI::App app(
      "Replays a trace through kumo's scheduling core on a virtual clock and compares policies.",
      "kumo sim");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  SimFlags flags;
  AddTraceFlags(app, flags);
  AddPolicyFlags(app, flags);
  AddOutputFlags(app, flags);
  if (std::optional<int> exit = ParseFlags(app, args)) return *exit;
  core::PolicyConfig kumo;
  if (!flags.config_path.empty()) {
    auto policy = server::LoadPolicyFromConfigFile(flags.config_path);
    if (!policy) {
      std::fprintf(stderr, "kumo sim: --config: %s\n", policy.error().message().c_str());
      return 2;
    }
    kumo = *policy;
  }
  if (!flags.jobs_csv_path.empty() && (flags.seeds > 1 || flags.loads.size() > 1)) {
    std::fprintf(stderr, "kumo sim: --jobs-csv takes one --load and one seed\n");
    return 2;
  }
  if (flags.seeds > 1) {
    if (flags.loads.size() > 1 || flags.packing) {
      std::fprintf(stderr, "kumo sim: --seeds takes one --load and no --packing\n");
      return 2;
    }
    return RunSeeds(flags, kumo);
  }

  Result<sim::Trace> trace = LoadTrace(flags);
  if (!trace) {
    std::fprintf(stderr, "kumo sim: %s\n", trace.error().message().c_str());
    return 2;
  }
  const size_t nodes_before = trace->nodes.size();
  sim::ShrinkCluster(*trace, ClusterFraction(flags), sim::TopologyOptions{});
  if (flags.packing) return RunPacking(*trace, flags);
  const std::vector<sim::SimConfig> configs = PolicyConfigs(flags, kumo, *trace);
  if (flags.loads.size() > 1) return RunSweep(*trace, configs, flags);
  return RunReplay(*trace, configs, flags, nodes_before);
}

}  // namespace kumo::cli
