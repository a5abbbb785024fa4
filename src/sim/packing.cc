#include "sim/packing.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/scheduler.h"

namespace kumo::sim {

Result<PackingReport> Pack(const Trace& trace, const std::string& placement) {
  core::SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  cfg.placement = placement;
  cfg.backfill = core::BackfillMode::kGreedy;
  cfg.preemption = false;
  cfg.explain = false;
  auto scheduler = core::Scheduler::Create(cfg);
  if (!scheduler) return Error(scheduler.error());
  core::Snapshot snap;
  snap.topology_levels = trace.topology_levels;
  snap.nodes = trace.nodes;
  snap.projects.push_back(
      core::Project{"all", 1.0, {}, core::ResourceVector::Filled(core::kUnlimited)});
  for (size_t i = 0; i < trace.jobs.size(); ++i) {
    const SimJob& sj = trace.jobs[i];
    core::Job j;
    j.id = sj.id;
    j.project = "all";
    j.user = "u";
    j.submit_time = static_cast<core::Seconds>(i);  // trace order
    j.groups = sj.groups;
    snap.jobs.push_back(std::move(j));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto d = scheduler->Schedule(snap);
  auto t1 = std::chrono::steady_clock::now();
  if (!d) return Error(d.error());

  PackingReport rep;
  rep.placement = placement;
  rep.pods = static_cast<int64_t>(trace.jobs.size());
  rep.pass_s = std::chrono::duration<double>(t1 - t0).count();
  const double capacity = static_cast<double>(trace.GpuCapacityMilli());
  std::unordered_map<std::string, const core::StartDecision*> started;
  for (const auto& s : d->starts) started[s.job] = &s;
  // Pods that no node could hold even on an empty cluster are not refusals of the packing (e.g.
  // an 8-GPU G2 pod asking 120 cores, when G2 nodes have 96): counted apart.
  std::unordered_map<std::string, bool> never_fits;
  for (const auto& w : d->waiting)
    if (w.reason == core::WaitReason::kUnschedulable || w.reason == core::WaitReason::kInvalid)
      never_fits[w.job] = true;
  rep.never_fit = static_cast<int64_t>(never_fits.size());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < trace.jobs.size(); ++i) index[trace.jobs[i].id] = i;
  std::unordered_map<std::string, size_t> node_index;
  for (size_t n = 0; n < trace.nodes.size(); ++n) node_index[trace.nodes[n].name] = n;

  // Node state as pods are placed in order, to measure the state at the first refusal.
  struct NodeUse {
    core::ResourceVector used;
    std::map<int32_t, int64_t> gpu_used;  // device index -> milli
  };
  std::vector<NodeUse> use(trace.nodes.size());
  int64_t allocated = 0;
  for (size_t i = 0; i < trace.jobs.size(); ++i) {
    const SimJob& sj = trace.jobs[i];
    auto it = started.find(sj.id);
    if (it == started.end()) {
      if (rep.first_refusal >= 0 || never_fits.count(sj.id)) continue;
      if (sj.GpuMilli() == 0) continue;  // measure GPU packing: the first GPU pod refused
      rep.first_refusal = static_cast<int64_t>(i);
      rep.allocation_at_first_refusal = static_cast<double>(allocated) / capacity;
      // Free GPU on nodes that cannot take the refused pod.
      const core::TaskGroup& g = sj.groups.front();
      int64_t unusable = 0;
      for (size_t n = 0; n < trace.nodes.size(); ++n) {
        const core::Node& node = trace.nodes[n];
        int64_t free_gpu = 0;
        int32_t whole = 0;
        bool share_fits = false;
        for (const core::Gpu& gpu : node.gpus) {
          int64_t f = core::kMilliPerGpu - use[n].gpu_used[gpu.index];
          free_gpu += f;
          bool model_ok = g.gpu_models.empty();
          for (const auto& m : g.gpu_models) model_ok |= m == gpu.model;
          if (!model_ok) continue;
          if (f == core::kMilliPerGpu) ++whole;
          if (f >= g.resources.gpu_milli()) share_fits = true;
        }
        bool fits = !node.unschedulable;
        for (int k : {core::kCpu, core::kMemory})
          if (node.allocatable[k] - use[n].used[k] < g.resources[k]) fits = false;
        int64_t want = g.resources.gpu_milli();
        if (want >= core::kMilliPerGpu ? whole < want / core::kMilliPerGpu : !share_fits)
          fits = false;
        if (!fits) unusable += free_gpu;
      }
      rep.fragmentation_at_first_refusal = static_cast<double>(unusable) / capacity;
      continue;
    }
    ++rep.placed;
    allocated += sj.GpuMilli();
    for (const core::TaskPlacement& tp : it->second->tasks) {
      size_t n = node_index.at(tp.node);
      use[n].used += sj.groups[tp.group].resources;
      for (const core::GpuShare& gs : tp.gpus) use[n].gpu_used[gs.gpu_index] += gs.milli;
    }
  }
  rep.allocation_at_end = static_cast<double>(allocated) / capacity;
  return rep;
}

std::string FormatPackingTable(const std::vector<PackingReport>& reports) {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "\n%-10s %8s %8s %10s %14s %12s %12s %14s %8s\n", "placement",
                "pods", "placed", "never fit", "1st refusal #", "alloc@1st", "alloc@end",
                "frag@1st", "pass s");
  o << line;
  for (const auto& r : reports) {
    std::snprintf(line, sizeof line,
                  "%-10s %8lld %8lld %10lld %14lld %11.1f%% %11.1f%% %13.1f%% %8.3f\n",
                  r.placement.c_str(), static_cast<long long>(r.pods),
                  static_cast<long long>(r.placed), static_cast<long long>(r.never_fit),
                  static_cast<long long>(r.first_refusal), 100 * r.allocation_at_first_refusal,
                  100 * r.allocation_at_end, 100 * r.fragmentation_at_first_refusal, r.pass_s);
    o << line;
  }
  return o.str();
}

std::string PackingToJson(const Trace& trace, const std::vector<PackingReport>& reports) {
  std::ostringstream o;
  o << "{\"trace\":\"" << trace.name << "\",\"mode\":\"packing\",\"pods\":" << trace.jobs.size()
    << ",\"gpus\":" << trace.GpuCapacityMilli() / 1000 << ",\"placements\":{";
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "%s\"%s\":{\"placed\":%lld,\"never_fit\":%lld,\"first_refusal\":%lld,\"allocation_at_first_"
        "refusal\":%.6f,"
        "\"allocation_at_end\":%.6f,\"fragmentation_at_first_refusal\":%.6f,\"pass_s\":%.4f}",
        i ? "," : "", r.placement.c_str(), static_cast<long long>(r.placed),
        static_cast<long long>(r.never_fit), static_cast<long long>(r.first_refusal),
        r.allocation_at_first_refusal, r.allocation_at_end, r.fragmentation_at_first_refusal,
        r.pass_s);
    o << buf;
  }
  o << "}}\n";
  return o.str();
}

}  // namespace kumo::sim
