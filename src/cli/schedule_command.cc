#include "cli/schedule_command.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "base/flags.h"
#include "core/placement_policy.h"
#include "core/queue_order.h"
#include "core/scheduler.h"
#include "workload/demo.h"
#include "workload/synthetic.h"

namespace kumo::cli {
namespace {

// Everything `kumo schedule` takes from its flags.
struct ScheduleFlags {
  core::SchedulerConfig config;
  int64_t nodes = 0;          // 0: the hand-made demo cluster
  int64_t pending_pods = -1;  // -1: 2 x nodes
  double busy = 0.5;
  uint64_t seed = 1;
  int64_t limit = 40;
};

void AddScheduleFlags(CLI::App& app, ScheduleFlags& f) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // --demo and --nodes take effect in command-line order: the last one given wins.
  app.add_flag_callback(
         "--demo", [&f] { f.nodes = 0; },
         "a small hand-made cluster and queue showing every kind of decision "
         "(default when no --nodes is given)")
      ->trigger_on_parse();
  app.add_option("--nodes", f.nodes, "generated cluster of N nodes x 8 GPUs in leaves of 32 nodes")
      ->check(NonNegative())
      ->trigger_on_parse();
  app.add_option("--pending-pods", f.pending_pods,
                 "pending pods in gangs of 1-64 (default 2 x nodes)")
      ->check(NonNegative());
  app.add_option("--busy", f.busy, "fraction of GPUs busy at the start")
      ->check(NonNegative())
      ->capture_default_str();
  app.add_option("--seed", f.seed, "workload seed")->check(NonNegative())->capture_default_str();
  app.add_option("--limit", f.limit, "print at most N rows per table")
      ->check(NonNegative())
      ->capture_default_str();
  app.add_option("--order", f.config.queue_order, "queue order")
      ->check(Parses(core::MakeQueueOrder, "drf|fifo"))
      ->capture_default_str();
  app.add_option("--placement", f.config.placement, "placement policy")
      ->check(Parses(core::MakePlacementPolicy, "binpack|bestfit|spread"))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--backfill",
         [&f](const std::string& v) { f.config.backfill = *core::ParseBackfillMode(v); },
         "backfill mode")
      ->check(Parses(core::ParseBackfillMode, "easy|greedy|none"))
      ->default_str("easy");
  app.add_flag_callback(
      "--no-preemption", [&f] { f.config.preemption = false; }, "never preempt running jobs");
}

std::string TasksText(const std::vector<core::TaskPlacement>& tasks) {
  std::map<std::string, std::string> by_node;
  std::map<std::string, int> count;
  for (const auto& t : tasks) {
    ++count[t.node];
    for (const auto& g : t.gpus) {
      auto& s = by_node[t.node];
      if (!s.empty()) s += ",";
      s += std::to_string(g.gpu_index);
      if (g.milli < 1000) s += "(" + std::to_string(g.milli) + "m)";
    }
  }
  std::string out;
  for (const auto& [node, n] : count) {
    if (!out.empty()) out += " ";
    out += node + "x" + std::to_string(n) + "[gpu " + by_node[node] + "]";
  }
  return out;
}

// The snapshot the flags describe, after a line that says what it is.
core::Snapshot MakeSnapshot(const ScheduleFlags& f) {
  if (f.nodes == 0) {
    core::Snapshot snap = workload::DemoSnapshot();
    std::printf(
        "kumo schedule --demo: 8 nodes x 8 GPUs (2 leaves), projects vision (weight 2, guaranteed "
        "40 GPUs),\n"
        "nlp (weight 1, guaranteed 16 GPUs), speech (max 8 GPUs); now t=%lld\n\n",
        static_cast<long long>(snap.now));
    return snap;
  }
  workload::ClusterShape shape;
  shape.nodes = static_cast<int32_t>(f.nodes);
  core::Snapshot snap = workload::MakeCluster(shape);
  workload::WorkloadShape w;
  w.seed = f.seed;
  w.busy_fraction = f.busy;
  w.pending_pods = static_cast<int32_t>(f.pending_pods >= 0 ? f.pending_pods : 2 * f.nodes);
  w.projects = std::min<int32_t>(64, static_cast<int32_t>(std::max<int64_t>(1, f.nodes / 4)));
  workload::AddWorkload(snap, w);
  std::printf("kumo schedule: %lld nodes x 8 GPUs, %d pending pods, %.0f%% busy, seed %llu\n\n",
              static_cast<long long>(f.nodes), w.pending_pods, f.busy * 100,
              static_cast<unsigned long long>(f.seed));
  return snap;
}

void PrintDecisions(const core::Decisions& d, const core::SchedulerConfig& config, size_t limit) {
  std::printf("policies: order=%s placement=%s backfill=%s preemption=%s\n\n",
              config.queue_order.c_str(), config.placement.c_str(),
              core::BackfillModeName(config.backfill), config.preemption ? "on" : "off");
  std::printf("QUEUE ORDER (%zu pending): ", d.order.size());
  for (size_t i = 0; i < d.order.size() && i < limit; ++i)
    std::printf("%s%s", i ? " > " : "", d.order[i].c_str());
  std::printf("%s\n\n", d.order.size() > limit ? " ..." : "");
  std::printf("STARTED (%zu)\n", d.starts.size());
  for (size_t i = 0; i < d.starts.size() && i < limit; ++i)
    std::printf("  %-16s %s%s\n", d.starts[i].job.c_str(),
                d.starts[i].backfilled ? "(backfilled) " : "",
                TasksText(d.starts[i].tasks).c_str());
  std::printf("\nPREEMPTED (%zu)\n", d.preemptions.size());
  for (size_t i = 0; i < d.preemptions.size() && i < limit; ++i)
    std::printf("  %-16s %-8s %s\n", d.preemptions[i].victim.c_str(),
                core::PreemptionReasonName(d.preemptions[i].reason),
                d.preemptions[i].message.c_str());
  std::printf("\nRESERVED (%zu)\n", d.reservations.size());
  for (const auto& r : d.reservations)
    std::printf("  %-16s at t=%lld on %s\n", r.job.c_str(), static_cast<long long>(r.start_time),
                TasksText(r.tasks).c_str());
  std::printf("\nWAITING (%zu)\n", d.waiting.size());
  for (size_t i = 0; i < d.waiting.size() && i < limit; ++i)
    std::printf("  %-16s %-22s %s\n", d.waiting[i].job.c_str(),
                core::WaitReasonName(d.waiting[i].reason), d.waiting[i].message.c_str());
}

}  // namespace

int RunSchedule(const std::vector<std::string>& args) {
  CLI::App app(
      "Runs one pass of kumo's scheduling core and prints its decisions: jobs started (task -> "
      "node -> GPUs), preemptions and why, the reservation of the blocked head job, and why every "
      "other job waits.",
      "kumo schedule");
  ScheduleFlags flags;
  AddScheduleFlags(app, flags);
  if (std::optional<int> exit = ParseFlags(app, args)) return *exit;
  auto scheduler = core::Scheduler::Create(flags.config);
  if (!scheduler) {
    std::fprintf(stderr, "kumo schedule: %s\n", scheduler.error().message().c_str());
    return 2;
  }
  const core::Snapshot snap = MakeSnapshot(flags);
  auto decisions = scheduler->Schedule(snap);
  if (!decisions) {
    std::fprintf(stderr, "kumo schedule: %s\n", decisions.error().message().c_str());
    return 1;
  }
  PrintDecisions(*decisions, flags.config, static_cast<size_t>(flags.limit));
  return 0;
}

}  // namespace kumo::cli
