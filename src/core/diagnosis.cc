#include "core/diagnosis.h"

#include <algorithm>
#include <climits>

#include "core/text.h"

namespace kumo::core::internal {
namespace {

// GPUs of the node whose model `model_ok` accepts (nullptr: any model).
int64_t UsableGpus(const NodeRt& node, const std::vector<uint8_t>* model_ok) {
  int64_t usable = 0;
  for (const GpuSlot& s : node.gpus) usable += model_ok == nullptr || (*model_ok)[s.model];
  return usable;
}

// How many tasks like `t` the node holds when it is empty (selectors and taints aside: the
// caller counts eligible nodes only). A kind the task does not ask for does not bound it.
int64_t TasksPerEmptyNode(const NodeRt& node, const TaskDemand& t) {
  int64_t fit = INT64_MAX;
  for (int k = 0; k < kNumResourceKinds; ++k)
    if (k != kGpu && t.res[k] > 0) fit = std::min(fit, node.capacity[k] / t.res[k]);
  const int64_t usable = UsableGpus(node, t.model_ok);
  if (t.whole > 0) fit = std::min(fit, usable / t.whole);
  if (t.share > 0) fit = std::min(fit, usable * (kMilliPerGpu / t.share));
  return fit;
}

}  // namespace

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
  return GangTooLarge(jr);
}

// Whether the nodes at topology positions [begin, end), all empty, could hold the whole gang:
// every group's tasks counted node by node (a node holds floor(capacity / request) of them on
// its tightest kind), and the gang's total of every kind against what the nodes some task may
// use have in all. Both are necessary conditions, so "no" is a proof; "yes" leaves the rest to
// the search. On "no", *why says what is short. Example: 256 tasks of 8 GPUs on 231 nodes of
// 8 GPUs -> at most 231 of them.
bool Diagnosis::GangFitsEmpty(const JobRt& jr, int32_t begin, int32_t end,
                              std::string* why) const {
  const ClusterState& s = pass_.cluster;
  const Job& job = *jr.job;
  // One task per group (the gang lists every replica).
  std::vector<const TaskDemand*> rep(job.groups.size(), nullptr);
  for (const TaskDemand& t : jr.gang.tasks) rep[t.group] = &t;
  std::vector<int64_t> held(job.groups.size(), 0);
  ResourceVector total;  // what the nodes some task may use have
  for (int32_t pos = begin; pos < end; ++pos) {
    const NodeRt& node = s.nodes[s.order[pos]];
    bool any = false;
    int64_t gpus = 0;
    for (size_t gi = 0; gi < rep.size(); ++gi) {
      if (!(*rep[gi]->eligible)[s.order[pos]]) continue;
      any = true;
      gpus = std::max(gpus, UsableGpus(node, rep[gi]->model_ok));
      const int64_t room = job.groups[gi].replicas - held[gi];
      held[gi] += std::min(room, TasksPerEmptyNode(node, *rep[gi]));
    }
    if (!any) continue;
    total += node.capacity;
    total[kGpu] = total[kGpu] - node.capacity[kGpu] + gpus * kMilliPerGpu;
  }
  for (size_t gi = 0; gi < rep.size(); ++gi) {
    const TaskGroup& g = job.groups[gi];
    if (held[gi] >= g.replicas) continue;
    const std::string what = g.name.empty() ? Fmt("group %zu", gi) : "group \"" + g.name + "\"";
    *why = Fmt("%s needs %d tasks of %s at once; the nodes it may use hold at most %lld even "
               "when empty",
               what.c_str(), g.replicas, Gpus(g.resources[kGpu]).c_str(),
               static_cast<long long>(held[gi]));
    return false;
  }
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (jr.request[k] <= total[k]) continue;
    *why = Fmt("needs %s of %s at once (%s); the nodes it may use have %s in all",
               FormatQuantity(k, jr.request[k]).c_str(),
               ResourceName(k, pass_.snap.extended_resources).c_str(),
               pass_.JobTasksText(jr).c_str(), FormatQuantity(k, total[k]).c_str());
    return false;
  }
  return true;
}

// The whole gang against the empty cluster, or against every domain of its required topology
// level (a "node" level: every node). Memoized per gang shape.
std::optional<std::string> Diagnosis::GangTooLarge(const JobRt& jr) {
  auto cached = gang_cache_.find(jr.shape);
  if (cached != gang_cache_.end()) return cached->second;
  const ClusterState& s = pass_.cluster;
  std::optional<std::string> verdict;
  std::string why;
  if (!jr.gang.required || jr.gang.level == 0) {
    if (!GangFitsEmpty(jr, 0, static_cast<int32_t>(s.order.size()), &why)) verdict = why;
  } else if (jr.gang.level == GangRequest::kNodeLevel) {
    bool any = false;
    for (int32_t pos = 0; pos < static_cast<int32_t>(s.order.size()) && !any; ++pos)
      any = GangFitsEmpty(jr, pos, pos + 1, &why);
    if (!any)
      verdict = Fmt("needs all of %s on one node; no node could hold them even when empty",
                    pass_.JobTasksText(jr).c_str());
  } else {
    verdict = DomainTooSmall(jr);
  }
  gang_cache_.emplace(jr.shape, verdict);
  return verdict;
}

// A required topology level none of whose domains could hold the gang even when empty.
std::optional<std::string> Diagnosis::DomainTooSmall(const JobRt& jr) const {
  const ClusterState& s = pass_.cluster;
  const char* level = pass_.nodes.level_names()[jr.gang.level].c_str();
  int64_t largest = 0;
  std::string why;
  for (int32_t d : s.level_domains[jr.gang.level]) {
    const Domain& dom = s.domains[d];
    if (GangFitsEmpty(jr, dom.node_begin, dom.node_end, &why)) return std::nullopt;
    int64_t gpus = 0;
    for (int32_t pos = dom.node_begin; pos < dom.node_end; ++pos)
      gpus += s.nodes[s.order[pos]].capacity[kGpu];
    largest = std::max(largest, gpus);
  }
  if (largest < jr.gang.total[kGpu])
    return Fmt("needs %s within one %s; the largest %s has %s in all",
               Gpus(jr.gang.total[kGpu]).c_str(), level, level, Gpus(largest).c_str());
  return Fmt("needs %s within one %s; no %s could hold its tasks even when empty",
             pass_.JobTasksText(jr).c_str(), level, level);
}

std::optional<std::string> Diagnosis::GroupUnschedulable(const TaskGroup& g, size_t gi,
                                                         const TaskDemand& t) const {
  const std::vector<Node>& snap_nodes = pass_.snap.nodes;
  int32_t matching = 0, with_gpus = 0, big_enough = 0;
  for (size_t n = 0; n < snap_nodes.size(); ++n) {
    if (!(*t.eligible)[n]) continue;
    ++matching;
    const NodeRt& node = pass_.cluster.nodes[n];
    const int64_t usable = UsableGpus(node, t.model_ok);
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
