#include "core/scheduler.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/cluster_state.h"
#include "core/gang_placer.h"

namespace kumo::core {

using internal::ClusterState;
using internal::Domain;
using internal::GangPlacer;
using internal::GangRequest;
using internal::GpuSlot;
using internal::NodeRt;
using internal::PlacedTask;
using internal::ReleaseKind;
using internal::TaskDemand;
using internal::Use;

Result<BackfillMode> ParseBackfillMode(std::string_view name) {
  if (name == "none") return BackfillMode::kNone;
  if (name == "greedy") return BackfillMode::kGreedy;
  if (name == "easy") return BackfillMode::kEasy;
  return Error(Status::InvalidArgument("unknown backfill mode \"" + std::string(name) +
                                       "\" (known: none, greedy, easy)"));
}

const char* BackfillModeName(BackfillMode m) {
  switch (m) {
    case BackfillMode::kNone:
      return "none";
    case BackfillMode::kGreedy:
      return "greedy";
    case BackfillMode::kEasy:
      return "easy";
  }
  return "unknown";
}

Scheduler::Scheduler(SchedulerConfig config, std::shared_ptr<const PlacementPolicy> placement)
    : config_(std::move(config)), placement_(std::move(placement)) {}

Result<Scheduler> Scheduler::Create(SchedulerConfig config) {
  auto placement = MakePlacementPolicy(config.placement);
  if (!placement) return Error(placement.error());
  auto order = MakeQueueOrder(config.queue_order);
  if (!order) return Error(order.error());
  if (config.block_size < 1) return Error(Status::InvalidArgument("block_size must be >= 1"));
  if (config.max_domain_attempts < 1)
    return Error(Status::InvalidArgument("max_domain_attempts must be >= 1"));
  return Scheduler(std::move(config),
                   std::shared_ptr<const PlacementPolicy>(std::move(*placement)));
}

namespace {

std::string Fmt(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string Gpus(int64_t milli) { return FormatQuantity(kGpu, milli); }

struct JobRt {
  const Job* job = nullptr;
  int32_t project = -1;
  int32_t user = 0;
  ResourceVector request;          // total over tasks
  std::vector<PlacedTask> placed;  // running / terminating / admitted in this pass
  bool running = false;            // holds resources (running, terminating or admitted)
  bool terminating = false;
  bool admitted_in_pass = false;
  Seconds start = 0;
  std::string invalid;  // why a pending job can never run
  GangRequest gang;
  std::string shape;             // identical shapes place identically (see PlaceCached)
  std::vector<PlacedTask> hint;  // last pass's reservation placement (Job::reservation)
  bool gang_built = false;       // BuildGang ran
};

struct ProjectRt {
  const Project* spec = nullptr;
  ResourceVector usage;          // running + terminating + admitted in pass
  std::vector<int32_t> running;  // running, not terminating; see SortRunning
  bool running_dirty = true;
};

class Pass {
 public:
  Pass(const SchedulerConfig& config, const PlacementPolicy& policy, const Snapshot& snap)
      : config_(config),
        policy_(policy),
        snap_(snap),
        placer_(state_, policy, config.max_domain_attempts) {}

  Result<Decisions> Run();

 private:
  Status IndexNodes();
  std::optional<PlacedTask> ToPlacedTask(const Job& job, const TaskPlacement& tp,
                                         std::string* why) const;
  Status IndexProjects();
  Status LoadJobs();
  void PreparePending(int32_t j);
  void BuildGang(int32_t j);
  const std::vector<uint8_t>* Eligibility(const Job& job, const TaskGroup& g,
                                          const std::vector<uint8_t>** prefer_no,
                                          const std::vector<uint8_t>** model_ok, bool* every_node,
                                          int32_t* eligible_nodes);
  std::optional<std::string> StaticallyUnschedulable(int32_t j);
  std::optional<std::string> GroupUnschedulable(const TaskGroup& g, size_t gi, const TaskDemand& t);
  std::optional<std::string> QuotaMaxViolation(int32_t j, const ResourceVector& extra) const;
  bool TryPreempt(int32_t j, Decisions* out);
  int32_t Stranded(const JobRt& preemptor, const JobRt& victim) const;
  bool TryMove(int32_t j, Decisions* out);
  std::optional<std::pair<Seconds, std::vector<PlacedTask>>> Reserve(int32_t j);
  WaitExplanation Diagnose(int32_t j, Use use);
  void Admit(int32_t j, std::vector<PlacedTask> placed);
  bool PlaceCached(int32_t j, Use use, std::vector<PlacedTask>* out, bool all_domains = false);
  void SortRunning(int32_t p);
  size_t BorrowingStart(int32_t p);
  bool InGuaranteeAfter(int32_t p, const ResourceVector& add) const;
  std::vector<TaskPlacement> ToPlacements(const std::vector<PlacedTask>& placed) const;
  std::string JobTasksText(const JobRt& jr) const;

  const SchedulerConfig& config_;
  const PlacementPolicy& policy_;
  const Snapshot& snap_;
  ClusterState state_;
  GangPlacer placer_;

  std::unordered_map<std::string, int32_t> node_by_name_;
  std::unordered_map<std::string, int32_t> model_by_name_;
  std::unordered_map<std::string, int32_t> project_by_name_;
  std::vector<ProjectRt> projects_;
  std::map<std::pair<int32_t, std::string>, int32_t> user_ids_;
  std::vector<JobRt> jobs_;
  std::vector<int32_t> pending_;
  std::vector<std::string> level_names_;  // index = level (1..L)
  ResourceVector capacity_;
  std::vector<int> quota_kinds_;

  struct EligEntry {
    std::vector<uint8_t> eligible, prefer_no, model_ok;
    bool has_model_filter = false;
    bool has_prefer_no = false;
    int32_t count = 0;
  };
  std::map<std::string, EligEntry> elig_cache_;
  std::unordered_map<std::string, std::optional<std::string>> static_cache_;
  std::vector<int64_t> max_domain_gpu_;  // by level: GPUs of the largest domain
  // Gang shapes the cluster aggregates proved unplaceable in this pass, by Use. Within a pass
  // what kNow and kShort may use only shrinks (starts take; holds grow, or are taken together
  // with the free they hold), so such a proof stays true. (Failures of the greedy search itself
  // are not cached: the search is not monotone, and a shape that failed may fit later.)
  std::unordered_set<std::string> failed_now_, failed_short_;
  // Gang shapes for which no move (TryMove) was found in this pass. Idle GPUs only get fewer as
  // the pass goes on, so trying again for an equal shape would mostly repeat the search.
  std::unordered_set<std::string> failed_move_;

  // Reservation state (EASY).
  std::optional<int32_t> reserved_job_;
  Seconds reserved_at_ = 0;
  // By node id: the reservation places a task there. Its holds, and the releases by the reserved
  // time that it counts on, are all on these nodes.
  std::vector<uint8_t> reserved_node_;
};

// A task placement of the snapshot (a running task, or a carried reservation) in internal form;
// nullopt with *why set when it names an unknown group, node or GPU.
std::optional<PlacedTask> Pass::ToPlacedTask(const Job& job, const TaskPlacement& tp,
                                             std::string* why) const {
  auto n = node_by_name_.find(tp.node);
  if (n == node_by_name_.end()) {
    *why = "job \"" + job.id + "\": task on unknown node \"" + tp.node + "\"";
    return std::nullopt;
  }
  if (tp.group < 0 || tp.group >= static_cast<int32_t>(job.groups.size())) {
    *why = Fmt("job \"%s\": task placement names group %d of %zu", job.id.c_str(), tp.group,
               job.groups.size());
    return std::nullopt;
  }
  PlacedTask pt;
  pt.group = tp.group;
  pt.index = tp.index;
  pt.node = n->second;
  pt.res = job.groups[tp.group].resources;
  pt.res[kGpu] = 0;
  const NodeRt& node = state_.nodes[pt.node];
  for (const GpuShare& gs : tp.gpus) {
    int32_t pos = -1;
    for (int32_t sl = 0; sl < static_cast<int32_t>(node.gpus.size()); ++sl)
      if (node.gpus[sl].index == gs.gpu_index) pos = sl;
    if (pos < 0) {
      *why = Fmt("job \"%s\": task on node \"%s\" uses unknown GPU %d", job.id.c_str(),
                 tp.node.c_str(), gs.gpu_index);
      return std::nullopt;
    }
    pt.slots.emplace_back(pos, static_cast<int32_t>(gs.milli));
    pt.res[kGpu] += gs.milli;
  }
  return pt;
}

Status Pass::IndexNodes() {
  const int32_t levels = static_cast<int32_t>(snap_.topology_levels.size());
  if (snap_.extended_resources.size() > static_cast<size_t>(kMaxExtendedResources))
    return Status::InvalidArgument(Fmt("at most %d extended resources are supported, got %zu",
                                       kMaxExtendedResources, snap_.extended_resources.size()));
  level_names_.assign(1, "cluster");
  for (const auto& l : snap_.topology_levels) {
    if (l == "node" || l == "cluster" || l.empty())
      return Status::InvalidArgument("topology level name \"" + l + "\" is reserved or empty");
    level_names_.push_back(l);
  }
  const size_t n_nodes = snap_.nodes.size();
  state_.nodes.resize(n_nodes);
  // Domain key per level -> first-appearance id, so the order is the input's, deterministic.
  std::vector<std::unordered_map<std::string, int32_t>> level_ids(levels);
  std::vector<std::vector<int32_t>> path(n_nodes, std::vector<int32_t>(levels));
  for (size_t i = 0; i < n_nodes; ++i) {
    const Node& n = snap_.nodes[i];
    if (n.name.empty()) return Status::InvalidArgument(Fmt("nodes[%zu].name is empty", i));
    if (!node_by_name_.emplace(n.name, static_cast<int32_t>(i)).second)
      return Status::InvalidArgument("duplicate node name \"" + n.name + "\"");
    if (static_cast<int32_t>(n.topology.size()) != levels)
      return Status::InvalidArgument(
          Fmt("node \"%s\": topology has %zu entries, the snapshot declares %d levels",
              n.name.c_str(), n.topology.size(), levels));
    std::string key;
    for (int32_t l = 0; l < levels; ++l) {
      key += n.topology[l];
      key.push_back('\0');
      auto [it, inserted] = level_ids[l].emplace(key, static_cast<int32_t>(level_ids[l].size()));
      path[i][l] = it->second;
    }
    NodeRt& rt = state_.nodes[i];
    rt.snapshot_index = static_cast<int32_t>(i);
    rt.schedulable = !n.unschedulable;
    rt.capacity = n.allocatable;
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (rt.capacity[k] < 0)
        return Status::InvalidArgument(Fmt("node \"%s\": negative allocatable", n.name.c_str()));
    rt.capacity[kGpu] = static_cast<int64_t>(n.gpus.size()) * kMilliPerGpu;
    rt.free = rt.capacity;
    std::vector<int32_t> seen;
    for (const Gpu& g : n.gpus) {
      if (std::find(seen.begin(), seen.end(), g.index) != seen.end())
        return Status::InvalidArgument(
            Fmt("node \"%s\": duplicate GPU index %d", n.name.c_str(), g.index));
      seen.push_back(g.index);
      GpuSlot s;
      s.free = kMilliPerGpu;
      s.model = model_by_name_.emplace(g.model, static_cast<int32_t>(model_by_name_.size()))
                    .first->second;
      s.nvlink_group = g.nvlink_group;
      s.index = g.index;
      rt.gpus.push_back(s);
    }
    state_.max_gpus_per_node =
        std::max<int32_t>(state_.max_gpus_per_node, static_cast<int32_t>(n.gpus.size()));
    if (!n.unschedulable) capacity_ += rt.capacity;
  }
  // Topology order: by domain path, then input order.
  state_.order.resize(n_nodes);
  for (size_t i = 0; i < n_nodes; ++i) state_.order[i] = static_cast<int32_t>(i);
  std::stable_sort(state_.order.begin(), state_.order.end(),
                   [&](int32_t a, int32_t b) { return path[a] < path[b]; });
  // Domains: root, then one per (level, path prefix), then blocks.
  state_.domains.clear();
  state_.level_domains.assign(levels + 2, {});
  state_.domains.push_back(Domain{});
  state_.domains[0].name = "cluster";
  state_.level_domains[0].push_back(0);
  std::vector<int32_t> open(levels + 1, 0);  // currently open domain per level (0 = root)
  std::vector<int32_t> prev_path;
  int32_t block_fill = 0;
  int32_t block = -1;
  auto close_domain = [&](int32_t d, int32_t pos, int32_t block_end) {
    state_.domains[d].node_end = pos;
    state_.domains[d].block_end = block_end;
  };
  for (int32_t pos = 0; pos < static_cast<int32_t>(n_nodes); ++pos) {
    int32_t n = state_.order[pos];
    // First level where the path differs from the previous node's.
    const bool first = pos == 0;
    int32_t diff = levels;
    if (first) {
      diff = 0;
    } else {
      for (int32_t l = 0; l < levels; ++l)
        if (path[n][l] != prev_path[l]) {
          diff = l;
          break;
        }
    }
    bool new_block = first || diff < levels || block_fill >= config_.block_size;
    if (!first) {
      for (int32_t l = levels - 1; l >= diff; --l) close_domain(open[l + 1], pos, block + 1);
      if (new_block) close_domain(state_.block_domain[block], pos, block + 1);
    }
    for (int32_t l = diff; l < levels; ++l) {
      Domain d;
      d.level = l + 1;
      d.parent = open[l];
      d.name = snap_.nodes[n].topology[l];
      d.node_begin = pos;
      d.block_begin = block + 1;
      open[l + 1] = static_cast<int32_t>(state_.domains.size());
      state_.level_domains[l + 1].push_back(open[l + 1]);
      state_.domains.push_back(std::move(d));
    }
    if (new_block) {
      ++block;
      block_fill = 0;
      Domain d;
      d.level = levels + 1;
      d.parent = open[levels];
      d.name = "block";
      d.node_begin = pos;
      d.block_begin = block;
      state_.block_domain.push_back(static_cast<int32_t>(state_.domains.size()));
      state_.level_domains[levels + 1].push_back(state_.block_domain.back());
      state_.domains.push_back(std::move(d));
      std::vector<int32_t> anc;
      for (int32_t l = 0; l <= levels; ++l) anc.push_back(open[l]);
      anc.push_back(state_.block_domain.back());
      state_.block_ancestors.push_back(std::move(anc));
    }
    ++block_fill;
    state_.nodes[n].block = block;
    prev_path = path[n];
  }
  const int32_t end_pos = static_cast<int32_t>(n_nodes);
  if (n_nodes > 0) {
    for (int32_t l = levels - 1; l >= 0; --l) close_domain(open[l + 1], end_pos, block + 1);
    close_domain(state_.block_domain[block], end_pos, block + 1);
  }
  close_domain(0, end_pos, block + 1);
  state_.RebuildAggregates();
  return Status::Ok();
}

Status Pass::IndexProjects() {
  projects_.resize(snap_.projects.size());
  for (size_t i = 0; i < snap_.projects.size(); ++i) {
    const Project& p = snap_.projects[i];
    if (!project_by_name_.emplace(p.name, static_cast<int32_t>(i)).second)
      return Status::InvalidArgument("duplicate project name \"" + p.name + "\"");
    if (!(p.weight > 0))
      return Status::InvalidArgument("project \"" + p.name + "\": weight must be > 0");
    projects_[i].spec = &p;
  }
  for (int k = 0; k < kNumResourceKinds; ++k)
    for (const Project& p : snap_.projects)
      if (p.guaranteed[k] > 0) {
        quota_kinds_.push_back(k);
        break;
      }
  return Status::Ok();
}

Status Pass::LoadJobs() {
  jobs_.resize(snap_.jobs.size());
  std::unordered_map<std::string, int32_t> seen;
  for (size_t j = 0; j < snap_.jobs.size(); ++j) {
    const Job& job = snap_.jobs[j];
    JobRt& jr = jobs_[j];
    jr.job = &job;
    if (!seen.emplace(job.id, static_cast<int32_t>(j)).second)
      return Status::InvalidArgument("duplicate job id \"" + job.id + "\"");
    auto p = project_by_name_.find(job.project);
    if (p != project_by_name_.end()) jr.project = p->second;
    int32_t uid =
        user_ids_
            .emplace(std::make_pair(jr.project, job.user), static_cast<int32_t>(user_ids_.size()))
            .first->second;
    jr.user = uid;
    for (const TaskGroup& g : job.groups) jr.request += g.resources * std::max(g.replicas, 0);
    if (job.phase == JobPhase::kPending) {
      pending_.push_back(static_cast<int32_t>(j));
      continue;
    }
    // Running or terminating: its placements hold resources.
    jr.running = true;
    jr.terminating = job.phase == JobPhase::kTerminating;
    jr.start = job.start_time;
    for (const TaskPlacement& tp : job.placements) {
      std::string why;
      std::optional<PlacedTask> placed = ToPlacedTask(job, tp, &why);
      if (!placed) return Status::InvalidArgument(why);
      PlacedTask pt = std::move(*placed);
      NodeRt& node = state_.nodes[pt.node];
      // Occupy: free -= res; terminating tasks' resources move on to `term`.
      state_.BeginChange(pt.node);
      for (int k = 0; k < kNumResourceKinds; ++k) {
        if (k == kGpu) continue;
        node.free[k] -= pt.res[k];
        if (jr.terminating) node.term[k] += pt.res[k];
      }
      for (auto [pos, milli] : pt.slots) {
        node.gpus[pos].free -= milli;
        if (jr.terminating) node.gpus[pos].term += milli;
      }
      state_.EndChange(pt.node);
      jr.placed.push_back(std::move(pt));
    }
    if (jr.project >= 0) {
      projects_[jr.project].usage += jr.request;
      if (!jr.terminating) projects_[jr.project].running.push_back(static_cast<int32_t>(j));
    }
  }
  state_.Commit();
  return Status::Ok();
}

const std::vector<uint8_t>* Pass::Eligibility(const Job& job, const TaskGroup& g,
                                              const std::vector<uint8_t>** prefer_no,
                                              const std::vector<uint8_t>** model_ok,
                                              bool* every_node, int32_t* eligible_nodes) {
  std::string key;
  for (const Label& l : job.node_selector) key += l.key + '=' + l.value + '\x01';
  key += '\x02';
  for (const Toleration& t : job.tolerations)
    key += t.key + (t.op == Toleration::Operator::kExists ? "?" : "=") + t.value + ':' +
           (t.effect ? std::to_string(static_cast<int>(*t.effect)) : "*") + '\x01';
  key += '\x02';
  for (const std::string& m : g.gpu_models) key += m + '\x01';
  auto [it, inserted] = elig_cache_.try_emplace(key);
  EligEntry& e = it->second;
  if (inserted) {
    e.model_ok.assign(model_by_name_.size(), g.gpu_models.empty() ? 1 : 0);
    for (const std::string& m : g.gpu_models) {
      auto mi = model_by_name_.find(m);
      if (mi != model_by_name_.end()) e.model_ok[mi->second] = 1;
    }
    e.has_model_filter = !g.gpu_models.empty();
    e.eligible.assign(snap_.nodes.size(), 0);
    e.prefer_no.assign(snap_.nodes.size(), 0);
    for (size_t i = 0; i < snap_.nodes.size(); ++i) {
      const Node& n = snap_.nodes[i];
      bool ok = true;
      for (const Label& want : job.node_selector) {
        bool found = false;
        for (const Label& have : n.labels) found |= have == want;
        ok &= found;
      }
      bool prefer_no_hit = false;
      for (const Taint& taint : n.taints) {
        bool tolerated = false;
        for (const Toleration& t : job.tolerations) {
          if (t.effect && *t.effect != taint.effect) continue;
          if (t.op == Toleration::Operator::kExists) {
            tolerated |= t.key.empty() || t.key == taint.key;
          } else {
            tolerated |= t.key == taint.key && t.value == taint.value;
          }
        }
        if (tolerated) continue;
        if (taint.effect == TaintEffect::kPreferNoSchedule) {
          prefer_no_hit = true;
        } else {
          ok = false;
        }
      }
      e.eligible[i] = ok;
      e.prefer_no[i] = prefer_no_hit;
      e.has_prefer_no |= prefer_no_hit;
      e.count += ok;
    }
  }
  *prefer_no = e.has_prefer_no ? &e.prefer_no : nullptr;
  *model_ok = e.has_model_filter ? &e.model_ok : nullptr;
  *every_node = !e.has_model_filter && e.count == static_cast<int32_t>(snap_.nodes.size());
  *eligible_nodes = e.count;
  return &e.eligible;
}

void Pass::PreparePending(int32_t j) {
  JobRt& jr = jobs_[j];
  const Job& job = *jr.job;
  auto invalid = [&](std::string why) { jr.invalid = std::move(why); };
  if (jr.project < 0) return invalid("spec.project: unknown project \"" + job.project + "\"");
  if (job.groups.empty()) return invalid("spec.tasks: a job needs at least one task group");
  for (size_t gi = 0; gi < job.groups.size(); ++gi) {
    const TaskGroup& g = job.groups[gi];
    if (g.replicas < 1) return invalid(Fmt("spec.tasks[%zu].replicas: must be >= 1", gi));
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (g.resources[k] < 0)
        return invalid(Fmt("spec.tasks[%zu].resources: negative request", gi));
    int64_t gpu = g.resources[kGpu];
    if (gpu > kMilliPerGpu && gpu % kMilliPerGpu != 0)
      return invalid(
          Fmt("spec.tasks[%zu].resources.gpu: %lld milli-GPU is neither a share of one GPU (< "
              "1000) nor whole GPUs",
              gi, static_cast<long long>(gpu)));
  }
  if (job.topology.mode != TopologyConstraint::Mode::kNone) {
    if (job.topology.level == "node") {
      jr.gang.level = GangRequest::kNodeLevel;
    } else {
      auto it = std::find(level_names_.begin() + 1, level_names_.end(), job.topology.level);
      if (it == level_names_.end())
        return invalid("spec.topology.level: unknown level \"" + job.topology.level + "\"");
      jr.gang.level = static_cast<int32_t>(it - level_names_.begin());
    }
    jr.gang.required = job.topology.mode == TopologyConstraint::Mode::kRequired;
  }
}

// The expensive part of preparing a pending job (eligibility tables, the gang's tasks, its shape
// key, its carried reservation), done only when the pass first considers the job: in a long
// queue behind a strict-FIFO blocker or past the backfill depth most jobs never are.
void Pass::BuildGang(int32_t j) {
  JobRt& jr = jobs_[j];
  if (jr.gang_built) return;
  jr.gang_built = true;
  const Job& job = *jr.job;
  for (size_t gi = 0; gi < job.groups.size(); ++gi) {
    const TaskGroup& g = job.groups[gi];
    TaskDemand t;
    t.group = static_cast<int32_t>(gi);
    t.res = g.resources;
    int64_t gpu = g.resources[kGpu];
    t.whole = gpu >= kMilliPerGpu ? static_cast<int32_t>(gpu / kMilliPerGpu) : 0;
    t.share = gpu > 0 && gpu < kMilliPerGpu ? static_cast<int32_t>(gpu) : 0;
    t.eligible = Eligibility(job, g, &t.prefer_no, &t.model_ok, &t.every_node, &t.eligible_nodes);
    for (int32_t r = 0; r < g.replicas; ++r) {
      t.index = r;
      jr.gang.tasks.push_back(t);
    }
  }
  std::stable_sort(jr.gang.tasks.begin(), jr.gang.tasks.end(),
                   [](const TaskDemand& a, const TaskDemand& b) {
                     if (a.whole != b.whole) return a.whole > b.whole;
                     if (a.share != b.share) return a.share > b.share;
                     if (a.res[kCpu] != b.res[kCpu]) return a.res[kCpu] > b.res[kCpu];
                     return a.res[kMemory] > b.res[kMemory];
                   });
  jr.gang.total = jr.request;
  // The reservation this job held in the last pass, if its nodes and GPUs still exist.
  for (const TaskPlacement& tp : job.reservation) {
    std::string why;
    std::optional<PlacedTask> pt = ToPlacedTask(job, tp, &why);
    if (!pt || pt->res[kGpu] != job.groups[tp.group].resources[kGpu]) {
      jr.hint.clear();
      break;
    }
    jr.hint.push_back(std::move(*pt));
  }
  if (jr.hint.size() != jr.gang.tasks.size()) jr.hint.clear();
  // A binary key: level, required, then every task's eligibility tables and request.
  auto put = [&](const auto& v) { jr.shape.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(jr.gang.level);
  put(jr.gang.required);
  for (const TaskDemand& t : jr.gang.tasks) {
    put(t.eligible);
    put(t.prefer_no);
    put(t.model_ok);
    put(t.whole);
    put(t.share);
    put(t.res.v);
  }
}

bool Pass::PlaceCached(int32_t j, Use use, std::vector<PlacedTask>* out, bool all_domains) {
  JobRt& jr = jobs_[j];
  if (use == Use::kAfterExit) return placer_.Place(jr.gang, use, out, all_domains);
  std::unordered_set<std::string>& failed = use == Use::kNow ? failed_now_ : failed_short_;
  if (failed.count(jr.shape)) return false;
  if (!placer_.MayFitCluster(jr.gang)) {
    failed.insert(jr.shape);
    return false;
  }
  return placer_.Place(jr.gang, use, out, all_domains);
}

// Whether the job could never run, even on an empty cluster: a task no node can hold, or a
// required topology domain that is too small. Returns the explanation.
std::optional<std::string> Pass::StaticallyUnschedulable(int32_t j) {
  const JobRt& jr = jobs_[j];
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
  if (jr.gang.required && jr.gang.level > 0 && jr.gang.total[kGpu] > 0) {
    if (max_domain_gpu_.empty()) {
      max_domain_gpu_.assign(level_names_.size(), 0);
      for (size_t level = 1; level < level_names_.size(); ++level)
        for (int32_t d : state_.level_domains[level]) {
          const Domain& dom = state_.domains[d];
          int64_t gpus = 0;
          for (int32_t pos = dom.node_begin; pos < dom.node_end; ++pos)
            gpus += state_.nodes[state_.order[pos]].capacity[kGpu];
          max_domain_gpu_[level] = std::max(max_domain_gpu_[level], gpus);
        }
    }
    const int64_t largest = max_domain_gpu_[jr.gang.level];
    if (largest < jr.gang.total[kGpu])
      return Fmt("needs %s within one %s; the largest %s has %s in all",
                 Gpus(jr.gang.total[kGpu]).c_str(), level_names_[jr.gang.level].c_str(),
                 level_names_[jr.gang.level].c_str(), Gpus(largest).c_str());
  }
  return std::nullopt;
}

std::optional<std::string> Pass::GroupUnschedulable(const TaskGroup& g, size_t gi,
                                                    const TaskDemand& task) {
  const TaskDemand* t = &task;
  {
    int32_t matching = 0, with_gpus = 0, big_enough = 0;
    for (size_t n = 0; n < snap_.nodes.size(); ++n) {
      if (!(*t->eligible)[n]) continue;
      ++matching;
      const NodeRt& node = state_.nodes[n];
      int32_t usable = 0;
      for (const GpuSlot& s : node.gpus)
        if (t->model_ok == nullptr || (*t->model_ok)[s.model]) ++usable;
      if (t->whole > usable || (t->share > 0 && usable == 0)) continue;
      ++with_gpus;
      bool fits = true;
      for (int k = 0; k < kNumResourceKinds; ++k)
        if (k != kGpu && t->res[k] > node.capacity[k]) fits = false;
      big_enough += fits;
    }
    std::string what = g.name.empty() ? Fmt("group %zu", gi) : "group \"" + g.name + "\"";
    std::string models;
    for (const std::string& m : g.gpu_models) models += (models.empty() ? "" : "|") + m;
    if (matching == 0)
      return Fmt("no node matches the node selector and tolerations of %s (0 of %zu nodes)",
                 what.c_str(), snap_.nodes.size());
    if (with_gpus == 0)
      return Fmt(
          "no node has %s%s%s for one task of %s (%d nodes match its selector and tolerations)",
          Gpus(std::max<int64_t>(g.resources[kGpu], kMilliPerGpu)).c_str(),
          models.empty() ? "" : " of model ", models.c_str(), what.c_str(), matching);
    if (big_enough == 0) {
      std::string short_of;
      for (int k = 0; k < kNumResourceKinds; ++k) {
        if (k == kGpu || g.resources[k] == 0) continue;
        int64_t most = 0;
        for (size_t n = 0; n < snap_.nodes.size(); ++n)
          if ((*t->eligible)[n]) most = std::max(most, state_.nodes[n].capacity[k]);
        if (g.resources[k] > most)
          short_of +=
              Fmt("%s%s (largest node: %s)", short_of.empty() ? "" : ", ",
                  FormatQuantity(k, g.resources[k]).c_str(), FormatQuantity(k, most).c_str());
      }
      return Fmt("no node is big enough for one task of %s: needs %s", what.c_str(),
                 short_of.c_str());
    }
  }
  return std::nullopt;
}

// `extra`: usage to count on top of the project's (the reserved job's request, for a job of the
// same project that would still run at the reserved time).
std::optional<std::string> Pass::QuotaMaxViolation(int32_t j, const ResourceVector& extra) const {
  const JobRt& jr = jobs_[j];
  const ProjectRt& p = projects_[jr.project];
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (jr.request[k] == 0) continue;
    const int64_t used = p.usage[k] + extra[k];
    if (used + jr.request[k] > p.spec->max[k]) {
      return Fmt("project \"%s\" would exceed its max %s quota: %s in use%s + %s requested > %s",
                 p.spec->name.c_str(), ResourceName(k, snap_.extended_resources).c_str(),
                 FormatQuantity(k, used).c_str(), extra[k] > 0 ? " (with the reserved job)" : "",
                 FormatQuantity(k, jr.request[k]).c_str(),
                 FormatQuantity(k, p.spec->max[k]).c_str());
    }
  }
  return std::nullopt;
}

void Pass::SortRunning(int32_t p) {
  ProjectRt& pr = projects_[p];
  if (!pr.running_dirty) return;
  std::sort(pr.running.begin(), pr.running.end(), [&](int32_t a, int32_t b) {
    const JobRt& ja = jobs_[a];
    const JobRt& jb = jobs_[b];
    if (ja.job->priority != jb.job->priority) return ja.job->priority > jb.job->priority;
    if (ja.start != jb.start) return ja.start < jb.start;
    return ja.job->id < jb.job->id;
  });
  pr.running_dirty = false;
}

// Running jobs of a project, in (priority desc, start asc, id) order, are "in guarantee" while
// their cumulative usage stays within the project's guaranteed quota (on every kind some project
// has a guarantee for); the rest -- a suffix -- is borrowed capacity. Returns the suffix start.
size_t Pass::BorrowingStart(int32_t p) {
  SortRunning(p);
  const ProjectRt& pr = projects_[p];
  ResourceVector prefix;
  for (size_t i = 0; i < pr.running.size(); ++i) {
    prefix += jobs_[pr.running[i]].request;
    for (int k : quota_kinds_)
      if (prefix[k] > pr.spec->guaranteed[k]) return i;
  }
  return pr.running.size();
}

bool Pass::InGuaranteeAfter(int32_t p, const ResourceVector& add) const {
  const ProjectRt& pr = projects_[p];
  bool asks_quota_kind = false;
  for (int k : quota_kinds_) {
    if (pr.usage[k] + add[k] > pr.spec->guaranteed[k]) return false;
    asks_quota_kind |= add[k] > 0;
  }
  return asks_quota_kind;
}

void Pass::Admit(int32_t j, std::vector<PlacedTask> placed) {
  JobRt& jr = jobs_[j];
  jr.placed = std::move(placed);
  jr.running = true;
  jr.admitted_in_pass = true;
  jr.start = snap_.now;
  ProjectRt& pr = projects_[jr.project];
  pr.usage += jr.request;
  pr.running.push_back(j);
  pr.running_dirty = true;
}

// Whole GPUs that preempting `victim` alone would free beyond what `preemptor` could use where
// they are freed; negative when the victim's exit also puts idle GPUs to use. For an 8-GPU
// preemptor an 8-GPU victim alone on its node scores 0 and a 4-GPU victim next to 4 idle GPUs -4
// (half the GPUs preempted for the same fit); for a 4-GPU preemptor that 8-GPU victim scores 4.
// Counted on the kAfterExit view the preemption trial places on (free plus terminating); shared
// GPUs and cpu are ignored: this only ranks candidates, the trial placement decides.
int32_t Pass::Stranded(const JobRt& preemptor, const JobRt& victim) const {
  const std::vector<TaskDemand>& tasks = preemptor.gang.tasks;  // largest first
  int32_t want = 0;
  for (const TaskDemand& d : tasks) want += d.whole;
  // Whole GPUs the preemptor's tasks could take out of `avail` whole GPUs on node n.
  auto usable = [&](int32_t n, int32_t avail) {
    int32_t used = 0;
    for (const TaskDemand& d : tasks)
      if (d.whole > 0 && (*d.eligible)[n] && d.whole <= avail - used) used += d.whole;
    return used;
  };
  const TaskDemand* any_whole = nullptr;
  for (const TaskDemand& d : tasks)
    if (d.whole > 0 && any_whole == nullptr) any_whole = &d;
  int32_t freed = 0, gained = 0;
  std::vector<int32_t> seen;
  for (const PlacedTask& t : victim.placed) {
    if (std::find(seen.begin(), seen.end(), t.node) != seen.end()) continue;
    seen.push_back(t.node);
    const NodeRt& node = state_.nodes[t.node];
    // The victim's milli-GPU on each slot of this node (all of its tasks there).
    std::vector<int32_t> mine(node.gpus.size(), 0);
    for (const PlacedTask& u : victim.placed)
      if (u.node == t.node)
        for (auto [pos, milli] : u.slots) mine[pos] += milli;
    // Whole GPUs the preemptor could take on this node before and after the victim exits.
    int32_t before = 0, after = 0;
    for (size_t pos = 0; pos < node.gpus.size(); ++pos) {
      const GpuSlot& g = node.gpus[pos];
      const int32_t avail = g.free + g.term;
      if (avail + mine[pos] < kMilliPerGpu) continue;  // not a whole GPU even after the exit
      const bool was_whole = avail >= kMilliPerGpu;
      if (!was_whole) ++freed;
      if (any_whole != nullptr && any_whole->model_ok != nullptr &&
          (*any_whole->model_ok)[g.model] == 0)
        continue;  // a model the preemptor does not take
      ++after;
      before += was_whole;
    }
    if (!node.schedulable) continue;
    gained += usable(t.node, after) - usable(t.node, before);
  }
  return freed - std::min(gained, want);
}

bool Pass::TryPreempt(int32_t j, Decisions* out) {
  JobRt& jr = jobs_[j];
  const Job& job = *jr.job;
  if (!job.may_preempt) return false;
  const int32_t p = jr.project;
  const bool reclaim_ok = InGuaranteeAfter(p, jr.request);

  // Candidates: running, preemptible, past their minimum run time, on a node the job may use.
  struct Cand {
    int32_t job;
    bool reclaim;  // allowed only as a reclaim (equal priority, other project)
    int32_t priority;
    double borrowed;
    int32_t stranded;   // GPUs it would free that the preemptor could not use (Stranded)
    int64_t lost_work;  // milli-GPU-seconds since its last checkpoint (since start if none)
    Seconds run;
  };
  std::vector<Cand> cands;
  std::vector<size_t> borrow_start(projects_.size(), SIZE_MAX);
  for (size_t q = 0; q < projects_.size(); ++q) {
    const size_t start = BorrowingStart(static_cast<int32_t>(q));
    const ProjectRt& pr = projects_[q];
    double borrowed = 0;
    for (int k : quota_kinds_)
      if (capacity_[k] > 0)
        borrowed = std::max(borrowed, static_cast<double>(pr.usage[k] - pr.spec->guaranteed[k]) /
                                          static_cast<double>(capacity_[k]));
    for (size_t i = 0; i < pr.running.size(); ++i) {
      const JobRt& v = jobs_[pr.running[i]];
      const Job& vj = *v.job;
      if (v.admitted_in_pass || !vj.preemptible) continue;
      if (snap_.now - v.start < vj.min_runtime) continue;
      bool by_priority, by_reclaim = false;
      if (static_cast<int32_t>(q) == p) {
        by_priority = vj.priority < job.priority;
      } else {
        const bool borrowing = i >= start;
        by_priority = borrowing && vj.priority < job.priority;
        by_reclaim = borrowing && reclaim_ok && vj.priority <= job.priority;
      }
      if (!by_priority && !by_reclaim) continue;
      bool useful = false;
      for (const PlacedTask& t : v.placed)
        for (const TaskDemand& d : jr.gang.tasks) useful |= (*d.eligible)[t.node] != 0;
      if (!useful) continue;
      Seconds since = vj.checkpointable && vj.last_checkpoint_time >= v.start
                          ? vj.last_checkpoint_time
                          : v.start;
      // Work lost counts GPUs: ten minutes of an 8-GPU job are twice ten minutes of a 4-GPU
      // one. (Jobs without GPUs weigh one milli-GPU: they still rank by time among themselves.)
      const int64_t weight = std::max<int64_t>(1, v.request[kGpu]);
      cands.push_back(Cand{pr.running[i], !by_priority, vj.priority,
                           static_cast<int32_t>(q) == p ? 0.0 : std::max(borrowed, 0.0),
                           Stranded(jr, v), (snap_.now - since) * weight, snap_.now - v.start});
    }
  }
  if (cands.empty()) return false;
  // Cheapest first: lowest priority, most over quota, fewest GPUs stranded, least work lost,
  // shortest run. Stranding ranks before lost work: a stranded GPU idles until a job small enough
  // for the hole arrives -- under LAS, whose queue holds mostly demoted big gangs, that can take
  // hours -- while a checkpointing victim loses at most one checkpoint interval. (A victim that
  // does not checkpoint may so lose more work than another candidate would have.)
  std::sort(cands.begin(), cands.end(), [&](const Cand& a, const Cand& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    if (a.borrowed != b.borrowed) return a.borrowed > b.borrowed;
    if (a.stranded != b.stranded) return a.stranded < b.stranded;
    if (a.lost_work != b.lost_work) return a.lost_work < b.lost_work;
    if (a.run != b.run) return a.run < b.run;
    return jobs_[a.job].job->id < jobs_[b.job].job->id;
  });
  if (static_cast<int32_t>(cands.size()) > config_.max_preemption_candidates)
    cands.resize(config_.max_preemption_candidates);

  const size_t mark = state_.Mark();
  // Quick bound: GPUs and cpu that would be available after exits, on any node.
  int64_t avail_gpu = 0, avail_cpu = 0;
  for (const NodeRt& n : state_.nodes) {
    if (!n.schedulable) continue;
    avail_gpu += n.free[kGpu] + n.term[kGpu];
    avail_cpu += n.free[kCpu] + n.term[kCpu];
  }
  auto fits_after_exit = [&]() {
    std::vector<PlacedTask> tmp;
    size_t inner = state_.Mark();
    bool ok = placer_.Place(jr.gang, Use::kAfterExit, &tmp);
    state_.Rollback(inner);
    return ok;
  };
  std::vector<int32_t> chosen;
  bool fits = false;
  for (const Cand& c : cands) {
    for (const PlacedTask& t : jobs_[c.job].placed) {
      internal::Release(state_, t, ReleaseKind::kUsedToTerm);
      if (state_.nodes[t.node].schedulable) {
        avail_gpu += t.res[kGpu];
        avail_cpu += t.res[kCpu];
      }
    }
    chosen.push_back(c.job);
    if (avail_gpu < jr.request[kGpu] || avail_cpu < jr.request[kCpu]) continue;
    if (fits_after_exit()) {
      fits = true;
      break;
    }
  }
  state_.Rollback(mark);
  if (!fits) return false;
  // Drop victims that turn out unnecessary (latest added kept: it completed the fit).
  auto fits_without = [&](const std::vector<int32_t>& victims) {
    size_t m = state_.Mark();
    for (int32_t v : victims)
      for (const PlacedTask& t : jobs_[v].placed)
        internal::Release(state_, t, ReleaseKind::kUsedToTerm);
    bool ok = fits_after_exit();
    state_.Rollback(m);
    return ok;
  };
  for (size_t i = chosen.size() - 1; i-- > 0;) {
    std::vector<int32_t> trial = chosen;
    trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
    if (fits_without(trial)) chosen = std::move(trial);
  }
  // Commit: victims become terminating, the preemptor takes their place after they exit.
  std::string names;
  for (int32_t v : chosen) {
    JobRt& vr = jobs_[v];
    for (const PlacedTask& t : vr.placed) internal::Release(state_, t, ReleaseKind::kUsedToTerm);
    vr.terminating = true;
    ProjectRt& vp = projects_[vr.project];
    vp.running.erase(std::find(vp.running.begin(), vp.running.end(), v));
    const bool same_project = vr.project == p;
    const bool reclaim = !same_project && vr.job->priority >= job.priority;
    PreemptDecision d;
    d.victim = vr.job->id;
    d.preemptor = job.id;
    d.reason = reclaim ? PreemptionReason::kReclaim : PreemptionReason::kPriority;
    if (reclaim) {
      d.message =
          Fmt("project \"%s\" reclaims its guaranteed quota for job \"%s\" from borrowing project "
              "\"%s\"",
              projects_[p].spec->name.c_str(), job.id.c_str(), vp.spec->name.c_str());
    } else {
      d.message =
          Fmt("preempted by job \"%s\" (priority %d > %d)%s", job.id.c_str(), job.priority,
              vr.job->priority, same_project ? "" : "; its project is above its guaranteed quota");
    }
    out->preemptions.push_back(std::move(d));
    names += (names.empty() ? "" : ", ") + vr.job->id;
  }
  std::vector<PlacedTask> placed;
  bool ok = placer_.Place(jr.gang, Use::kAfterExit, &placed);
  if (!ok) return false;  // unreachable: the same placement succeeded above
  Admit(j, std::move(placed));
  out->waiting.push_back(
      WaitExplanation{job.id, WaitReason::kWaitingForPreemption,
                      Fmt("preempting %zu job(s) (%s); starts when they have exited", chosen.size(),
                          names.c_str())});
  return true;
}

// Defragmentation by migration (as in Gandiva, Xiao et al., OSDI'18): a job that fits nowhere
// may fit where a smaller running job sits next to idle GPUs, if that job can restart right away
// on idle GPUs elsewhere. The mover is preempted (it loses the work since its last checkpoint and
// pays a restart), the job takes its place once it has exited, and the mover's destination is
// kept free for the rest of the pass; the driver requeues the mover and the next pass places it
// like any job. Without this, holes that only small jobs fit stay idle while the queue holds
// bigger gangs -- under LAS it holds mostly demoted ones, and small jobs barely ever wait.
// Only checkpointing jobs move (the work they lose is bounded), only jobs with fewer GPUs than
// the one they make room for (even if a mover never got its destination back, more GPUs would
// work than before, so moves cannot cycle), and never off a node of the reservation nor onto one
// for the job (the mover's destination respects holds, as any backfilled job's does).
bool Pass::TryMove(int32_t j, Decisions* out) {
  JobRt& jr = jobs_[j];
  const Job& job = *jr.job;
  const int32_t biggest = jr.gang.tasks.front().whole;  // tasks are sorted largest first
  if (!job.may_preempt || biggest == 0) return false;
  const Domain& root = state_.domains[0];
  if (root.free_gpu_milli - root.held_gpu_milli < kMilliPerGpu) return false;  // nothing idle
  if (failed_move_.count(jr.shape)) return false;
  auto idle_whole = [&](int32_t n) {
    int32_t w = 0;
    for (const GpuSlot& g : state_.nodes[n].gpus) w += g.free - g.hold >= kMilliPerGpu;
    return w;
  };
  // Movers worth trying: their exit would leave room for the job's largest task on a node it
  // may use that already has idle GPUs.
  struct Mover {
    int32_t job;
    Seconds lost_work;
    Seconds run;
  };
  std::vector<Mover> movers;
  for (const ProjectRt& pr : projects_) {
    for (int32_t a : pr.running) {
      const JobRt& ar = jobs_[a];
      const Job& aj = *ar.job;
      if (ar.admitted_in_pass || !aj.preemptible || !aj.checkpointable) continue;
      if (snap_.now - ar.start < aj.min_runtime || ar.request[kGpu] >= jr.request[kGpu]) continue;
      bool room = false, on_reserved = false;
      for (const PlacedTask& t : ar.placed) {
        on_reserved |= reserved_job_ && reserved_node_[t.node] != 0;
        if (!state_.nodes[t.node].schedulable) continue;
        bool eligible = false;
        for (const TaskDemand& d : jr.gang.tasks) eligible |= (*d.eligible)[t.node] != 0;
        if (!eligible) continue;
        int32_t mine = 0;
        for (auto [pos, milli] : t.slots) mine += milli == kMilliPerGpu;
        const int32_t idle = idle_whole(t.node);
        room |= idle > 0 && idle + mine >= biggest;
      }
      if (!room || on_reserved) continue;
      const Seconds since =
          aj.last_checkpoint_time >= ar.start ? aj.last_checkpoint_time : ar.start;
      movers.push_back(Mover{a, snap_.now - since, snap_.now - ar.start});
    }
  }
  std::sort(movers.begin(), movers.end(), [&](const Mover& a, const Mover& b) {
    if (a.lost_work != b.lost_work) return a.lost_work < b.lost_work;
    if (a.run != b.run) return a.run < b.run;
    return jobs_[a.job].job->id < jobs_[b.job].job->id;
  });
  constexpr size_t kMaxMovers = 16;  // bounds the pass's cost: two placements per mover
  if (movers.size() > kMaxMovers) movers.resize(kMaxMovers);
  for (const Mover& m : movers) {
    JobRt& ar = jobs_[m.job];
    BuildGang(m.job);
    const size_t mark = state_.Mark();
    for (const PlacedTask& t : ar.placed) internal::Release(state_, t, ReleaseKind::kUsedToTerm);
    // Its destination: idle GPUs now, not on the nodes it leaves (held there for this search).
    std::vector<PlacedTask> dest;
    {
      const size_t exclude = state_.Mark();
      for (const PlacedTask& t : ar.placed) {
        NodeRt& node = state_.nodes[t.node];
        state_.BeginChange(t.node);
        for (int k = 0; k < kNumResourceKinds; ++k)
          if (k != kGpu) node.hold[k] = std::max(node.hold[k], node.free[k]);
        for (GpuSlot& g : node.gpus) g.hold = std::max(g.hold, g.free);
        state_.EndChange(t.node);
      }
      const bool ok = placer_.Place(ar.gang, Use::kNow, &dest);
      state_.Rollback(exclude);
      if (!ok) {
        state_.Rollback(mark);
        continue;
      }
    }
    for (const PlacedTask& t : dest) {
      NodeRt& node = state_.nodes[t.node];
      state_.BeginChange(t.node);
      for (int k = 0; k < kNumResourceKinds; ++k)
        if (k != kGpu) node.free[k] -= t.res[k];
      for (auto [pos, milli] : t.slots) node.gpus[pos].free -= milli;
      state_.EndChange(t.node);
    }
    // The job, once the mover has exited: it must use the mover's GPUs (else it did not need the
    // move) and no node of the reservation (kAfterExit ignores holds and takes terminating
    // resources, which the reservation may count on being released to it).
    std::vector<PlacedTask> placed;
    bool ok = placer_.Place(jr.gang, Use::kAfterExit, &placed) && placer_.term_taken() > 0;
    for (const PlacedTask& t : placed) ok &= !reserved_job_ || reserved_node_[t.node] == 0;
    if (!ok) {
      state_.Rollback(mark);
      continue;
    }
    ar.terminating = true;
    ProjectRt& ap = projects_[ar.project];
    ap.running.erase(std::find(ap.running.begin(), ap.running.end(), m.job));
    PreemptDecision d;
    d.victim = ar.job->id;
    d.preemptor = job.id;
    d.reason = PreemptionReason::kDefragment;
    d.message = Fmt("moved to idle GPUs elsewhere to make room for job \"%s\" (%s)", job.id.c_str(),
                    JobTasksText(jr).c_str());
    out->preemptions.push_back(std::move(d));
    Admit(j, std::move(placed));
    out->waiting.push_back(WaitExplanation{
        job.id, WaitReason::kWaitingForPreemption,
        Fmt("moving job \"%s\" to idle GPUs elsewhere to make room; starts when it has exited",
            ar.job->id.c_str())});
    return true;
  }
  failed_move_.insert(jr.shape);
  return false;
}

// EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001): the earliest time the job fits if
// running jobs end at start + maxRuntime and terminating ones now. Feasibility only grows with
// time, so the release instant is found by binary search.
std::optional<std::pair<Seconds, std::vector<PlacedTask>>> Pass::Reserve(int32_t j) {
  JobRt& jr = jobs_[j];
  struct Rel {
    Seconds end;
    int32_t job;
  };
  std::vector<Rel> rels;
  for (size_t i = 0; i < jobs_.size(); ++i) {
    const JobRt& r = jobs_[i];
    if (!r.running) continue;
    Seconds end;
    if (r.terminating) {
      end = snap_.now;
    } else if (r.job->max_runtime >= kNever) {
      continue;  // never ends as far as anyone knows
    } else {
      end = std::max(snap_.now, r.start + r.job->max_runtime);
    }
    rels.push_back(Rel{end, static_cast<int32_t>(i)});
  }
  std::sort(rels.begin(), rels.end(), [](const Rel& a, const Rel& b) {
    return a.end != b.end ? a.end < b.end : a.job < b.job;
  });
  if (rels.empty()) return std::nullopt;
  auto release_upto = [&](size_t last) {
    for (size_t i = 0; i <= last; ++i) {
      const JobRt& r = jobs_[rels[i].job];
      for (const PlacedTask& t : r.placed)
        internal::Release(state_, t,
                          r.terminating ? ReleaseKind::kTermToFree : ReleaseKind::kUsedToFree);
    }
  };
  auto feasible = [&](size_t last, std::vector<PlacedTask>* placed) {
    size_t m = state_.Mark();
    release_upto(last);
    // Everything released up to the same instant counts.
    std::vector<PlacedTask> tmp;
    bool ok = placer_.Place(jr.gang, Use::kNow, placed ? placed : &tmp);
    state_.Rollback(m);
    return ok;
  };
  // Last release index of each distinct instant.
  std::vector<size_t> instant_end;
  for (size_t i = 0; i < rels.size(); ++i)
    if (i + 1 == rels.size() || rels[i + 1].end != rels[i].end) instant_end.push_back(i);
  if (!feasible(instant_end.back(), nullptr)) return std::nullopt;
  size_t lo = 0, hi = instant_end.size() - 1;  // invariant: instant hi is feasible
  // Skip, without probing, the instants by which too little GPU or cpu is released in total.
  {
    const Domain& root = state_.domains[0];
    std::vector<ResourceVector> released(rels.size());
    ResourceVector sum;
    for (size_t i = 0; i < rels.size(); ++i) released[i] = sum += jobs_[rels[i].job].request;
    auto enough = [&](size_t instant) {
      const ResourceVector& r = released[instant_end[instant]];
      return root.free_gpu_milli + r[kGpu] >= jr.request[kGpu] &&
             root.free_cpu + r[kCpu] >= jr.request[kCpu];
    };
    size_t a = lo, b = hi;  // first instant in [a, b] with enough (b has: it is feasible)
    while (a < b) {
      size_t mid = a + (b - a) / 2;
      if (enough(mid)) {
        b = mid;
      } else {
        a = mid + 1;
      }
    }
    lo = a;
  }
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (feasible(instant_end[mid], nullptr)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  size_t first = instant_end[hi];
  // The placement this job was reserved last pass, if it is still feasible as early: keeping it
  // means backfill around it (which respected its holds) never delays the job, whatever the
  // greedy search would find today.
  bool use_hint = false;
  if (!jr.hint.empty()) {
    auto hint_fits = [&](size_t last) {
      size_t m = state_.Mark();
      release_upto(last);
      bool ok = true;
      for (const PlacedTask& t : jr.hint) {
        NodeRt& node = state_.nodes[t.node];
        const TaskDemand* demand = nullptr;
        for (const TaskDemand& d : jr.gang.tasks)
          if (d.group == t.group) demand = &d;
        if (!node.schedulable || demand == nullptr || !(*demand->eligible)[t.node]) ok = false;
        state_.BeginChange(t.node);
        for (int k = 0; k < kNumResourceKinds; ++k) {
          if (k == kGpu) continue;
          node.free[k] -= t.res[k];
          if (node.free[k] - node.hold[k] < 0) ok = false;
        }
        for (auto [pos, milli] : t.slots) {
          GpuSlot& g = node.gpus[pos];
          if (g.free - g.hold < milli) ok = false;
          g.free -= milli;
        }
        state_.EndChange(t.node);
        if (!ok) break;
      }
      state_.Rollback(m);
      return ok;
    };
    size_t hlo = 0, hhi = instant_end.size() - 1;
    if (hint_fits(instant_end[hhi])) {
      while (hlo < hhi) {
        size_t mid = hlo + (hhi - hlo) / 2;
        if (hint_fits(instant_end[mid])) {
          hhi = mid;
        } else {
          hlo = mid + 1;
        }
      }
      if (rels[instant_end[hhi]].end <= rels[first].end) {
        first = instant_end[hhi];
        use_hint = true;
      }
    }
  }
  // Final probe at the reserved instant. What each node gains by then is measured, not summed
  // from the released jobs: a terminating job's resources may already be promised to a job that
  // waits for them (Use::kAfterExit), and then they are not released to anyone else.
  std::vector<ResourceVector> free_before(state_.nodes.size());
  std::vector<std::vector<int32_t>> slot_free_before(state_.nodes.size());
  for (size_t n = 0; n < state_.nodes.size(); ++n) {
    free_before[n] = state_.nodes[n].free;
    for (const GpuSlot& g : state_.nodes[n].gpus) slot_free_before[n].push_back(g.free);
  }
  std::map<int32_t, ResourceVector> rel_res;
  std::map<std::pair<int32_t, int32_t>, int32_t> rel_slot;
  std::vector<PlacedTask> placed;
  {
    size_t m = state_.Mark();
    release_upto(first);
    for (size_t n = 0; n < state_.nodes.size(); ++n) {
      const NodeRt& node = state_.nodes[n];
      rel_res[static_cast<int32_t>(n)] = node.free - free_before[n];
      for (size_t pos = 0; pos < node.gpus.size(); ++pos)
        if (node.gpus[pos].free != slot_free_before[n][pos])
          rel_slot[{static_cast<int32_t>(n), static_cast<int32_t>(pos)}] =
              node.gpus[pos].free - slot_free_before[n][pos];
    }
    bool ok = true;
    if (use_hint) {
      placed = jr.hint;
    } else {
      ok = placer_.Place(jr.gang, Use::kNow, &placed);
    }
    state_.Rollback(m);
    if (!ok) return std::nullopt;  // unreachable: the same probe succeeded in the search
  }
  const Seconds at = rels[first].end;

  // Holds: on each reserved node, what the reservation needs beyond what is released there by
  // `at` must stay free now for jobs still running at `at`.
  std::map<int32_t, ResourceVector> need;
  std::map<std::pair<int32_t, int32_t>, int32_t> need_slot;
  for (const PlacedTask& t : placed) {
    need[t.node] += t.res;
    for (auto [pos, milli] : t.slots) need_slot[{t.node, pos}] += milli;
  }
  for (auto& [n, req] : need) {
    NodeRt& node = state_.nodes[n];
    state_.BeginChange(n);
    const ResourceVector& r = rel_res[n];
    for (int k = 0; k < kNumResourceKinds; ++k) {
      if (k == kGpu) continue;
      node.hold[k] += std::max<int64_t>(0, req[k] - r[k]);
    }
    for (size_t pos = 0; pos < node.gpus.size(); ++pos) {
      auto key = std::make_pair(n, static_cast<int32_t>(pos));
      auto ns = need_slot.find(key);
      if (ns == need_slot.end()) continue;
      auto rs = rel_slot.find(key);
      int32_t released = rs == rel_slot.end() ? 0 : rs->second;
      node.gpus[pos].hold += std::max(0, ns->second - released);
    }
    state_.EndChange(n);
  }
  return std::make_pair(at, std::move(placed));
}

WaitExplanation Pass::Diagnose(int32_t j, Use use) {
  const JobRt& jr = jobs_[j];
  const Job& job = *jr.job;
  // Free resources on the nodes the largest task may use.
  const TaskDemand& big = jr.gang.tasks.front();
  int64_t free_gpu = 0, free_cpu = 0, free_mem = 0;
  int32_t eligible = 0;
  if (big.every_node) {
    // Cluster aggregates (over schedulable nodes) minus what reservations hold.
    const Domain& root = state_.domains[0];
    const bool minus_hold = use != Use::kShort;
    free_gpu = root.free_gpu_milli - (minus_hold ? root.held_gpu_milli : 0);
    free_cpu = root.free_cpu - (minus_hold ? root.held_cpu : 0);
    free_mem = root.free_memory - (minus_hold ? root.held_memory : 0);
    for (const NodeRt& node : state_.nodes) eligible += node.schedulable;
  } else {
    for (size_t n = 0; n < state_.nodes.size(); ++n) {
      const NodeRt& node = state_.nodes[n];
      if (!node.schedulable || !(*big.eligible)[n]) continue;
      ++eligible;
      for (const GpuSlot& s : node.gpus) {
        if (big.model_ok != nullptr && !(*big.model_ok)[s.model]) continue;
        free_gpu += std::max(0, use == Use::kShort ? s.free : s.free - s.hold);
      }
      free_cpu += node.free[kCpu] - (use == Use::kShort ? 0 : node.hold[kCpu]);
      free_mem += node.free[kMemory] - (use == Use::kShort ? 0 : node.hold[kMemory]);
    }
  }
  auto hosts = [&] {
    int32_t h = 0;
    for (size_t n = 0; n < state_.nodes.size(); ++n)
      h += placer_.Fits(static_cast<int32_t>(n), big, use);
    return h;
  };
  const std::string tasks = JobTasksText(jr);
  WaitExplanation w{job.id, WaitReason::kInsufficientCapacity, ""};
  if (jr.request[kGpu] > free_gpu) {
    w.message =
        Fmt("needs %s (%s); %s free on the %d nodes it may use", Gpus(jr.request[kGpu]).c_str(),
            tasks.c_str(), Gpus(free_gpu).c_str(), eligible);
  } else if (jr.request[kCpu] > free_cpu) {
    w.message = Fmt("needs %s of cpu; %s free on the %d nodes it may use",
                    FormatQuantity(kCpu, jr.request[kCpu]).c_str(),
                    FormatQuantity(kCpu, free_cpu).c_str(), eligible);
  } else if (jr.request[kMemory] > free_mem) {
    w.message = Fmt("needs %s of memory; %s free on the %d nodes it may use",
                    FormatQuantity(kMemory, jr.request[kMemory]).c_str(),
                    FormatQuantity(kMemory, free_mem).c_str(), eligible);
  } else if (jr.gang.required && jr.gang.level != 0) {
    w.reason = WaitReason::kTopology;
    if (jr.gang.level == GangRequest::kNodeLevel) {
      int64_t best = 0;
      for (const NodeRt& node : state_.nodes)
        if (node.schedulable) best = std::max(best, node.free[kGpu] - node.hold[kGpu]);
      w.message = Fmt("needs %s on one node; the node with most free has %s",
                      Gpus(jr.request[kGpu]).c_str(), Gpus(best).c_str());
    } else {
      int64_t best = 0;
      for (int32_t d : state_.level_domains[jr.gang.level])
        best = std::max(best, state_.domains[d].free_gpu_milli);
      const char* lv = level_names_[jr.gang.level].c_str();
      w.message = Fmt("needs %s in one %s; the largest free %s has %s",
                      Gpus(jr.request[kGpu]).c_str(), lv, lv, Gpus(best).c_str());
    }
  } else {
    w.reason = WaitReason::kFragmented;
    w.message = Fmt(
        "needs %s; %s are free in total but not in usable pieces: %d node(s) can take a task of %s",
        tasks.c_str(), Gpus(free_gpu).c_str(), hosts(), Gpus(big.res[kGpu]).c_str());
  }
  return w;
}

std::string Pass::JobTasksText(const JobRt& jr) const {
  std::string s;
  for (const TaskGroup& g : jr.job->groups) {
    if (!s.empty()) s += " + ";
    s += Fmt("%d x %s", g.replicas, Gpus(g.resources[kGpu]).c_str());
  }
  return s;
}

std::vector<TaskPlacement> Pass::ToPlacements(const std::vector<PlacedTask>& placed) const {
  std::vector<TaskPlacement> out;
  out.reserve(placed.size());
  for (const PlacedTask& t : placed) {
    TaskPlacement tp;
    tp.group = t.group;
    tp.index = t.index;
    const NodeRt& node = state_.nodes[t.node];
    tp.node = snap_.nodes[node.snapshot_index].name;
    for (auto [pos, milli] : t.slots) tp.gpus.push_back(GpuShare{node.gpus[pos].index, milli});
    std::sort(tp.gpus.begin(), tp.gpus.end(),
              [](const GpuShare& a, const GpuShare& b) { return a.gpu_index < b.gpu_index; });
    out.push_back(std::move(tp));
  }
  std::sort(out.begin(), out.end(), [](const TaskPlacement& a, const TaskPlacement& b) {
    return a.group != b.group ? a.group < b.group : a.index < b.index;
  });
  return out;
}

Result<Decisions> Pass::Run() {
  if (Status s = IndexNodes(); !s.ok()) return Error(s);
  if (Status s = IndexProjects(); !s.ok()) return Error(s);
  if (Status s = LoadJobs(); !s.ok()) return Error(s);

  Decisions out;
  std::vector<QueueEntry> entries;
  std::unordered_map<int32_t, QueueEntry> entry_of;
  // Nominated jobs (they preempted victims in an earlier pass) come before the queue: what their
  // victims free is theirs. Without this a requeued victim that sorts earlier could take it back
  // and be preempted again, pass after pass (docs/scheduling.md, "Why preemption can never cycle").
  std::vector<int32_t> nominated;
  for (int32_t j : pending_) {
    PreparePending(j);
    JobRt& jr = jobs_[j];
    if (!jr.invalid.empty()) {
      out.waiting.push_back(WaitExplanation{jr.job->id, WaitReason::kInvalid, jr.invalid});
      continue;
    }
    QueueEntry e{j,           jr.job->priority, jr.project, jr.user, jr.job->submit_time,
                 &jr.job->id, jr.request};
    entry_of.emplace(j, e);
    if (jr.job->nominated) {
      nominated.push_back(j);
    } else {
      entries.push_back(e);
    }
  }
  // Sticky reservation: the job that held the reservation last pass keeps its place at the head
  // of its priority class while it still waits (unless something of higher priority arrived).
  // Without it a fair-share order, whose head moves as shares change, would hand the reservation
  // (and its holds) to a different job every pass, idling GPUs and starving big gangs.
  if (config_.backfill == BackfillMode::kEasy) {
    int32_t top = INT32_MIN;
    for (const QueueEntry& e : entries) top = std::max(top, e.priority);
    for (size_t i = 0; i < entries.size(); ++i) {
      const JobRt& jr = jobs_[entries[i].job];
      if (jr.job->reservation.empty() || jr.job->priority < top) continue;
      nominated.push_back(entries[i].job);
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  std::stable_sort(nominated.begin(), nominated.end(), [&](int32_t a, int32_t b) {
    const Job& ja = *jobs_[a].job;
    const Job& jb = *jobs_[b].job;
    if (ja.priority != jb.priority) return ja.priority > jb.priority;
    if (ja.submit_time != jb.submit_time) return ja.submit_time < jb.submit_time;
    return ja.id < jb.id;
  });
  // Model pressure: what pending jobs that accept only some GPU models ask of each model, in
  // eighths of its capacity (a job accepting k models counts 1/k towards each).
  {
    std::vector<double> demand(model_by_name_.size(), 0.0), cap(model_by_name_.size(), 0.0);
    for (const NodeRt& n : state_.nodes)
      if (n.schedulable)
        for (const GpuSlot& g : n.gpus) cap[g.model] += kMilliPerGpu;
    bool any = false;
    for (int32_t j : pending_) {
      const JobRt& jr = jobs_[j];
      if (!jr.invalid.empty()) continue;
      for (const TaskGroup& g : jr.job->groups) {
        if (g.gpu_models.empty() || g.resources[kGpu] == 0) continue;
        std::vector<int32_t> ids;
        for (const std::string& m : g.gpu_models) {
          auto it = model_by_name_.find(m);
          if (it != model_by_name_.end() &&
              std::find(ids.begin(), ids.end(), it->second) == ids.end())
            ids.push_back(it->second);
        }
        for (int32_t id : ids)
          demand[id] +=
              static_cast<double>(g.resources[kGpu] * g.replicas) / static_cast<double>(ids.size());
        any |= !ids.empty();
      }
    }
    if (any) {
      std::vector<int32_t> pressure(demand.size(), 0);
      for (size_t m = 0; m < demand.size(); ++m)
        if (cap[m] > 0) pressure[m] = static_cast<int32_t>(std::min(7.0, 8.0 * demand[m] / cap[m]));
      placer_.set_model_pressure(std::move(pressure));
    }
  }
  QueueContext ctx;
  ctx.capacity = capacity_;
  for (const ProjectRt& p : projects_) {
    ctx.project_weight.push_back(p.spec->weight);
    ctx.project_usage.push_back(p.usage);
  }
  ctx.user_usage.assign(user_ids_.size(), ResourceVector{});
  for (const JobRt& jr : jobs_)
    if (jr.running) ctx.user_usage[jr.user] += jr.request;
  auto order = MakeQueueOrder(config_.queue_order);
  if (!order) return Error(order.error());
  (*order)->Begin(ctx, std::move(entries));
  size_t next_nominated = 0;
  auto next_job = [&]() -> int32_t {
    if (next_nominated < nominated.size()) return nominated[next_nominated++];
    return (*order)->Next();
  };

  bool any_term = false;
  for (const NodeRt& n : state_.nodes)
    any_term |= n.term[kGpu] > 0 || n.term[kCpu] > 0 || n.term[kMemory] > 0;
  std::optional<std::string> strict_blocker;
  int32_t backfill_tried = 0;

  for (int32_t j = next_job(); j >= 0; j = next_job()) {
    JobRt& jr = jobs_[j];
    const Job& job = *jr.job;
    out.order.push_back(job.id);
    state_.Commit();
    if (reserved_job_ && config_.backfill_depth > 0 && backfill_tried >= config_.backfill_depth) {
      out.waiting.push_back(
          WaitExplanation{job.id, WaitReason::kNotConsidered,
                          Fmt("not tried in this pass: beyond the backfill depth (%d jobs)",
                              config_.backfill_depth)});
      continue;
    }
    if (reserved_job_) ++backfill_tried;
    if (strict_blocker) {
      out.waiting.push_back(WaitExplanation{
          job.id, WaitReason::kBehindBlockedJob,
          "waits behind job \"" + *strict_blocker + "\" (strict queue order, no backfill)"});
      continue;
    }
    BuildGang(j);
    // Backfill rules after a reservation: a job that would still run at the reserved time must
    // not use held resources (one that ends before may); and no job of the reserved job's project
    // may use its quota headroom -- even a short one: while it runs, the reserved job would be
    // over its project's max and lose its reservation in the next pass.
    const bool is_short =
        reserved_job_ && job.max_runtime < kNever && snap_.now + job.max_runtime <= reserved_at_;
    ResourceVector extra;
    if (reserved_job_ && jobs_[*reserved_job_].project == jr.project)
      extra = jobs_[*reserved_job_].request;
    if (auto why = QuotaMaxViolation(j, extra)) {
      out.waiting.push_back(WaitExplanation{job.id, WaitReason::kQuotaMax, *why});
      continue;
    }
    if (auto why = StaticallyUnschedulable(j)) {
      out.waiting.push_back(WaitExplanation{job.id, WaitReason::kUnschedulable, *why});
      continue;
    }
    const Use use = is_short ? Use::kShort : Use::kNow;
    std::vector<PlacedTask> placed;
    // A nominated job's victims were chosen for a placement the search found: look everywhere
    // (no cap on domain attempts) so it is found again now that they are gone.
    const bool nominated = job.nominated;
    auto start = [&](std::vector<PlacedTask> tasks) {
      out.starts.push_back(StartDecision{job.id, ToPlacements(tasks), reserved_job_.has_value()});
      Admit(j, std::move(tasks));
      (*order)->Admitted(entry_of.at(j));
    };
    if (PlaceCached(j, use, &placed, nominated)) {
      start(std::move(placed));
      continue;
    }
    if (!reserved_job_) {
      // The same search the preemption trial used (every node, terminating resources counted).
      // If it takes nothing from terminating tasks, the job simply starts.
      if ((any_term || nominated) && PlaceCached(j, Use::kAfterExit, &placed, nominated)) {
        if (placer_.term_taken() == 0) {
          start(std::move(placed));
          continue;
        }
        out.waiting.push_back(WaitExplanation{
            job.id, WaitReason::kWaitingForTermination,
            "fits once terminating jobs have exited; their resources are kept for it"});
        Admit(j, std::move(placed));
        (*order)->Admitted(entry_of.at(j));
        continue;
      }
      if (config_.preemption && TryPreempt(j, &out)) {
        any_term = true;
        (*order)->Admitted(entry_of.at(j));
        continue;
      }
    }
    if (config_.preemption && TryMove(j, &out)) {
      any_term = true;
      (*order)->Admitted(entry_of.at(j));
      continue;
    }
    WaitExplanation why = config_.explain
                              ? Diagnose(j, use)
                              : WaitExplanation{job.id, WaitReason::kInsufficientCapacity, ""};
    if (reserved_job_ && config_.explain) {
      std::vector<PlacedTask> tmp;
      size_t m = state_.Mark();
      bool fits_ignoring_hold = PlaceCached(j, Use::kShort, &tmp);
      state_.Rollback(m);
      if (fits_ignoring_hold) {
        why.reason = WaitReason::kWouldDelayReservation;
        why.message =
            Fmt("fits now, but would delay job \"%s\" reserved to start at t=%lld%s",
                jobs_[*reserved_job_].job->id.c_str(), static_cast<long long>(reserved_at_),
                job.max_runtime >= kNever ? " (it has no maxRuntime, so it could run past that)"
                                          : " (its maxRuntime ends after that)");
      }
      out.waiting.push_back(std::move(why));
      continue;
    }
    if (reserved_job_) {
      out.waiting.push_back(std::move(why));
      continue;
    }
    switch (config_.backfill) {
      case BackfillMode::kNone:
        strict_blocker = job.id;
        out.waiting.push_back(std::move(why));
        break;
      case BackfillMode::kGreedy:
        out.waiting.push_back(std::move(why));
        break;
      case BackfillMode::kEasy: {
        auto res = Reserve(j);
        if (res) {
          reserved_job_ = j;
          reserved_at_ = res->first;
          reserved_node_.assign(state_.nodes.size(), 0);
          for (const PlacedTask& t : res->second) reserved_node_[t.node] = 1;
          out.reservations.push_back(
              ReservationDecision{job.id, res->first, ToPlacements(res->second)});
          why.reason = WaitReason::kReserved;
          if (config_.explain)
            why.message += Fmt(
                "; reserved to start by t=%lld (in %lld s) when running jobs reach their "
                "maxRuntime",
                static_cast<long long>(res->first), static_cast<long long>(res->first - snap_.now));
        } else if (config_.explain) {
          why.message += "; no reservation possible: the jobs in its way have no maxRuntime";
        }
        out.waiting.push_back(std::move(why));
        break;
      }
    }
  }
  return out;
}

}  // namespace

Result<Decisions> Scheduler::Schedule(const Snapshot& snapshot) const {
  Pass pass(config_, *placement_, snapshot);
  return pass.Run();
}

}  // namespace kumo::core
