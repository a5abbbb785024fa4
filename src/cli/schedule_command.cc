#include "cli/schedule_command.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "core/scheduler.h"
#include "workload/demo.h"
#include "workload/synthetic.h"

namespace kumo::cli {
namespace {

const char* kHelp =
    "usage: kumo schedule [--demo] [--nodes N] [--pending-pods N] [--busy F] [--seed S]\n"
    "                     [--order drf|fifo] [--placement binpack|spread] [--backfill "
    "easy|greedy|none]\n"
    "                     [--no-preemption] [--limit N]\n\n"
    "Runs one pass of kumo's scheduling core and prints its decisions: jobs started (task -> node "
    "->\n"
    "GPUs), preemptions and why, the reservation of the blocked head job, and why every other job "
    "waits.\n"
    "  --demo           a small hand-made cluster and queue showing every kind of decision "
    "(default\n"
    "                   when no --nodes is given)\n"
    "  --nodes N        generated cluster of N nodes x 8 GPUs in leaves of 32 nodes\n"
    "  --pending-pods N pending pods in gangs of 1-64 (default 2 x nodes)\n"
    "  --busy F         fraction of GPUs busy at the start (default 0.5)\n"
    "  --seed S         workload seed (default 1)\n"
    "  --limit N        print at most N rows per table (default 40)\n";

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

}  // namespace

int RunSchedule(const std::vector<std::string>& args) {
  core::SchedulerConfig config;
  int64_t nodes = 0, pending = -1, limit = 40;
  double busy = 0.5;
  uint64_t seed = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> const std::string* {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kumo schedule: %s needs a value\n", flag);
        return nullptr;
      }
      return &args[++i];
    };
    auto number = [&](const char* flag, auto* out) {
      const std::string* v = value(flag);
      if (v == nullptr) return false;
      char* end = nullptr;
      double d = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || d < 0) {
        std::fprintf(stderr, "kumo schedule: %s: \"%s\" is not a non-negative number\n", flag,
                     v->c_str());
        return false;
      }
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(d);
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--demo") {
      nodes = 0;
    } else if (a == "--nodes") {
      if (!number("--nodes", &nodes)) return 2;
    } else if (a == "--pending-pods") {
      if (!number("--pending-pods", &pending)) return 2;
    } else if (a == "--busy") {
      if (!number("--busy", &busy)) return 2;
    } else if (a == "--seed") {
      if (!number("--seed", &seed)) return 2;
    } else if (a == "--limit") {
      if (!number("--limit", &limit)) return 2;
    } else if (a == "--order") {
      const std::string* v = value("--order");
      if (!v) return 2;
      config.queue_order = *v;
    } else if (a == "--placement") {
      const std::string* v = value("--placement");
      if (!v) return 2;
      config.placement = *v;
    } else if (a == "--backfill") {
      const std::string* v = value("--backfill");
      if (!v) return 2;
      auto m = core::ParseBackfillMode(*v);
      if (!m) {
        std::fprintf(stderr, "kumo schedule: --backfill: %s\n", m.error().message().c_str());
        return 2;
      }
      config.backfill = *m;
    } else if (a == "--no-preemption") {
      config.preemption = false;
    } else {
      std::fprintf(stderr, "kumo schedule: unknown flag \"%s\"\n%s", a.c_str(), kHelp);
      return 2;
    }
  }
  auto scheduler = core::Scheduler::Create(config);
  if (!scheduler) {
    std::fprintf(stderr, "kumo schedule: %s\n", scheduler.error().message().c_str());
    return 2;
  }
  core::Snapshot snap;
  if (nodes == 0) {
    snap = workload::DemoSnapshot();
    std::printf(
        "kumo schedule --demo: 8 nodes x 8 GPUs (2 leaves), projects vision (weight 2, guaranteed "
        "40 GPUs),\n"
        "nlp (weight 1, guaranteed 16 GPUs), speech (max 8 GPUs); now t=%lld\n\n",
        static_cast<long long>(snap.now));
  } else {
    workload::ClusterShape shape;
    shape.nodes = static_cast<int32_t>(nodes);
    snap = workload::MakeCluster(shape);
    workload::WorkloadShape w;
    w.seed = seed;
    w.busy_fraction = busy;
    w.pending_pods = static_cast<int32_t>(pending >= 0 ? pending : 2 * nodes);
    w.projects = std::min<int32_t>(64, static_cast<int32_t>(std::max<int64_t>(1, nodes / 4)));
    workload::AddWorkload(snap, w);
    std::printf("kumo schedule: %lld nodes x 8 GPUs, %d pending pods, %.0f%% busy, seed %llu\n\n",
                static_cast<long long>(nodes), w.pending_pods, busy * 100,
                static_cast<unsigned long long>(seed));
  }
  auto decisions = scheduler->Schedule(snap);
  if (!decisions) {
    std::fprintf(stderr, "kumo schedule: %s\n", decisions.error().message().c_str());
    return 1;
  }
  const core::Decisions& d = *decisions;
  std::printf("policies: order=%s placement=%s backfill=%s preemption=%s\n\n",
              config.queue_order.c_str(), config.placement.c_str(),
              core::BackfillModeName(config.backfill), config.preemption ? "on" : "off");
  std::printf("QUEUE ORDER (%zu pending): ", d.order.size());
  for (size_t i = 0; i < d.order.size() && i < static_cast<size_t>(limit); ++i)
    std::printf("%s%s", i ? " > " : "", d.order[i].c_str());
  std::printf("%s\n\n", d.order.size() > static_cast<size_t>(limit) ? " ..." : "");
  std::printf("STARTED (%zu)\n", d.starts.size());
  for (size_t i = 0; i < d.starts.size() && i < static_cast<size_t>(limit); ++i)
    std::printf("  %-16s %s%s\n", d.starts[i].job.c_str(),
                d.starts[i].backfilled ? "(backfilled) " : "",
                TasksText(d.starts[i].tasks).c_str());
  std::printf("\nPREEMPTED (%zu)\n", d.preemptions.size());
  for (size_t i = 0; i < d.preemptions.size() && i < static_cast<size_t>(limit); ++i)
    std::printf("  %-16s %-8s %s\n", d.preemptions[i].victim.c_str(),
                core::PreemptionReasonName(d.preemptions[i].reason),
                d.preemptions[i].message.c_str());
  std::printf("\nRESERVED (%zu)\n", d.reservations.size());
  for (const auto& r : d.reservations)
    std::printf("  %-16s at t=%lld on %s\n", r.job.c_str(), static_cast<long long>(r.start_time),
                TasksText(r.tasks).c_str());
  std::printf("\nWAITING (%zu)\n", d.waiting.size());
  for (size_t i = 0; i < d.waiting.size() && i < static_cast<size_t>(limit); ++i)
    std::printf("  %-16s %-22s %s\n", d.waiting[i].job.c_str(),
                core::WaitReasonName(d.waiting[i].reason), d.waiting[i].message.c_str());
  return 0;
}

}  // namespace kumo::cli
