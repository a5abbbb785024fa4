#include "core/diagnosis.h"

#include <algorithm>

#include "core/text.h"

namespace kumo::core::internal {

std::optional<std::string> Diagnosis::StaticallyUnschedulable(int32_t j) {
  const JobRt& jr = pass_.jobs[j];
  const Job& job = *jr.job;
  for (size_t gi = 0; gi < job.groups.size(); ++gi) {
    const TaskGroup& g = job.groups[gi];
    const TaskDemand* t = nullptr;
    for (const TaskDemand& td : jr.gang.tasks)
      if (td.group == static_cast<int32_t>(gi)) t = &td;
    // Memoized per (eligible set, task shape): many jobs share both.
    std::string key;
    auto put = [&](const auto& v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(t->eligible);
    put(t->model_ok);
    put(t->whole);
    put(t->share);
    put(t->res.v);
    put(gi);  // the message names the group by name or index
    key += g.name;
    auto cached = static_cache_.find(key);
    if (cached != static_cache_.end()) {
      if (cached->second) return cached->second;
      continue;
    }
    auto verdict = GroupUnschedulable(g, gi, *t);
    static_cache_.emplace(key, verdict);
    if (verdict) return verdict;
  }
  return DomainTooSmall(jr);
}

// A required topology level none of whose domains has as many GPUs as the gang.
std::optional<std::string> Diagnosis::DomainTooSmall(const JobRt& jr) {
  if (!jr.gang.required || jr.gang.level <= 0 || jr.gang.total[kGpu] <= 0) return std::nullopt;
  const ClusterState& s = pass_.cluster;
  const std::vector<std::string>& level_names = pass_.nodes.level_names();
  if (max_domain_gpu_.empty()) {
    max_domain_gpu_.assign(level_names.size(), 0);
    for (size_t level = 1; level < level_names.size(); ++level)
      for (int32_t d : s.level_domains[level]) {
        const Domain& dom = s.domains[d];
        int64_t gpus = 0;
        for (int32_t pos = dom.node_begin; pos < dom.node_end; ++pos)
          gpus += s.nodes[s.order[pos]].capacity[kGpu];
        max_domain_gpu_[level] = std::max(max_domain_gpu_[level], gpus);
      }
  }
  const int64_t largest = max_domain_gpu_[jr.gang.level];
  if (largest >= jr.gang.total[kGpu]) return std::nullopt;
  const char* level = level_names[jr.gang.level].c_str();
  return Fmt("needs %s within one %s; the largest %s has %s in all",
             Gpus(jr.gang.total[kGpu]).c_str(), level, level, Gpus(largest).c_str());
}

std::optional<std::string> Diagnosis::GroupUnschedulable(const TaskGroup& g, size_t gi,
                                                         const TaskDemand& t) const {
  const std::vector<Node>& snap_nodes = pass_.snap.nodes;
  int32_t matching = 0, with_gpus = 0, big_enough = 0;
  for (size_t n = 0; n < snap_nodes.size(); ++n) {
    if (!(*t.eligible)[n]) continue;
    ++matching;
    const NodeRt& node = pass_.cluster.nodes[n];
    int32_t usable = 0;
    for (const GpuSlot& s : node.gpus)
      if (t.model_ok == nullptr || (*t.model_ok)[s.model]) ++usable;
    if (t.whole > usable || (t.share > 0 && usable == 0)) continue;
    ++with_gpus;
    bool fits = true;
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (k != kGpu && t.res[k] > node.capacity[k]) fits = false;
    big_enough += fits;
  }
  std::string what = g.name.empty() ? Fmt("group %zu", gi) : "group \"" + g.name + "\"";
  std::string models;
  for (const std::string& m : g.gpu_models) models += (models.empty() ? "" : "|") + m;
  if (matching == 0)
    return Fmt("no node matches the node selector and tolerations of %s (0 of %zu nodes)",
               what.c_str(), snap_nodes.size());
  if (with_gpus == 0)
    return Fmt(
        "no node has %s%s%s for one task of %s (%d nodes match its selector and tolerations)",
        Gpus(std::max<int64_t>(g.resources[kGpu], kMilliPerGpu)).c_str(),
        models.empty() ? "" : " of model ", models.c_str(), what.c_str(), matching);
  if (big_enough == 0)
    return Fmt("no node is big enough for one task of %s: needs %s", what.c_str(),
               ShortOfCapacity(g, t).c_str());
  return std::nullopt;
}

// "64 cores (largest node: 32 cores), ...": each kind one task needs more of than any eligible
// node has.
std::string Diagnosis::ShortOfCapacity(const TaskGroup& g, const TaskDemand& t) const {
  std::string short_of;
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (k == kGpu || g.resources[k] == 0) continue;
    int64_t most = 0;
    for (size_t n = 0; n < pass_.snap.nodes.size(); ++n)
      if ((*t.eligible)[n]) most = std::max(most, pass_.cluster.nodes[n].capacity[k]);
    if (g.resources[k] > most)
      short_of += Fmt("%s%s (largest node: %s)", short_of.empty() ? "" : ", ",
                      FormatQuantity(k, g.resources[k]).c_str(), FormatQuantity(k, most).c_str());
  }
  return short_of;
}

WaitExplanation Diagnosis::Explain(int32_t j, Use use) const {
  const JobRt& jr = pass_.jobs[j];
  const ClusterState& s = pass_.cluster;
  // Free resources on the nodes the largest task may use.
  const TaskDemand& big = jr.gang.tasks.front();
  const bool minus_hold = use != Use::kShort;
  int64_t free_gpu = 0, free_cpu = 0, free_mem = 0;
  int32_t eligible = 0;
  if (big.every_node) {
    // Cluster aggregates (over schedulable nodes) minus what reservations hold.
    const Domain& root = s.domains[0];
    free_gpu = root.free_gpu_milli - (minus_hold ? root.held_gpu_milli : 0);
    free_cpu = root.free_cpu - (minus_hold ? root.held_cpu : 0);
    free_mem = root.free_memory - (minus_hold ? root.held_memory : 0);
    for (const NodeRt& node : s.nodes) eligible += node.schedulable;
  } else {
    for (size_t n = 0; n < s.nodes.size(); ++n) {
      const NodeRt& node = s.nodes[n];
      if (!node.schedulable || !(*big.eligible)[n]) continue;
      ++eligible;
      for (const GpuSlot& g : node.gpus) {
        if (big.model_ok != nullptr && !(*big.model_ok)[g.model]) continue;
        free_gpu += std::max(0, minus_hold ? g.free - g.hold : g.free);
      }
      free_cpu += node.free[kCpu] - (minus_hold ? node.hold[kCpu] : 0);
      free_mem += node.free[kMemory] - (minus_hold ? node.hold[kMemory] : 0);
    }
  }
  WaitExplanation w{jr.job->id, WaitReason::kInsufficientCapacity, ""};
  if (jr.request[kGpu] > free_gpu) {
    w.message =
        Fmt("needs %s (%s); %s free on the %d nodes it may use", Gpus(jr.request[kGpu]).c_str(),
            pass_.JobTasksText(jr).c_str(), Gpus(free_gpu).c_str(), eligible);
  } else if (jr.request[kCpu] > free_cpu) {
    w.message = Fmt("needs %s of cpu; %s free on the %d nodes it may use",
                    FormatQuantity(kCpu, jr.request[kCpu]).c_str(),
                    FormatQuantity(kCpu, free_cpu).c_str(), eligible);
  } else if (jr.request[kMemory] > free_mem) {
    w.message = Fmt("needs %s of memory; %s free on the %d nodes it may use",
                    FormatQuantity(kMemory, jr.request[kMemory]).c_str(),
                    FormatQuantity(kMemory, free_mem).c_str(), eligible);
  } else {
    return ExplainShape(jr, use, free_gpu);
  }
  return w;
}

// Enough free in total: either no domain of the required level holds it, or the free pieces
// are too small for its tasks.
WaitExplanation Diagnosis::ExplainShape(const JobRt& jr, Use use, int64_t free_gpu) const {
  const ClusterState& s = pass_.cluster;
  const TaskDemand& big = jr.gang.tasks.front();
  WaitExplanation w{jr.job->id, WaitReason::kTopology, ""};
  if (jr.gang.required && jr.gang.level == GangRequest::kNodeLevel) {
    int64_t best = 0;
    for (const NodeRt& node : s.nodes)
      if (node.schedulable) best = std::max(best, node.free[kGpu] - node.hold[kGpu]);
    w.message = Fmt("needs %s on one node; the node with most free has %s",
                    Gpus(jr.request[kGpu]).c_str(), Gpus(best).c_str());
  } else if (jr.gang.required && jr.gang.level != 0) {
    int64_t best = 0;
    for (int32_t d : s.level_domains[jr.gang.level])
      best = std::max(best, s.domains[d].free_gpu_milli);
    const char* lv = pass_.nodes.level_names()[jr.gang.level].c_str();
    w.message = Fmt("needs %s in one %s; the largest free %s has %s",
                    Gpus(jr.request[kGpu]).c_str(), lv, lv, Gpus(best).c_str());
  } else {
    int32_t hosts = 0;
    for (size_t n = 0; n < s.nodes.size(); ++n)
      hosts += pass_.placer.Fits(static_cast<int32_t>(n), big, use);
    w.reason = WaitReason::kFragmented;
    w.message = Fmt(
        "needs %s; %s are free in total but not in usable pieces: %d node(s) can take a task of %s",
        pass_.JobTasksText(jr).c_str(), Gpus(free_gpu).c_str(), hosts, Gpus(big.res[kGpu]).c_str());
  }
  return w;
}

}  // namespace kumo::core::internal
