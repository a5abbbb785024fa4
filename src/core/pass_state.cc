#include "core/pass_state.h"

#include <algorithm>

#include "core/text.h"

namespace kumo::core::internal {

Status PassState::Load() {
  if (Status s = nodes.Build(snap, config.block_size, &cluster); !s.ok()) return s;
  if (Status s = IndexProjects(); !s.ok()) return s;
  return LoadJobs();
}

Status PassState::IndexProjects() {
  projects.resize(snap.projects.size());
  for (size_t i = 0; i < snap.projects.size(); ++i) {
    const Project& p = snap.projects[i];
    if (!project_by_name_.emplace(p.name, static_cast<int32_t>(i)).second)
      return Status::InvalidArgument("duplicate project name \"" + p.name + "\"");
    if (!(p.weight > 0))
      return Status::InvalidArgument("project \"" + p.name + "\": weight must be > 0");
    projects[i].spec = &p;
  }
  for (int k = 0; k < kNumResourceKinds; ++k)
    for (const Project& p : snap.projects)
      if (p.guaranteed[k] > 0) {
        quota_kinds.push_back(k);
        break;
      }
  return Status::Ok();
}

Status PassState::LoadJobs() {
  jobs.resize(snap.jobs.size());
  std::unordered_map<std::string, int32_t> seen;
  for (size_t j = 0; j < snap.jobs.size(); ++j) {
    const Job& job = snap.jobs[j];
    JobRt& jr = jobs[j];
    jr.job = &job;
    if (job.las_declared_priority)
      lowest_declared_priority =
          std::min(lowest_declared_priority.value_or(*job.las_declared_priority),
                   *job.las_declared_priority);
    if (!seen.emplace(job.id, static_cast<int32_t>(j)).second)
      return Status::InvalidArgument("duplicate job id \"" + job.id + "\"");
    auto p = project_by_name_.find(job.project);
    if (p != project_by_name_.end()) jr.project = p->second;
    jr.user =
        user_ids_
            .emplace(std::make_pair(jr.project, job.user), static_cast<int32_t>(user_ids_.size()))
            .first->second;
    for (const TaskGroup& g : job.groups) jr.request += g.resources * std::max(g.replicas, 0);
    if (job.phase == JobPhase::kPending) {
      pending.push_back(static_cast<int32_t>(j));
      continue;
    }
    // Running or terminating: its placements hold resources.
    jr.running = true;
    jr.terminating = job.phase == JobPhase::kTerminating;
    jr.start = job.start_time;
    for (const TaskPlacement& tp : job.placements) {
      std::string why;
      std::optional<PlacedTask> placed = nodes.ToPlacedTask(job, tp, &why);
      if (!placed) return Status::InvalidArgument(why);
      jr.placed.push_back(std::move(*placed));
    }
    LoadRunning(static_cast<int32_t>(j));
  }
  user_count = static_cast<int32_t>(user_ids_.size());
  cluster.Commit();
  return Status::Ok();
}

// Occupies the nodes with running job j's tasks (terminating tasks' resources move on to `term`)
// and counts it as its project's usage.
void PassState::LoadRunning(int32_t j) {
  JobRt& jr = jobs[j];
  for (const PlacedTask& pt : jr.placed) {
    NodeRt& node = cluster.nodes[pt.node];
    cluster.BeginChange(pt.node);
    for (int k = 0; k < kNumResourceKinds; ++k) {
      if (k == kGpu) continue;
      node.free[k] -= pt.res[k];
      if (jr.terminating) node.term[k] += pt.res[k];
    }
    for (auto [pos, milli] : pt.slots) {
      node.gpus[pos].free -= milli;
      if (jr.terminating) node.gpus[pos].term += milli;
    }
    cluster.EndChange(pt.node);
  }
  if (jr.project >= 0) {
    projects[jr.project].usage += jr.request;
    if (!jr.terminating) projects[jr.project].running.push_back(j);
  }
  if (!jr.terminating && jr.job->preemptible)
    lowest_victim_priority = std::min(lowest_victim_priority, jr.job->priority);
}

void PassState::PreparePending(int32_t j) {
  JobRt& jr = jobs[j];
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
  if (job.topology.mode == TopologyConstraint::Mode::kNone) return;
  if (job.topology.level == "node") {
    jr.gang.level = GangRequest::kNodeLevel;
  } else {
    const std::vector<std::string>& names = nodes.level_names();
    auto it = std::find(names.begin() + 1, names.end(), job.topology.level);
    if (it == names.end())
      return invalid("spec.topology.level: unknown level \"" + job.topology.level + "\"");
    jr.gang.level = static_cast<int32_t>(it - names.begin());
  }
  jr.gang.required = job.topology.mode == TopologyConstraint::Mode::kRequired;
}

// Eligibility tables, the gang's tasks, its shape key and its carried reservation: done only
// when the pass first considers the job, since in a long queue behind a strict-FIFO blocker or
// past the backfill depth most jobs never are.
void PassState::BuildGang(int32_t j) {
  JobRt& jr = jobs[j];
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
    const Eligibility e = nodes.EligibilityOf(job, g);
    t.eligible = e.eligible;
    t.prefer_no = e.prefer_no;
    t.model_ok = e.model_ok;
    t.every_node = e.every_node;
    t.eligible_nodes = e.eligible_nodes;
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
  LoadHint(j);
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

// The reservation job j held in the last pass, if its nodes and GPUs still exist.
void PassState::LoadHint(int32_t j) {
  JobRt& jr = jobs[j];
  const Job& job = *jr.job;
  for (const TaskPlacement& tp : job.reservation) {
    std::string why;
    std::optional<PlacedTask> pt = nodes.ToPlacedTask(job, tp, &why);
    if (!pt || pt->res[kGpu] != job.groups[tp.group].resources[kGpu]) {
      jr.hint.clear();
      break;
    }
    jr.hint.push_back(std::move(*pt));
  }
  if (jr.hint.size() != jr.gang.tasks.size()) jr.hint.clear();
}

bool PassState::PlaceCached(int32_t j, Use use, std::vector<PlacedTask>* out, bool all_domains) {
  JobRt& jr = jobs[j];
  if (use == Use::kAfterExit) return placer.Place(jr.gang, use, out, all_domains);
  std::unordered_set<std::string>& failed = use == Use::kNow ? failed_now_ : failed_short_;
  if (failed.count(jr.shape)) return false;
  if (!placer.MayFitCluster(jr.gang)) {
    failed.insert(jr.shape);
    return false;
  }
  return placer.Place(jr.gang, use, out, all_domains);
}

void PassState::Admit(int32_t j, std::vector<PlacedTask> placed) {
  JobRt& jr = jobs[j];
  jr.placed = std::move(placed);
  jr.running = true;
  jr.admitted_in_pass = true;
  jr.start = snap.now;
  ++running_epoch;
  ProjectRt& pr = projects[jr.project];
  pr.usage += jr.request;
  pr.running.push_back(j);
  pr.running_dirty = true;
}

void PassState::MarkTerminating(int32_t v) {
  JobRt& vr = jobs[v];
  vr.terminating = true;
  ++running_epoch;
  std::vector<int32_t>& running = projects[vr.project].running;
  running.erase(std::find(running.begin(), running.end(), v));
}

std::optional<std::string> PassState::QuotaMaxViolation(int32_t j,
                                                        const ResourceVector& extra) const {
  const JobRt& jr = jobs[j];
  const ProjectRt& p = projects[jr.project];
  for (int k = 0; k < kNumResourceKinds; ++k) {
    if (jr.request[k] == 0) continue;
    const int64_t used = p.usage[k] + extra[k];
    if (used + jr.request[k] > p.spec->max[k]) {
      return Fmt("project \"%s\" would exceed its max %s quota: %s in use%s + %s requested > %s",
                 p.spec->name.c_str(), ResourceName(k, snap.extended_resources).c_str(),
                 FormatQuantity(k, used).c_str(), extra[k] > 0 ? " (with the reserved job)" : "",
                 FormatQuantity(k, jr.request[k]).c_str(),
                 FormatQuantity(k, p.spec->max[k]).c_str());
    }
  }
  return std::nullopt;
}

void PassState::SortRunning(int32_t p) {
  ProjectRt& pr = projects[p];
  if (!pr.running_dirty) return;
  std::sort(pr.running.begin(), pr.running.end(), [&](int32_t a, int32_t b) {
    const JobRt& ja = jobs[a];
    const JobRt& jb = jobs[b];
    if (ja.job->priority != jb.job->priority) return ja.job->priority > jb.job->priority;
    if (ja.start != jb.start) return ja.start < jb.start;
    return ja.job->id < jb.job->id;
  });
  pr.running_dirty = false;
}

// Running jobs of a project, in (priority desc, start asc, id) order, are "in guarantee" while
// their cumulative usage stays within the project's guaranteed quota (on every kind some project
// has a guarantee for); the rest -- a suffix -- is borrowed capacity. Returns the suffix start.
size_t PassState::BorrowingStart(int32_t p) {
  SortRunning(p);
  const ProjectRt& pr = projects[p];
  ResourceVector prefix;
  for (size_t i = 0; i < pr.running.size(); ++i) {
    prefix += jobs[pr.running[i]].request;
    for (int k : quota_kinds)
      if (prefix[k] > pr.spec->guaranteed[k]) return i;
  }
  return pr.running.size();
}

bool PassState::InGuaranteeAfter(int32_t p, const ResourceVector& add) const {
  const ProjectRt& pr = projects[p];
  bool asks_quota_kind = false;
  for (int k : quota_kinds) {
    if (pr.usage[k] + add[k] > pr.spec->guaranteed[k]) return false;
    asks_quota_kind |= add[k] > 0;
  }
  return asks_quota_kind;
}

std::vector<TaskPlacement> PassState::ToPlacements(const std::vector<PlacedTask>& placed) const {
  std::vector<TaskPlacement> out;
  out.reserve(placed.size());
  for (const PlacedTask& t : placed) {
    TaskPlacement tp;
    tp.group = t.group;
    tp.index = t.index;
    const NodeRt& node = cluster.nodes[t.node];
    tp.node = snap.nodes[node.snapshot_index].name;
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

std::string PassState::JobTasksText(const JobRt& jr) const {
  std::string s;
  for (const TaskGroup& g : jr.job->groups) {
    if (!s.empty()) s += " + ";
    s += Fmt("%d x %s", g.replicas, Gpus(g.resources[kGpu]).c_str());
  }
  return s;
}

}  // namespace kumo::core::internal
