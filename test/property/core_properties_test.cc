// Property tests of the scheduling core (rapidcheck).
//
// Each property generates small random clusters and job streams, runs Scheduler::Schedule and
// checks an invariant that must hold for every input, independently of the core's code: the
// checks below re-derive eligibility, capacity and quota from the Snapshot alone.
//
//   NoOvercommit                    starts fit in what running + terminating jobs leave free, on
//                                   eligible nodes, with correctly shaped GPU grants
//   GangsAllOrNothing               one placement per task; every pending job exactly once in
//                                   starts or waiting
//   MaxQuotaNeverExceeded           running (all phases) + admitted in the pass <= max
//   PreemptionsRespectRules         victims are running, preemptible, past minRuntime, of lower
//                                   (or, for a reclaim, equal) priority; moved jobs (defragment)
//                                   checkpoint and are smaller than the job they make room for;
//                                   filled-over jobs saved within the horizon, have no higher
//                                   priority and fewer GPUs in all than their preemptor
//   GuaranteedQuotaReachable        a project under its guarantee gets its job started within
//                                   two passes (whole-node construction, see the test)
//   NoPreemptionCycle[VictimsLeave] repeated passes over a fixed job set reach a fixed point;
//                                   no job evicts its own evictor (victims requeued / leaving)
//   BackfillNeverDelaysReservation  after a pass's backfills, the reserved job's earliest start
//   [UnderMaxQuota]                 is not later than the reservation (without / with max quotas)
//   Deterministic                   equal snapshots give equal decisions
//   SoleJobStartsWhenItFits         a job of identical tasks alone on an empty cluster starts if
//                                   any valid placement exists (exhaustive search), and is never
//                                   called Unschedulable then
//   InfeasibleGangBlocksNobody      a gang larger than the cluster is Unschedulable and leaves
//                                   every other decision of the pass as it is without it
//
// CoreRegressions.* are minimal, deterministic reproductions of the failures these properties
// found; they fail until the core is fixed (see the comment on each).
//
// On failure rapidcheck prints the minimal Scenario (all nodes, projects, jobs and the config)
// and the decisions; RC_PARAMS="max_success=2000" runs more cases, RC_PARAMS="reproduce=..."
// replays a failure.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/decisions.h"
#include "core/resources.h"
#include "core/scheduler.h"
#include "core/snapshot.h"

namespace kumo::core {
namespace {

constexpr int64_t kGiB = 1LL << 30;

// ---------------------------------------------------------------------------------------------
// Printing (for counterexamples).

const char* EffectName(TaintEffect e) {
  switch (e) {
    case TaintEffect::kNoSchedule:
      return "NoSchedule";
    case TaintEffect::kPreferNoSchedule:
      return "PreferNoSchedule";
    case TaintEffect::kNoExecute:
      return "NoExecute";
  }
  return "?";
}

const char* PhaseName(JobPhase p) {
  switch (p) {
    case JobPhase::kPending:
      return "Pending";
    case JobPhase::kRunning:
      return "Running";
    case JobPhase::kTerminating:
      return "Terminating";
  }
  return "?";
}

std::string Secs(Seconds s) { return s >= kNever ? std::string("never") : std::to_string(s); }

std::string Res(const ResourceVector& r) {
  std::ostringstream os;
  os << "cpu=" << r[kCpu] << "m mem=" << r[kMemory] / kGiB << "Gi gpu=" << r[kGpu] << "m";
  if (r[kExtended0] != 0) os << " ext0=" << r[kExtended0];
  return os.str();
}

std::string Quota(int64_t v) { return v >= kUnlimited ? std::string("inf") : std::to_string(v); }

void DumpPlacements(const std::vector<TaskPlacement>& ps, std::ostream& os) {
  for (const TaskPlacement& p : ps) {
    os << " [" << p.group << "." << p.index << "@" << p.node;
    for (const GpuShare& g : p.gpus) os << " g" << g.gpu_index << ":" << g.milli;
    os << "]";
  }
}

void DumpSnapshot(const Snapshot& s, std::ostream& os) {
  os << "now=" << s.now << " levels={";
  for (const auto& l : s.topology_levels) os << l << ",";
  os << "} extended={";
  for (const auto& e : s.extended_resources) os << e << ",";
  os << "}\n";
  for (const Node& n : s.nodes) {
    os << "  node " << n.name << (n.unschedulable ? " CORDONED" : "") << " " << Res(n.allocatable)
       << " topo=";
    for (const auto& t : n.topology) os << t << "/";
    os << " gpus=";
    for (const Gpu& g : n.gpus) os << g.index << ":" << g.model << ":nv" << g.nvlink_group << ",";
    os << " labels=";
    for (const Label& l : n.labels) os << l.key << "=" << l.value << ",";
    os << " taints=";
    for (const Taint& t : n.taints)
      os << t.key << "=" << t.value << ":" << EffectName(t.effect) << ",";
    os << "\n";
  }
  for (const Project& p : s.projects)
    os << "  project " << p.name << " w=" << p.weight << " guar_gpu=" << p.guaranteed[kGpu]
       << " guar_cpu=" << p.guaranteed[kCpu] << " max_gpu=" << Quota(p.max[kGpu])
       << " max_cpu=" << Quota(p.max[kCpu]) << "\n";
  for (const Job& j : s.jobs) {
    os << "  job " << j.id << " " << PhaseName(j.phase) << " proj=" << j.project
       << " user=" << j.user << " prio=" << j.priority << (j.may_preempt ? "" : " no-preempting")
       << (j.preemptible ? "" : " not-preemptible") << " submit=" << j.submit_time
       << " maxrt=" << Secs(j.max_runtime) << " minrt=" << j.min_runtime
       << (j.checkpointable ? " ckpt=" + std::to_string(j.last_checkpoint_time) : "");
    if (j.phase != JobPhase::kPending) os << " start=" << j.start_time;
    for (size_t g = 0; g < j.groups.size(); ++g) {
      const TaskGroup& tg = j.groups[g];
      os << " group" << g << "{x" << tg.replicas << " " << Res(tg.resources);
      if (!tg.gpu_models.empty()) {
        os << " models=";
        for (const auto& m : tg.gpu_models) os << m << "|";
      }
      os << "}";
    }
    for (const Label& l : j.node_selector) os << " sel:" << l.key << "=" << l.value;
    for (const Toleration& t : j.tolerations)
      os << " tol:" << t.key << (t.op == Toleration::Operator::kExists ? "?" : "=") << t.value
         << ":" << (t.effect ? EffectName(*t.effect) : "*");
    if (j.topology.mode != TopologyConstraint::Mode::kNone)
      os << " topo:"
         << (j.topology.mode == TopologyConstraint::Mode::kRequired ? "required:" : "preferred:")
         << j.topology.level;
    DumpPlacements(j.placements, os);
    os << "\n";
  }
}

std::string DecisionsText(const Decisions& d) {
  std::ostringstream os;
  for (const StartDecision& s : d.starts) {
    os << "  start " << s.job << (s.backfilled ? " (backfilled)" : "");
    DumpPlacements(s.tasks, os);
    os << "\n";
  }
  for (const PreemptDecision& p : d.preemptions)
    os << "  preempt " << p.victim << " by " << p.preemptor << " " << PreemptionReasonName(p.reason)
       << ": " << p.message << "\n";
  for (const ReservationDecision& r : d.reservations) {
    os << "  reserve " << r.job << " at " << r.start_time;
    DumpPlacements(r.tasks, os);
    os << "\n";
  }
  for (const WaitExplanation& w : d.waiting)
    os << "  wait " << w.job << " " << WaitReasonName(w.reason) << ": " << w.message << "\n";
  os << "  order:";
  for (const auto& o : d.order) os << " " << o;
  os << "\n";
  return os.str();
}

std::string ConfigText(const SchedulerConfig& c) {
  std::ostringstream os;
  os << "order=" << c.queue_order << " placement=" << c.placement
     << " backfill=" << BackfillModeName(c.backfill) << " preemption=" << c.preemption
     << " block_size=" << c.block_size << " max_domain_attempts=" << c.max_domain_attempts;
  return os.str();
}

struct Scenario {
  Snapshot snap;
  SchedulerConfig cfg;
};

// Found by rapidcheck through ADL to print counterexamples.
void showValue(const Scenario& s, std::ostream& os) {
  os << "config: " << ConfigText(s.cfg) << "\n";
  DumpSnapshot(s.snap, os);
}

// ---------------------------------------------------------------------------------------------
// Independent re-implementation of the static rules the properties check against.

bool Tolerates(const Toleration& t, const Taint& taint) {
  if (t.effect && *t.effect != taint.effect) return false;
  if (t.op == Toleration::Operator::kExists) return t.key.empty() || t.key == taint.key;
  return t.key == taint.key && t.value == taint.value;
}

// Selector and NoSchedule/NoExecute taints; cordon only when asked.
bool NodeEligible(const Node& n, const Job& job, bool check_cordon) {
  if (check_cordon && n.unschedulable) return false;
  for (const Label& want : job.node_selector)
    if (std::find(n.labels.begin(), n.labels.end(), want) == n.labels.end()) return false;
  for (const Taint& taint : n.taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
    bool ok = false;
    for (const Toleration& t : job.tolerations) ok |= Tolerates(t, taint);
    if (!ok) return false;
  }
  return true;
}

bool ModelOk(const TaskGroup& g, const std::string& model) {
  return g.gpu_models.empty() ||
         std::find(g.gpu_models.begin(), g.gpu_models.end(), model) != g.gpu_models.end();
}

const Node* FindNode(const Snapshot& s, const std::string& name) {
  for (const Node& n : s.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const Gpu* FindGpu(const Node& n, int32_t index) {
  for (const Gpu& g : n.gpus)
    if (g.index == index) return &g;
  return nullptr;
}

const Job* FindJob(const Snapshot& s, const std::string& id) {
  for (const Job& j : s.jobs)
    if (j.id == id) return &j;
  return nullptr;
}

// The domain of `node` at `level` ("node" or one of snapshot.topology_levels): its path prefix.
std::string DomainOf(const Snapshot& s, const Node& node, const std::string& level) {
  if (level == "node") return node.name;
  std::string key;
  for (size_t l = 0; l < s.topology_levels.size(); ++l) {
    key += node.topology[l] + "/";
    if (s.topology_levels[l] == level) return key;
  }
  return "?";
}

// What running/terminating jobs (and starts) occupy, per node.
struct NodeUse {
  ResourceVector used;             // gpu component unused
  std::map<int32_t, int64_t> gpu;  // device index -> milli
};
using Occupancy = std::map<std::string, NodeUse>;

void Occupy(Occupancy& occ, const Job& job, const std::vector<TaskPlacement>& ps) {
  for (const TaskPlacement& p : ps) {
    NodeUse& u = occ[p.node];
    ResourceVector r = job.groups[p.group].resources;
    r[kGpu] = 0;
    u.used += r;
    for (const GpuShare& g : p.gpus) u.gpu[g.gpu_index] += g.milli;
  }
}

Occupancy RunningOccupancy(const Snapshot& s) {
  Occupancy occ;
  for (const Job& j : s.jobs)
    if (j.phase != JobPhase::kPending) Occupy(occ, j, j.placements);
  return occ;
}

// Empty string when `placements` is a valid, correctly shaped placement of every task of `job`
// on nodes it may use (selector, taints, cordon, GPU model, required topology). Does not check
// capacity.
std::string CheckPlacementShape(const Snapshot& s, const Job& job,
                                const std::vector<TaskPlacement>& ps, bool check_eligibility) {
  std::set<std::pair<int32_t, int32_t>> seen;
  std::set<std::string> domains;
  for (const TaskPlacement& p : ps) {
    std::string where =
        "job " + job.id + " task " + std::to_string(p.group) + "." + std::to_string(p.index);
    if (p.group < 0 || p.group >= static_cast<int32_t>(job.groups.size()))
      return where + ": bad group";
    const TaskGroup& g = job.groups[p.group];
    if (p.index < 0 || p.index >= g.replicas) return where + ": bad replica index";
    if (!seen.emplace(p.group, p.index).second) return where + ": placed twice";
    const Node* n = FindNode(s, p.node);
    if (n == nullptr) return where + ": unknown node " + p.node;
    if (check_eligibility && !NodeEligible(*n, job, /*check_cordon=*/true))
      return where + ": node " + p.node + " is not eligible (selector, taint or cordon)";
    const int64_t gpu = g.resources[kGpu];
    std::set<int32_t> idx;
    for (const GpuShare& gs : p.gpus) {
      const Gpu* dev = FindGpu(*n, gs.gpu_index);
      if (dev == nullptr)
        return where + ": unknown GPU " + std::to_string(gs.gpu_index) + " on " + p.node;
      if (check_eligibility && !ModelOk(g, dev->model))
        return where + ": GPU model " + dev->model + " not allowed";
      if (!idx.insert(gs.gpu_index).second) return where + ": GPU listed twice";
    }
    if (gpu >= kMilliPerGpu) {
      if (static_cast<int64_t>(p.gpus.size()) * kMilliPerGpu != gpu)
        return where + ": wants " + std::to_string(gpu / kMilliPerGpu) + " whole GPUs, got " +
               std::to_string(p.gpus.size());
      for (const GpuShare& gs : p.gpus)
        if (gs.milli != kMilliPerGpu) return where + ": whole-GPU task got a partial GPU";
    } else if (gpu > 0) {
      if (p.gpus.size() != 1 || p.gpus[0].milli != gpu)
        return where + ": shared task must get one GPU share of " + std::to_string(gpu);
    } else if (!p.gpus.empty()) {
      return where + ": CPU-only task got GPUs";
    }
    domains.insert(DomainOf(s, *n, job.topology.level));
  }
  int64_t tasks = 0;
  for (const TaskGroup& g : job.groups) tasks += g.replicas;
  if (static_cast<int64_t>(seen.size()) != tasks)
    return "job " + job.id + ": " + std::to_string(seen.size()) + " placements for " +
           std::to_string(tasks) + " tasks";
  if (check_eligibility && job.topology.mode == TopologyConstraint::Mode::kRequired &&
      domains.size() > 1)
    return "job " + job.id + ": required topology " + job.topology.level + " violated (" +
           std::to_string(domains.size()) + " domains)";
  return "";
}

// Capacity: nothing on any node above its allocatable (cpu, memory, extended) or any GPU above
// 1000.
std::string CheckCapacity(const Snapshot& s, const Occupancy& occ) {
  for (const auto& [name, u] : occ) {
    const Node* n = FindNode(s, name);
    if (n == nullptr) return "unknown node " + name;
    for (int k = 0; k < kNumResourceKinds; ++k) {
      if (k == kGpu) continue;
      if (u.used[k] > n->allocatable[k])
        return "node " + name + " overcommitted on " + ResourceName(k, s.extended_resources) +
               ": " + std::to_string(u.used[k]) + " > " + std::to_string(n->allocatable[k]);
    }
    for (const auto& [idx, milli] : u.gpu)
      if (milli > kMilliPerGpu)
        return "node " + name + " GPU " + std::to_string(idx) +
               " overcommitted: " + std::to_string(milli) + " milli";
  }
  return "";
}

// Property 1's check: starts, on top of every running and terminating job (preemption victims
// included: they hold their resources until they have exited), fit and are on eligible nodes.
std::string CheckNoOvercommit(const Snapshot& s, const Decisions& d) {
  Occupancy occ = RunningOccupancy(s);
  if (std::string e = CheckCapacity(s, occ); !e.empty()) return "precondition (input) " + e;
  for (const StartDecision& st : d.starts) {
    const Job* j = FindJob(s, st.job);
    if (j == nullptr) return "start of unknown job " + st.job;
    if (std::string e = CheckPlacementShape(s, *j, st.tasks, true); !e.empty()) return e;
    Occupy(occ, *j, st.tasks);
  }
  return CheckCapacity(s, occ);
}

// ---------------------------------------------------------------------------------------------
// Generators. Every draw goes through rapidcheck so that counterexamples shrink.

// Uniform over the whole range whatever the test's size (rapidcheck scales inRange with the
// size, which would make half of the cases trivially small clusters); shrinks towards lo.
int Draw(int lo, int hi) {
  return *rc::gen::resize(rc::kNominalSize, rc::gen::inRange(lo, hi + 1));
}  // [lo, hi]
bool Chance(size_t num, size_t den) {
  return *rc::gen::weightedElement<bool>({{den - num, false}, {num, true}});
}
template <typename T>
T Pick(std::initializer_list<T> xs) {
  return *rc::gen::elementOf(std::vector<T>(xs));
}

const std::vector<std::string> kModels = {"H100", "A100"};

struct GenOptions {
  int min_nodes = 2;
  int max_nodes = 24;
  // Running jobs are attempted up to running_per_node x nodes times (capped by max_running);
  // those that do not fit are dropped, so busy clusters are common.
  int running_per_node = 3;
  int max_running = 32;
  int min_pending = 1;
  int max_pending = 8;
  bool allow_terminating = true;
  bool quotas = true;
  // Running jobs mostly have a maxRuntime (so that EASY reservations are possible).
  bool finite_runtimes = false;
  int uniform_percent = 50;   // chance of a uniform cluster, see GenCluster
  size_t max_quota_in_4 = 1;  // chance (in 4) that a project has a max gpu quota
  // Gangs of two different task groups, often with GPU-model constraints (the hard cases for a
  // greedy placer).
  bool mixed_gangs = false;
};

void GenCluster(Snapshot& s, const GenOptions& o) {
  const int n = Draw(o.min_nodes, o.max_nodes);
  const int levels = Draw(0, 2);
  if (levels == 1) s.topology_levels = {"leaf"};
  if (levels == 2) s.topology_levels = {"spine", "leaf"};
  const int leaves = Draw(1, 4);
  const int leaves_per_spine = Draw(1, 2);
  const int models = Draw(1, 2);
  const bool extended = Chance(1, 4);
  if (extended) s.extended_resources = {"rdma"};
  // Uniform clusters (every node alike, roomy cpu and memory, few taints) make GPUs the only
  // bottleneck, so that contention, preemption and reservations are frequent.
  const bool uniform =
      *rc::gen::weightedElement<bool>({{100 - static_cast<size_t>(o.uniform_percent), false},
                                       {static_cast<size_t>(o.uniform_percent), true}});
  const int uniform_gpus = Pick<int>({4, 8, 2});
  for (int i = 0; i < n; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.allocatable =
        uniform ? ResourceVector::Of(64'000, 512 * kGiB, 0)
                : ResourceVector::Of(*rc::gen::weightedElement<int64_t>(
                                         {{3, 32'000}, {3, 64'000}, {2, 16'000}, {1, 4'000}}),
                                     Pick<int64_t>({128, 16, 64, 256}) * kGiB, 0);
    if (extended) node.allocatable[kExtended0] = Draw(0, 4);
    const int gpus = uniform ? uniform_gpus
                             : *rc::gen::weightedOneOf<int>({{3, rc::gen::element(8, 4, 2, 1)},
                                                             {1, rc::gen::inRange(0, 9)}});
    const int first = Draw(0, 2);
    const bool reversed = Chance(1, 4);
    const int groups = Draw(1, 2);
    const std::string model = kModels[Draw(0, models - 1)];
    for (int g = 0; g < gpus; ++g) {
      int32_t index = first + (reversed ? gpus - 1 - g : g);
      node.gpus.push_back(Gpu{index, model, g * groups / std::max(gpus, 1)});
    }
    node.labels.push_back(Label{"zone", Chance(1, 2) ? "b" : "a"});
    if (Chance(1, 3)) node.labels.push_back(Label{"ib", "true"});
    switch (*rc::gen::weightedElement<int>({{uniform ? 30u : 6u, 0}, {1, 1}, {1, 2}, {1, 3}})) {
      case 1:
        node.taints.push_back(Taint{"dedicated", "gpu", TaintEffect::kNoSchedule});
        break;
      case 2:
        node.taints.push_back(Taint{"maint", "", TaintEffect::kNoExecute});
        break;
      case 3:
        node.taints.push_back(Taint{"flaky", "", TaintEffect::kPreferNoSchedule});
        break;
      default:
        break;
    }
    if (levels > 0) {
      const int leaf = Draw(0, leaves - 1);
      if (levels == 2) node.topology.push_back("spine" + std::to_string(leaf / leaves_per_spine));
      node.topology.push_back("leaf" + std::to_string(leaf));
    }
    node.unschedulable = Chance(1, uniform ? 16 : 8);
    s.nodes.push_back(std::move(node));
  }
}

int64_t TotalGpus(const Snapshot& s) {
  int64_t g = 0;
  for (const Node& n : s.nodes) g += static_cast<int64_t>(n.gpus.size());
  return g;
}

void GenProjects(Snapshot& s, const GenOptions& o) {
  const int np = Draw(1, 5);
  const int64_t total = TotalGpus(s);
  for (int i = 0; i < np; ++i) {
    Project p;
    p.name = "p" + std::to_string(i);
    p.weight = Draw(1, 4);
    if (o.quotas) {
      // Guarantees around a fair slice (their sum may exceed the cluster); a few max quotas.
      if (!Chance(1, 3))
        p.guaranteed[kGpu] = Draw(0, static_cast<int>(total / np + 1)) * kMilliPerGpu;
      if (Chance(o.max_quota_in_4, 4))
        p.max[kGpu] = p.guaranteed[kGpu] +
                      Draw(static_cast<int>(total / 4), static_cast<int>(total)) * kMilliPerGpu;
      if (Chance(1, 10)) p.max[kCpu] = Draw(16, 128) * 1000;
    }
    s.projects.push_back(std::move(p));
  }
}

// A job spec with no phase. Topology constraints only on pending jobs.
Job GenJobSpec(const Snapshot& s, const std::string& id, bool pending, bool mixed = false) {
  Job j;
  j.id = id;
  j.project = s.projects[Draw(0, static_cast<int>(s.projects.size()) - 1)].name;
  j.user = "u" + std::to_string(Draw(0, 2));
  // Pending jobs lean to higher priorities than running ones, so that preemption is common.
  j.priority = pending ? *rc::gen::weightedElement<int32_t>({{1, 0}, {1, 10}, {2, 100}})
                       : *rc::gen::weightedElement<int32_t>({{2, 0}, {1, 10}, {1, 100}});
  j.may_preempt = !Chance(1, 10);
  j.preemptible = !Chance(1, 10);
  j.submit_time = Draw(0, 1000);
  // Whole-GPU sizes that some node can hold (usually).
  size_t most = 0;
  for (const Node& n : s.nodes) most = std::max(most, n.gpus.size());
  std::vector<int> fitting = {1};
  for (int x : {2, 4, 8})
    if (static_cast<size_t>(x) <= most) fitting.push_back(x);
  const int groups = mixed || Chance(1, 3) ? 2 : 1;
  int tasks_left = 6;
  for (int g = 0; g < groups && tasks_left > 0; ++g) {
    TaskGroup tg;
    tg.name = g == 0 ? "worker" : "launcher";
    // 1..6 tasks in all (1..3 for running jobs), mostly few.
    tg.replicas = Chance(1, 2) ? 1 : Draw(1, std::min(tasks_left, pending ? 6 : 3));
    tasks_left -= tg.replicas;
    // Whole GPUs (mostly 1, 2, 4 or 8; sometimes any of 0..8) or a share of 100..900 milli.
    int64_t gpu = *rc::gen::weightedOneOf<int64_t>(
        {{4, rc::gen::map(rc::gen::elementOf(fitting), [](int x) { return x * kMilliPerGpu; })},
         {2, rc::gen::map(rc::gen::inRange(0, 9), [](int x) { return x * kMilliPerGpu; })},
         {2, rc::gen::map(rc::gen::inRange(1, 10), [](int x) { return int64_t{x} * 100; })}});
    tg.resources = ResourceVector::Of(
        *rc::gen::weightedOneOf<int64_t>({{4, rc::gen::element<int64_t>(1000, 0, 2000, 4000)},
                                          {1, rc::gen::inRange<int64_t>(0, 17'000)}}),
        Draw(0, 32) * kGiB, gpu);
    if (!s.extended_resources.empty() && Chance(1, 4)) tg.resources[kExtended0] = 1;
    if (Chance(mixed ? 3 : 1, 6)) tg.gpu_models = {kModels[Draw(0, 1)]};
    j.groups.push_back(std::move(tg));
  }
  if (Chance(1, 6)) j.node_selector.push_back(Label{"zone", Chance(1, 2) ? "b" : "a"});
  if (Chance(1, 8)) j.node_selector.push_back(Label{"ib", "true"});
  switch (*rc::gen::weightedElement<int>({{5, 0}, {1, 1}, {1, 2}, {1, 3}})) {
    case 1:
      j.tolerations.push_back(
          Toleration{"dedicated", Toleration::Operator::kEqual, "gpu", TaintEffect::kNoSchedule});
      break;
    case 2:
      j.tolerations.push_back(Toleration{"", Toleration::Operator::kExists, "", std::nullopt});
      break;
    case 3:
      j.tolerations.push_back(
          Toleration{"maint", Toleration::Operator::kExists, "", TaintEffect::kNoExecute});
      break;
    default:
      break;
  }
  if (pending && Chance(1, 3)) {
    std::vector<std::string> levels = s.topology_levels;
    levels.push_back("node");
    j.topology.level = levels[Draw(0, static_cast<int>(levels.size()) - 1)];
    j.topology.mode =
        Chance(1, 2) ? TopologyConstraint::Mode::kRequired : TopologyConstraint::Mode::kPreferred;
  }
  // Keep most gangs within the cluster's GPUs.
  const int64_t cluster_milli = static_cast<int64_t>(TotalGpus(s)) * kMilliPerGpu;
  auto gpu_request = [&] {
    int64_t r = 0;
    for (const TaskGroup& g : j.groups) r += g.resources[kGpu] * g.replicas;
    return r;
  };
  if (!Chance(1, 8))
    for (TaskGroup& g : j.groups)
      while (g.replicas > 1 && gpu_request() > cluster_milli) --g.replicas;
  j.max_runtime = Chance(1, 3) ? kNever : Draw(1, 24) * 300;
  j.min_runtime = *rc::gen::weightedElement<Seconds>({{3, 0}, {1, 600}, {1, 3600}});
  j.checkpointable = Chance(1, 4);
  return j;
}

// Places a running job greedily on free capacity (no overcommit), on nodes its selector and
// taints allow (cordoned nodes allowed: it may have started before the cordon).
std::optional<std::vector<TaskPlacement>> PlaceRunning(const Snapshot& s, const Job& job,
                                                       Occupancy occ, int offset) {
  std::vector<TaskPlacement> out;
  const int nn = static_cast<int>(s.nodes.size());
  for (int32_t gi = 0; gi < static_cast<int32_t>(job.groups.size()); ++gi) {
    const TaskGroup& g = job.groups[gi];
    const int64_t gpu = g.resources[kGpu];
    for (int32_t r = 0; r < g.replicas; ++r) {
      bool placed = false;
      for (int k = 0; k < nn && !placed; ++k) {
        const Node& n = s.nodes[(k + offset) % nn];
        if (!NodeEligible(n, job, /*check_cordon=*/false)) continue;
        NodeUse& u = occ[n.name];
        bool fits = true;
        for (int kind = 0; kind < kNumResourceKinds; ++kind)
          if (kind != kGpu && u.used[kind] + g.resources[kind] > n.allocatable[kind]) fits = false;
        if (!fits) continue;
        TaskPlacement tp{gi, r, n.name, {}};
        if (gpu >= kMilliPerGpu) {
          for (const Gpu& d : n.gpus)
            if (static_cast<int64_t>(tp.gpus.size()) < gpu / kMilliPerGpu && u.gpu[d.index] == 0 &&
                ModelOk(g, d.model))
              tp.gpus.push_back(GpuShare{d.index, kMilliPerGpu});
          if (static_cast<int64_t>(tp.gpus.size()) * kMilliPerGpu != gpu) continue;
        } else if (gpu > 0) {
          for (const Gpu& d : n.gpus)
            if (tp.gpus.empty() && u.gpu[d.index] + gpu <= kMilliPerGpu && ModelOk(g, d.model))
              tp.gpus.push_back(GpuShare{d.index, gpu});
          if (tp.gpus.empty()) continue;
        }
        ResourceVector add = g.resources;
        add[kGpu] = 0;
        u.used += add;
        for (const GpuShare& gs : tp.gpus) u.gpu[gs.gpu_index] += gs.milli;
        out.push_back(std::move(tp));
        placed = true;
      }
      if (!placed) return std::nullopt;
    }
  }
  return out;
}

// Project usage (all non-pending jobs) per resource kind.
std::map<std::string, ResourceVector> ProjectUsage(const Snapshot& s) {
  std::map<std::string, ResourceVector> u;
  for (const Job& j : s.jobs)
    if (j.phase != JobPhase::kPending)
      for (const TaskGroup& g : j.groups) u[j.project] += g.resources * g.replicas;
  return u;
}

const Project* FindProject(const Snapshot& s, const std::string& name) {
  for (const Project& p : s.projects)
    if (p.name == name) return &p;
  return nullptr;
}

void GenJobs(Snapshot& s, const GenOptions& o) {
  const int nn = static_cast<int>(s.nodes.size());
  const int running = Draw(0, std::min(o.max_running, o.running_per_node * nn));
  Occupancy occ;
  auto usage = ProjectUsage(s);
  for (int i = 0; i < running; ++i) {
    Job j = GenJobSpec(s, "r" + std::to_string(i), false);
    if (o.finite_runtimes && Chance(5, 6) && j.max_runtime >= kNever)
      j.max_runtime = Draw(1, 24) * 300;
    auto ps = PlaceRunning(s, j, occ, Draw(0, static_cast<int>(s.nodes.size()) - 1));
    if (!ps) continue;
    // Keep the initial state within every project's max quota.
    ResourceVector req;
    for (const TaskGroup& g : j.groups) req += g.resources * g.replicas;
    if (!(usage[j.project] + req).FitsIn(FindProject(s, j.project)->max)) continue;
    usage[j.project] += req;
    Occupy(occ, j, *ps);
    j.placements = std::move(*ps);
    j.phase = o.allow_terminating && Chance(1, 8) ? JobPhase::kTerminating : JobPhase::kRunning;
    j.start_time = s.now - Draw(0, 5000);
    j.submit_time = std::min(j.submit_time, j.start_time);
    if (j.checkpointable && Chance(1, 2))
      j.last_checkpoint_time = j.start_time + Draw(0, static_cast<int>(s.now - j.start_time));
    s.jobs.push_back(std::move(j));
  }
  const int pending = Draw(o.min_pending, o.max_pending);
  for (int i = 0; i < pending; ++i)
    s.jobs.push_back(GenJobSpec(s, "j" + std::to_string(i), true, o.mixed_gangs && Chance(1, 2)));
}

SchedulerConfig GenConfig() {
  SchedulerConfig c;
  c.queue_order = Pick<std::string>({"drf", "fifo"});
  c.placement = Pick<std::string>({"binpack", "spread"});
  c.backfill =
      Pick<BackfillMode>({BackfillMode::kEasy, BackfillMode::kNone, BackfillMode::kGreedy});
  c.preemption = !Chance(1, 3);
  // Internal index parameters: no property may depend on them.
  c.block_size = Pick<int32_t>({32, 1, 2, 3});
  c.max_domain_attempts = Pick<int32_t>({64, 1, 2});
  return c;
}

rc::Gen<Scenario> GenScenario(GenOptions o = {}) {
  return rc::gen::resize(rc::kNominalSize, rc::gen::exec([o] {
                           Scenario sc;
                           sc.snap.now = 10'000;
                           GenCluster(sc.snap, o);
                           GenProjects(sc.snap, o);
                           GenJobs(sc.snap, o);
                           sc.cfg = GenConfig();
                           return sc;
                         }));
}

Decisions MustSchedule(const SchedulerConfig& cfg, const Snapshot& s) {
  auto sched = Scheduler::Create(cfg);
  RC_ASSERT(sched.has_value());
  auto d = sched->Schedule(s);
  if (!d.has_value()) RC_FAIL("Schedule failed: " + d.error().message());
  return std::move(*d);
}

void FailWith(const std::string& what, const Snapshot& s, const Decisions& d) {
  std::ostringstream os;
  DumpSnapshot(s, os);
  RC_LOG() << "snapshot:\n" << os.str() << "decisions:\n" << DecisionsText(d);
  RC_FAIL(what);
}

// Applies a pass: starts become running at `now`.
void ApplyStarts(Snapshot& s, const Decisions& d) {
  for (const StartDecision& st : d.starts)
    for (Job& j : s.jobs)
      if (j.id == st.job) {
        j.phase = JobPhase::kRunning;
        j.start_time = s.now;
        j.last_checkpoint_time = -1;
        j.placements = st.tasks;
        j.nominated = false;
      }
}

// The driver's side of nominations: a preemptor keeps its claim on what its victims free
// (Job::nominated) until it starts.
void ApplyNominations(Snapshot& s, const Decisions& d) {
  for (const PreemptDecision& p : d.preemptions)
    for (Job& j : s.jobs)
      if (j.id == p.preemptor) j.nominated = true;
}

// ---------------------------------------------------------------------------------------------
// Single-pass checks (each returns "" or what is wrong). Used by the properties below and by the
// multi-pass replay of property 5, where they run on every pass.

// 2. Gangs: a StartDecision places every task (group x replica) exactly once; every pending job
// appears exactly once in starts or waiting (never both, never twice) and no running job appears;
// `order` lists every pending job that is not Invalid exactly once; a reservation (at most one)
// places every task on nodes the job may use and its job waits as Reserved.
std::string CheckGangs(const Snapshot& s, const Decisions& d) {
  std::map<std::string, int> seen;
  std::set<std::string> invalid;
  for (const StartDecision& st : d.starts) {
    ++seen[st.job];
    const Job* j = FindJob(s, st.job);
    if (j == nullptr || j->phase != JobPhase::kPending)
      return "start of a job that is not pending: " + st.job;
    if (std::string e = CheckPlacementShape(s, *j, st.tasks, false); !e.empty()) return e;
  }
  for (const WaitExplanation& w : d.waiting) {
    ++seen[w.job];
    if (w.reason == WaitReason::kInvalid) invalid.insert(w.job);
    const Job* j = FindJob(s, w.job);
    if (j == nullptr || j->phase != JobPhase::kPending)
      return "wait of a job that is not pending: " + w.job;
  }
  std::multiset<std::string> expected_order;
  for (const Job& j : s.jobs) {
    if (j.phase != JobPhase::kPending) continue;
    if (seen[j.id] != 1)
      return "pending job " + j.id + " appears " + std::to_string(seen[j.id]) +
             " times in starts+waiting";
    if (!invalid.count(j.id)) expected_order.insert(j.id);
  }
  if (std::multiset<std::string>(d.order.begin(), d.order.end()) != expected_order)
    return "order is not the pending (valid) jobs, each once";
  if (d.reservations.size() > 1) return "more than one reservation";
  for (const ReservationDecision& r : d.reservations) {
    const Job* j = FindJob(s, r.job);
    if (j == nullptr) return "reservation for unknown job " + r.job;
    if (std::string e = CheckPlacementShape(s, *j, r.tasks, true); !e.empty())
      return "reservation: " + e;
    if (r.start_time < s.now) return "reservation in the past";
    bool reserved = false;
    for (const WaitExplanation& w : d.waiting)
      reserved |= w.job == r.job && w.reason == WaitReason::kReserved;
    if (!reserved) return "reserved job " + r.job + " does not wait as Reserved";
  }
  return "";
}

// 3. Max quota: for every project and resource kind, running and terminating jobs + this pass's
// starts + jobs admitted waiting for preemption/termination (they count as usage in the pass,
// docs/scheduling.md section 3) <= max. Only meaningful when the input satisfied it.
std::string CheckMaxQuota(const Snapshot& s, const Decisions& d) {
  auto usage = ProjectUsage(s);
  for (const auto& [name, u] : usage)
    if (!u.FitsIn(FindProject(s, name)->max)) return "";  // the input already exceeds it: vacuous
  auto add = [&](const std::string& id) {
    const Job* j = FindJob(s, id);
    for (const TaskGroup& g : j->groups) usage[j->project] += g.resources * g.replicas;
  };
  for (const StartDecision& st : d.starts) add(st.job);
  for (const WaitExplanation& w : d.waiting)
    if (w.reason == WaitReason::kWaitingForPreemption ||
        w.reason == WaitReason::kWaitingForTermination)
      add(w.job);
  for (const auto& [name, u] : usage) {
    const Project* p = FindProject(s, name);
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (u[k] > p->max[k])
        return "project " + name + " exceeds max " + ResourceName(k, s.extended_resources) + ": " +
               std::to_string(u[k]) + " > " + std::to_string(p->max[k]);
  }
  return "";
}

// 3b. Preemption rules (docs/scheduling.md section 5) checkable from the input alone: victims are
// Running (not already terminating), preemptible, past their minRuntime; the preemptor is pending,
// may preempt, and waits as WaitingForPreemption; a same-project victim has strictly lower
// priority (reason Priority); another project's victim has lower or equal priority, Reclaim
// exactly when equal; no job is preempted twice in one pass.
std::string CheckPreemptionRules(const Snapshot& s, const Decisions& d) {
  std::set<std::string> victims;
  for (const PreemptDecision& p : d.preemptions) {
    const Job* v = FindJob(s, p.victim);
    const Job* j = FindJob(s, p.preemptor);
    if (v == nullptr || j == nullptr) return "preemption names unknown jobs";
    if (!victims.insert(v->id).second) return "victim preempted twice: " + v->id;
    if (v->phase != JobPhase::kRunning) return "victim not running: " + v->id;
    if (!v->preemptible) return "victim not preemptible: " + v->id;
    if (s.now - v->start_time < v->min_runtime) return "victim within minRuntime: " + v->id;
    if (j->phase != JobPhase::kPending || !j->may_preempt)
      return "preemptor may not preempt: " + j->id;
    bool waits = false;
    for (const WaitExplanation& w : d.waiting)
      waits |= w.job == j->id && w.reason == WaitReason::kWaitingForPreemption;
    if (!waits) return "preemptor does not wait for preemption: " + j->id;
    auto gpus = [](const Job& job) {
      int64_t r = 0;
      for (const TaskGroup& g : job.groups) r += g.resources[kGpu] * g.replicas;
      return r;
    };
    if (p.reason == PreemptionReason::kFill) {
      // A fill stops smaller jobs that saved in this attempt within the horizon, of no higher
      // declared priority, and fewer GPUs in all than the job they make room for.
      if (!v->checkpointable || v->last_checkpoint_time < v->start_time)
        return "filled-over job has not saved: " + v->id;
      if (s.now - v->last_checkpoint_time > SchedulerConfig{}.fill_horizon_s)
        return "filled-over job saved longer ago than the horizon: " + v->id;
      if (v->priority > j->priority) return "filled-over job of higher priority: " + v->id;
      int64_t stopped = 0;
      for (const PreemptDecision& q : d.preemptions)
        if (q.preemptor == j->id && q.reason == PreemptionReason::kFill)
          if (const Job* w = FindJob(s, q.victim)) stopped += gpus(*w);
      if (stopped >= gpus(*j)) return "a fill stops as many GPUs as it starts: " + j->id;
      continue;
    }
    if (p.reason == PreemptionReason::kDefragment) {
      // A move (the victim restarts on idle GPUs elsewhere) ignores priorities, but only a job
      // that checkpoints moves, and only for a job with more GPUs.
      if (!v->checkpointable) return "moved job does not checkpoint: " + v->id;
      if (gpus(*v) >= gpus(*j)) return "moved job is not smaller than its preemptor: " + v->id;
      continue;
    }
    if (v->project == j->project) {
      if (v->priority >= j->priority || p.reason != PreemptionReason::kPriority)
        return "same-project victim without lower priority: " + v->id;
    } else {
      if (v->priority > j->priority) return "victim of higher priority: " + v->id;
      if ((v->priority == j->priority) != (p.reason == PreemptionReason::kReclaim))
        return "reason does not match priorities: " + v->id;
    }
  }
  return "";
}

std::string CheckAll(const Snapshot& s, const Decisions& d) {
  for (auto check : {CheckNoOvercommit, CheckGangs, CheckMaxQuota, CheckPreemptionRules})
    if (std::string e = check(s, d); !e.empty()) return e;
  return "";
}

// ---------------------------------------------------------------------------------------------
// Properties.

// 1. No overcommit. Starts are checked against what running and terminating jobs leave free;
// this pass's preemption victims still hold their resources (they have not exited), so nothing
// may start on them now. Whole-GPU tasks get the right number of distinct, whole GPUs; shared
// tasks one share of one GPU; every task sits on a node its selector, tolerations, GPU models
// and required topology allow, and no task starts on a cordoned node.
RC_GTEST_PROP(CoreProperties, NoOvercommit, ()) {
  const Scenario sc = *GenScenario();
  const Decisions d = MustSchedule(sc.cfg, sc.snap);
  if (std::string e = CheckNoOvercommit(sc.snap, d); !e.empty()) FailWith(e, sc.snap, d);
  RC_CLASSIFY(!d.starts.empty(), "some start");
  RC_CLASSIFY(!d.preemptions.empty(), "some preemption");
}

// 2. Gangs are all or nothing; every pending job is accounted for exactly once (CheckGangs).
RC_GTEST_PROP(CoreProperties, GangsAllOrNothing, ()) {
  const Scenario sc = *GenScenario();
  const Decisions d = MustSchedule(sc.cfg, sc.snap);
  if (std::string e = CheckGangs(sc.snap, d); !e.empty()) FailWith(e, sc.snap, d);
}

// 3. Max quota is never exceeded (CheckMaxQuota). The generator keeps the input within max.
RC_GTEST_PROP(CoreProperties, MaxQuotaNeverExceeded, ()) {
  const Scenario sc = *GenScenario();
  const Decisions d = MustSchedule(sc.cfg, sc.snap);
  if (std::string e = CheckMaxQuota(sc.snap, d); !e.empty()) FailWith(e, sc.snap, d);
}

// 3b. Preemptions follow the documented rules (CheckPreemptionRules).
RC_GTEST_PROP(CoreProperties, PreemptionsRespectRules, ()) {
  Scenario sc = *GenScenario();
  sc.cfg.preemption = true;
  const Decisions d = MustSchedule(sc.cfg, sc.snap);
  if (std::string e = CheckPreemptionRules(sc.snap, d); !e.empty()) FailWith(e, sc.snap, d);
  RC_CLASSIFY(!d.preemptions.empty(), "some preemption");
  RC_CLASSIFY(std::any_of(d.preemptions.begin(), d.preemptions.end(),
                          [](const PreemptDecision& p) {
                            return p.reason == PreemptionReason::kDefragment;
                          }),
              "some move");
  RC_CLASSIFY(std::any_of(d.preemptions.begin(), d.preemptions.end(),
                          [](const PreemptDecision& p) {
                            return p.reason == PreemptionReason::kFill;
                          }),
              "some fill");
}

// 4. Guaranteed quota is reachable. Construction (where the claim is crisp): every node has G
// GPUs, every task takes a whole node, the only quota kind is gpu, guarantees are whole nodes and
// sum to at most the cluster. Project "claim" runs u nodes' worth and submits job J of k nodes
// with u + k <= its guarantee. Every other running job is preemptible, past its minRuntime and of
// priority <= J's. Then the other projects hold at most sum(their guarantees) <= N - g_claim
// nodes in guarantee, so free + borrowing nodes >= g_claim - u >= k: J must start, directly or
// by reclaim (after the victims have exited). Other pending jobs have lower priority than J.
// Between passes: starts become running, victims are removed (they exited and are not resubmitted).
RC_GTEST_PROP(CoreProperties, GuaranteedQuotaReachable, ()) {
  Snapshot s;
  s.now = 100'000;
  const int gpus = Pick<int>({8, 1, 2, 4});
  const int n = Draw(2, 8);
  for (int i = 0; i < n; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.allocatable = ResourceVector::Of(64'000, 512 * kGiB, 0);
    for (int g = 0; g < gpus; ++g) node.gpus.push_back(Gpu{g, "H100", g * 2 / gpus});
    s.nodes.push_back(std::move(node));
  }
  const int others = Draw(1, 3);
  int left = n;
  const int g_claim = Draw(1, n);
  left -= g_claim;
  auto project = [&](const std::string& name, int guaranteed_nodes) {
    Project p;
    p.name = name;
    p.weight = Draw(1, 4);
    p.guaranteed[kGpu] = int64_t{guaranteed_nodes} * gpus * kMilliPerGpu;
    s.projects.push_back(p);
  };
  // Project order matters for DRF ties: put the claimant anywhere.
  const int claim_pos = Draw(0, others);
  std::vector<std::string> other_names;
  for (int i = 0; i <= others; ++i) {
    if (i == claim_pos) {
      project("claim", g_claim);
    } else {
      int g = Draw(0, left);
      left -= g;
      other_names.push_back("q" + std::to_string(i));
      project(other_names.back(), g);
    }
  }
  const int32_t prio = Pick<int32_t>({0, 10, 100});
  const int k = Draw(1, g_claim);
  const int u = Draw(0, g_claim - k);
  auto whole_node_job = [&](const std::string& id, const std::string& proj, int tasks,
                            int32_t priority) {
    Job j;
    j.id = id;
    j.project = proj;
    j.user = "u" + std::to_string(Draw(0, 1));
    j.priority = priority;
    j.submit_time = Draw(0, 1000);
    j.max_runtime = Chance(1, 2) ? kNever : Draw(1, 10) * 1000;
    j.min_runtime = Pick<Seconds>({0, 600, 3600});
    j.checkpointable = Chance(1, 3);
    TaskGroup g;
    g.name = "w";
    g.replicas = tasks;
    g.resources = ResourceVector::Of(1000, kGiB, int64_t{gpus} * kMilliPerGpu);
    j.groups.push_back(g);
    return j;
  };
  int next_node = 0;
  auto run = [&](Job j) {
    j.phase = JobPhase::kRunning;
    j.start_time = s.now - Draw(3600, 50'000);  // past every minRuntime
    if (j.checkpointable && Chance(1, 2)) j.last_checkpoint_time = j.start_time + Draw(0, 3000);
    for (int32_t r = 0; r < j.groups[0].replicas; ++r) {
      TaskPlacement tp{0, r, s.nodes[next_node++].name, {}};
      for (int g = 0; g < gpus; ++g) tp.gpus.push_back(GpuShare{g, kMilliPerGpu});
      j.placements.push_back(tp);
    }
    s.jobs.push_back(std::move(j));
  };
  // The claimant's own running jobs (any priority), u nodes in all.
  for (int used = 0, i = 0; used < u; ++i) {
    int t = Draw(1, u - used);
    used += t;
    run(whole_node_job("c" + std::to_string(i), "claim", t, Pick<int32_t>({0, 10, 100})));
  }
  // Other projects fill some of the remaining nodes.
  for (int i = 0; next_node < n; ++i) {
    if (Chance(1, 4)) {
      ++next_node;  // leave one node free
      continue;
    }
    int t = Draw(1, std::min(2, n - next_node));
    std::vector<int32_t> prios;
    for (int32_t p : {0, 10, 100})
      if (p <= prio) prios.push_back(p);
    run(whole_node_job("o" + std::to_string(i), other_names[Draw(0, others - 1)], t,
                       prios[Draw(0, static_cast<int>(prios.size()) - 1)]));
  }
  Job target = whole_node_job("J", "claim", k, prio);
  target.submit_time = Draw(0, 2000);  // may be later than other pending jobs
  s.jobs.push_back(target);
  if (prio > 0) {
    const int distractors = Draw(0, 3);
    for (int i = 0; i < distractors; ++i)
      s.jobs.push_back(whole_node_job("d" + std::to_string(i), s.projects[Draw(0, others)].name,
                                      Draw(1, 2), prio == 100 ? Pick<int32_t>({0, 10}) : 0));
  }
  SchedulerConfig cfg = GenConfig();
  cfg.preemption = true;
  {
    std::ostringstream os;
    os << ConfigText(cfg) << "\n";
    DumpSnapshot(s, os);
    RC_LOG() << "initial:\n" << os.str();
  }
  bool started = false;
  bool preempted = false;
  for (int pass = 0; pass < 3 && !started; ++pass) {
    const Decisions d = MustSchedule(cfg, s);
    RC_LOG() << "pass " << pass << ":\n" << DecisionsText(d);
    if (std::string e = CheckAll(s, d); !e.empty()) RC_FAIL(e);
    for (const StartDecision& st : d.starts) started |= st.job == "J";
    if (!started) {
      for (const WaitExplanation& w : d.waiting)
        if (w.job == "J" && w.reason != WaitReason::kWaitingForPreemption)
          RC_FAIL("J (within its guarantee) waits with " + std::string(WaitReasonName(w.reason)) +
                  ": " + w.message);
    }
    ApplyStarts(s, d);
    std::set<std::string> victims;
    for (const PreemptDecision& p : d.preemptions) victims.insert(p.victim);
    preempted |= !victims.empty();
    std::erase_if(s.jobs, [&](const Job& j) { return victims.count(j.id) > 0; });
    s.now += 10;
  }
  RC_CLASSIFY(preempted, "by preemption");
  RC_ASSERT(started);
}

// Replays a fixed job set for up to `passes` passes (property 5). Between passes: starts become
// running; this pass's victims become Terminating (they hold their resources for one pass) and
// then, once exited, either go back to the queue as pending (requeue) or leave; nothing else
// arrives or finishes; `now` advances past every minRuntime and maxRuntime (4000 s). Every pass
// must pass CheckAll.
//
// A pass is *quiet* when it has no start and no preemption, no job is terminating, and every
// running job is past its minRuntime and maxRuntime (or has none). From a quiet pass on, the
// input repeats exactly except for `now`, which then no longer matters (every release instant
// is `now`, no job can be short, no job is protected), so the replay has reached a fixed point
// and preemptions have stopped for good; one more pass confirms it.
void ReplayUntilQuiet(const Scenario& sc, bool requeue) {
  SchedulerConfig cfg = sc.cfg;
  cfg.preemption = true;
  Snapshot s = sc.snap;
  constexpr int kPasses = 30;
  std::set<std::pair<std::string, std::string>> evicted;  // (victim, preemptor)
  std::ostringstream history;
  int quiet_pass = -1;
  for (int pass = 0; pass < kPasses; ++pass) {
    const Decisions d = MustSchedule(cfg, s);
    history << "pass " << pass << " now=" << s.now << ":\n" << DecisionsText(d);
    if (std::string e = CheckAll(s, d); !e.empty()) {
      RC_LOG() << history.str();
      FailWith("pass " + std::to_string(pass) + ": " + e, s, d);
    }
    for (const PreemptDecision& p : d.preemptions) {
      if (evicted.count({p.preemptor, p.victim})) {
        RC_LOG() << history.str();
        RC_FAIL("cycle: " + p.preemptor + " was preempted by " + p.victim + " and now preempts it");
      }
      evicted.emplace(p.victim, p.preemptor);
    }
    bool settled = true;
    for (const Job& j : s.jobs) {
      if (j.phase == JobPhase::kTerminating) settled = false;
      if (j.phase == JobPhase::kRunning &&
          (s.now - j.start_time < j.min_runtime ||
           (j.max_runtime < kNever && j.start_time + j.max_runtime > s.now)))
        settled = false;
    }
    if (d.starts.empty() && d.preemptions.empty() && settled) {
      quiet_pass = pass;
      break;
    }
    // Terminating jobs have exited.
    for (Job& j : s.jobs)
      if (j.phase == JobPhase::kTerminating) {
        j.phase = JobPhase::kPending;
        j.placements.clear();
        j.last_checkpoint_time = -1;
        if (!requeue) j.id = "";  // marked for removal
      }
    std::erase_if(s.jobs, [](const Job& j) { return j.id.empty(); });
    ApplyStarts(s, d);
    ApplyNominations(s, d);
    for (const PreemptDecision& p : d.preemptions)
      for (Job& j : s.jobs)
        if (j.id == p.victim) j.phase = JobPhase::kTerminating;
    s.now += 4000;  // > every minRuntime; with the next pass, > every maxRuntime
  }
  RC_CLASSIFY(!evicted.empty(), "some preemption");
  if (quiet_pass < 0) {
    RC_LOG() << history.str();
    RC_FAIL("preemptions do not stop: no fixed point within " + std::to_string(kPasses) +
            " passes (" + std::to_string(evicted.size()) + " distinct (victim, preemptor) pairs)");
  }
  s.now += 4000;
  const Decisions again = MustSchedule(cfg, s);
  if (!again.starts.empty() || !again.preemptions.empty()) {
    RC_LOG() << history.str();
    FailWith("a quiet pass was not a fixed point", s, again);
  }
}

GenOptions ReplayOptions() {
  GenOptions o;
  o.max_nodes = 6;
  o.running_per_node = 3;
  o.max_running = 16;
  o.min_pending = 2;
  o.max_pending = 6;
  return o;
}

// 5. No preemption cycles (docs/scheduling.md, "Why preemption can never cycle": with a fixed set
// of jobs the scheduler makes only finitely many preemptions, and victims go back to the queue).
// Replay with victims requeued: no job preempts a job that earlier preempted it, and the replay
// reaches a fixed point (so preemptions stop) within 30 passes.
RC_GTEST_PROP(CoreProperties, NoPreemptionCycle, ()) {
  ReplayUntilQuiet(*GenScenario(ReplayOptions()), /*requeue=*/true);
}

// 5b. The same with victims leaving once they have exited (not resubmitted): the setting of the
// potential argument in the docs, where every admission is permanent.
RC_GTEST_PROP(CoreProperties, NoPreemptionCycleVictimsLeave, ()) {
  ReplayUntilQuiet(*GenScenario(ReplayOptions()), /*requeue=*/false);
}

// 6. Backfill never delays the reservation (EASY; docs/scheduling.md section 6). Pass 1 reserves
// job K at time T and may start others (before K in order, or backfilled after it). Apply every
// start (running from `now`, with its maxRuntime) and run pass 2 at the same `now` with K as the
// only pending job: K must start now or be reserved at T2 <= T. Preemption is off and the input
// has no terminating jobs, so pass 1 admits nothing that the decisions do not show.
//
// max_domain_attempts is kept at its default: with a cap of 1-2 single-domain attempts the placer
// stops before trying every leaf of these small clusters, so it may miss a domain that fits, and
// a different (equally valid) pass-1 state can reorder the leaves past the cap. That is the cap's
// documented trade-off (a bound on the pass's cost), not a backfill bug.
void CheckBackfillKeepsReservation(const Scenario& generated) {
  Scenario sc = generated;
  sc.cfg.backfill = BackfillMode::kEasy;
  sc.cfg.preemption = false;
  sc.cfg.max_domain_attempts = SchedulerConfig{}.max_domain_attempts;
  const Decisions d1 = MustSchedule(sc.cfg, sc.snap);
  RC_CLASSIFY(!d1.reservations.empty(), "reservation");
  RC_CLASSIFY(std::any_of(d1.starts.begin(), d1.starts.end(),
                          [](const StartDecision& s) { return s.backfilled; }),
              "backfill");
  if (d1.reservations.empty()) return;
  const ReservationDecision& r = d1.reservations.front();
  Snapshot s2 = sc.snap;
  ApplyStarts(s2, d1);
  std::erase_if(s2.jobs,
                [&](const Job& j) { return j.phase == JobPhase::kPending && j.id != r.job; });
  // The driver's side of reservations: the reserved job carries its placement to the next pass.
  for (Job& j : s2.jobs)
    if (j.id == r.job) j.reservation = r.tasks;
  const Decisions d2 = MustSchedule(sc.cfg, s2);
  for (const StartDecision& st : d2.starts)
    if (st.job == r.job) return;
  std::ostringstream os;
  os << "pass 1:\n" << DecisionsText(d1);
  RC_LOG() << os.str();
  if (d2.reservations.empty() || d2.reservations.front().job != r.job)
    FailWith("after backfill, " + r.job + " (reserved at t=" + std::to_string(r.start_time) +
                 ") has no reservation",
             s2, d2);
  if (d2.reservations.front().start_time > r.start_time)
    FailWith("backfill delayed " + r.job + ": reserved at t=" + std::to_string(r.start_time) +
                 ", now earliest t=" + std::to_string(d2.reservations.front().start_time),
             s2, d2);
}

GenOptions BackfillOptions() {
  GenOptions o;
  o.allow_terminating = false;
  o.finite_runtimes = true;
  o.max_nodes = 12;
  o.running_per_node = 3;
  o.max_running = 24;
  o.min_pending = 2;
  o.max_pending = 10;
  return o;
}

// 6. Capacity only: no max quotas.
RC_GTEST_PROP(CoreProperties, BackfillNeverDelaysReservation, ()) {
  GenOptions o = BackfillOptions();
  o.quotas = false;
  o.mixed_gangs = true;
  CheckBackfillKeepsReservation(*GenScenario(o));
}

// 6b. The same with max quotas (common here): a job backfilled after K must not take K's project
// past the headroom K needs, or K loses its reservation (and the holds protecting it) to QuotaMax
// in the next pass.
RC_GTEST_PROP(CoreProperties, BackfillNeverDelaysReservationUnderMaxQuota, ()) {
  GenOptions o = BackfillOptions();
  o.max_quota_in_4 = 3;
  CheckBackfillKeepsReservation(*GenScenario(o));
}

// 7. Determinism: the same snapshot scheduled twice by one Scheduler, and a copy of it (other
// addresses) by a second Scheduler with the same config, give identical decisions in every field
// (starts and placements, backfilled flags, preemptions and messages, reservations, waiting
// reasons and messages, order).
RC_GTEST_PROP(CoreProperties, Deterministic, ()) {
  const Scenario sc = *GenScenario();
  auto a = Scheduler::Create(sc.cfg);
  auto b = Scheduler::Create(sc.cfg);
  RC_ASSERT(a.has_value() && b.has_value());
  auto d1 = a->Schedule(sc.snap);
  auto d2 = a->Schedule(sc.snap);
  const Snapshot copy = sc.snap;
  auto d3 = b->Schedule(copy);
  RC_ASSERT(d1.has_value() && d2.has_value() && d3.has_value());
  const std::string t1 = DecisionsText(*d1), t2 = DecisionsText(*d2), t3 = DecisionsText(*d3);
  if (t1 != t2 || t1 != t3) {
    RC_LOG() << "first:\n" << t1 << "second:\n" << t2 << "copy:\n" << t3;
    RC_FAIL("decisions differ between equal inputs");
  }
}

// ---------------------------------------------------------------------------------------------
// 7b. A job that no empty cluster could hold -- here a gang of one more 1-GPU task than the
// cluster has GPUs, at the head of the queue (highest priority, first submitted) -- waits as
// Unschedulable and changes nothing for anyone else: every other decision is what the pass
// decides without it. (The pass returning at all is the other half: it once looped forever.)
// Backfill depth stays unlimited (GenConfig), since a job tried after a reservation counts
// against the depth whatever it is.

RC_GTEST_PROP(CoreProperties, InfeasibleGangBlocksNobody, ()) {
  const Scenario sc = *GenScenario();
  Snapshot with = sc.snap;
  Job big;
  big.id = "BIG";
  big.project = with.projects.front().name;
  big.user = "u0";
  big.priority = 1000;
  big.submit_time = -1;
  TaskGroup g;
  g.name = "w";
  g.replicas = static_cast<int32_t>(TotalGpus(with)) + 1;
  g.resources = ResourceVector::Of(0, 0, kMilliPerGpu);
  big.groups = {g};
  if (Chance(1, 2)) big.topology = {"node", TopologyConstraint::Mode::kPreferred};
  with.jobs.push_back(big);
  const Decisions d_with = MustSchedule(sc.cfg, with);
  const Decisions d_without = MustSchedule(sc.cfg, sc.snap);
  Decisions others = d_with;
  std::string reason;
  for (const WaitExplanation& w : others.waiting)
    if (w.job == "BIG") reason = WaitReasonName(w.reason);
  std::erase_if(others.waiting, [](const WaitExplanation& w) { return w.job == "BIG"; });
  std::erase(others.order, "BIG");
  RC_CLASSIFY(reason == "Unschedulable", "reached");
  if (reason != "Unschedulable" && reason != "QuotaMax" && reason != "BehindBlockedJob")
    FailWith("BIG waits as \"" + reason + "\", not Unschedulable", with, d_with);
  if (DecisionsText(others) != DecisionsText(d_without)) {
    RC_LOG() << "without BIG:\n" << DecisionsText(d_without);
    FailWith("an infeasible job changed other jobs' decisions", with, d_with);
  }
}

// ---------------------------------------------------------------------------------------------
// 8. Completeness of gang placement: a job alone on an otherwise empty cluster starts whenever
// some valid placement exists (found here by exhaustive search). Not one of the documented
// guarantees by name, but "InsufficientCapacity/Fragmented: no reservation possible" for a job
// that fits an idle cluster means it never runs. Small sizes (<= 8 nodes, <= 6 tasks) keep the
// search cheap. max_domain_attempts stays at its default (see property 6).

struct SearchNode {
  ResourceVector used;
  std::vector<int64_t> gpu_used;  // by position in Node::gpus
};

bool SearchPlace(const Snapshot& s, const Job& job, const std::vector<int32_t>& tasks, size_t t,
                 const std::vector<uint8_t>& allowed, std::vector<SearchNode>& st, int min_node) {
  if (t == tasks.size()) return true;
  const TaskGroup& g = job.groups[tasks[t]];
  const int64_t gpu = g.resources[kGpu];
  for (int n = min_node; n < static_cast<int>(s.nodes.size()); ++n) {
    if (!allowed[n]) continue;
    const Node& node = s.nodes[n];
    SearchNode& u = st[n];
    bool fits = true;
    for (int k = 0; k < kNumResourceKinds; ++k)
      if (k != kGpu && u.used[k] + g.resources[k] > node.allocatable[k]) fits = false;
    if (!fits) continue;
    // Tasks of one group are interchangeable: place them on non-decreasing node indices.
    const int next_min = t + 1 < tasks.size() && tasks[t + 1] == tasks[t] ? n : 0;
    ResourceVector add = g.resources;
    add[kGpu] = 0;
    auto recurse = [&] {
      u.used += add;
      bool ok = SearchPlace(s, job, tasks, t + 1, allowed, st, next_min);
      u.used -= add;
      return ok;
    };
    if (gpu >= kMilliPerGpu) {
      std::vector<size_t> take;
      for (size_t i = 0;
           i < node.gpus.size() && static_cast<int64_t>(take.size()) < gpu / kMilliPerGpu; ++i)
        if (u.gpu_used[i] == 0 && ModelOk(g, node.gpus[i].model)) take.push_back(i);
      if (static_cast<int64_t>(take.size()) * kMilliPerGpu != gpu) continue;
      for (size_t i : take) u.gpu_used[i] = kMilliPerGpu;
      bool ok = recurse();
      for (size_t i : take) u.gpu_used[i] = 0;
      if (ok) return true;
    } else if (gpu > 0) {
      std::set<std::pair<int64_t, std::string>> tried;  // GPUs in equal states are interchangeable
      for (size_t i = 0; i < node.gpus.size(); ++i) {
        if (u.gpu_used[i] + gpu > kMilliPerGpu || !ModelOk(g, node.gpus[i].model)) continue;
        if (!tried.emplace(u.gpu_used[i], node.gpus[i].model).second) continue;
        u.gpu_used[i] += gpu;
        bool ok = recurse();
        u.gpu_used[i] -= gpu;
        if (ok) return true;
      }
    } else if (recurse()) {
      return true;
    }
  }
  return false;
}

// Whether `job` has a valid placement on the empty cluster (required topology honoured).
bool FitsEmptyCluster(const Snapshot& s, const Job& job) {
  std::vector<int32_t> tasks;
  for (int32_t g = 0; g < static_cast<int32_t>(job.groups.size()); ++g)
    for (int32_t r = 0; r < job.groups[g].replicas; ++r) tasks.push_back(g);
  std::vector<std::string> domains = {""};
  if (job.topology.mode == TopologyConstraint::Mode::kRequired) {
    domains.clear();
    for (const Node& n : s.nodes) {
      std::string d = DomainOf(s, n, job.topology.level);
      if (std::find(domains.begin(), domains.end(), d) == domains.end())
        domains.push_back(std::move(d));
    }
  }
  for (const std::string& dom : domains) {
    std::vector<uint8_t> allowed(s.nodes.size());
    std::vector<SearchNode> st(s.nodes.size());
    for (size_t n = 0; n < s.nodes.size(); ++n) {
      allowed[n] = NodeEligible(s.nodes[n], job, /*check_cordon=*/true) &&
                   (dom.empty() || DomainOf(s, s.nodes[n], job.topology.level) == dom);
      st[n].gpu_used.assign(s.nodes[n].gpus.size(), 0);
    }
    if (SearchPlace(s, job, tasks, 0, allowed, st, 0)) return true;
  }
  return false;
}

RC_GTEST_PROP(CoreProperties, SoleJobStartsWhenItFits, ()) {
  Scenario sc = *rc::gen::resize(rc::kNominalSize, rc::gen::exec([] {
                                   GenOptions o;
                                   o.max_nodes = 8;
                                   o.quotas = false;
                                   Scenario sc;
                                   sc.snap.now = 10'000;
                                   GenCluster(sc.snap, o);
                                   GenProjects(sc.snap, o);
                                   // One task group (identical tasks): for those the greedy placer
                                   // is complete, since what one node can take does not depend on
                                   // the others. Multi-group gangs are placed greedily with one
                                   // retry and may miss rare placements (docs/scheduling.md,
                                   // section 8).
                                   Job j = GenJobSpec(sc.snap, "J", true, /*mixed=*/false);
                                   j.groups.resize(1);
                                   sc.snap.jobs.push_back(std::move(j));
                                   sc.cfg = GenConfig();
                                   sc.cfg.max_domain_attempts =
                                       SchedulerConfig{}.max_domain_attempts;
                                   return sc;
                                 }));
  const Job& job = sc.snap.jobs.front();
  const bool fits = FitsEmptyCluster(sc.snap, job);
  const Decisions d = MustSchedule(sc.cfg, sc.snap);
  RC_CLASSIFY(fits, "fits");
  if (fits && d.starts.empty())
    FailWith("J fits the empty cluster (exhaustive search) but does not start", sc.snap, d);
  if (!fits && !d.starts.empty())
    FailWith("J started although no valid placement exists", sc.snap, d);
  // Unschedulable claims a proof that no placement exists, even with every node free.
  if (fits && !d.waiting.empty() && d.waiting.front().reason == WaitReason::kUnschedulable)
    FailWith("J fits the empty cluster but is called Unschedulable", sc.snap, d);
}

// ---------------------------------------------------------------------------------------------
// Minimal deterministic reproductions of what the properties above found (see the report in the
// commit that added this file). Each is the smallest input we found for one failure.

Node MakeNode(const std::string& name, int64_t cpu, std::vector<Gpu> gpus,
              std::vector<Label> labels = {}) {
  Node n;
  n.name = name;
  n.allocatable = ResourceVector::Of(cpu, 64 * kGiB, 0);
  n.gpus = std::move(gpus);
  n.labels = std::move(labels);
  return n;
}

Job MakeJob(const std::string& id, const std::string& project, Seconds submit,
            std::vector<TaskGroup> groups, Seconds max_runtime = kNever) {
  Job j;
  j.id = id;
  j.project = project;
  j.user = "u";
  j.submit_time = submit;
  j.groups = std::move(groups);
  j.max_runtime = max_runtime;
  return j;
}

TaskGroup Tasks(int replicas, int64_t cpu, int64_t gpu_milli,
                std::vector<std::string> models = {}) {
  TaskGroup g;
  g.name = "g";
  g.replicas = replicas;
  g.resources = ResourceVector::Of(cpu, 0, gpu_milli);
  g.gpu_models = std::move(models);
  return g;
}

Job Running(Job j, Seconds start, std::vector<TaskPlacement> ps) {
  j.phase = JobPhase::kRunning;
  j.start_time = start;
  j.placements = std::move(ps);
  return j;
}

Decisions ScheduleOrDie(const SchedulerConfig& cfg, const Snapshot& s) {
  auto sched = Scheduler::Create(cfg);
  EXPECT_TRUE(sched.has_value());
  auto d = sched->Schedule(s);
  EXPECT_TRUE(d.has_value());
  return d.has_value() ? *d : Decisions{};
}

bool Starts(const Decisions& d, const std::string& job) {
  return std::any_of(d.starts.begin(), d.starts.end(),
                     [&](const StartDecision& s) { return s.job == job; });
}

// Found by SoleJobStartsWhenItFits (and behind a BackfillNeverDelaysReservation failure). Empty
// cluster: nA has one A100, nH two H100s. J = 1 task of 1 GPU (any model, 2 cores) + 1 task of
// 1 GPU (A100 only). Valid placement: any-model task on nH, A100 task on nA. Under binpack the
// any-model task sorts first (same GPU count, more cpu), goes to the fullest node, nA, and the
// A100 task then has nowhere to go; there is no backtracking, so J waits "Fragmented ... no
// reservation possible" on an idle cluster, forever.
TEST(CoreRegressions, GreedyGangPlacementMissesFitOnEmptyCluster) {
  Snapshot s;
  s.nodes = {MakeNode("nA", 8000, {Gpu{0, "A100", 0}}),
             MakeNode("nH", 8000, {Gpu{0, "H100", 0}, Gpu{1, "H100", 0}})};
  s.projects = {Project{"p"}};
  s.jobs = {MakeJob("J", "p", 0, {Tasks(1, 2000, 1000), Tasks(1, 0, 1000, {"A100"})})};
  SchedulerConfig cfg;
  cfg.placement = "binpack";
  const Decisions d = ScheduleOrDie(cfg, s);
  EXPECT_TRUE(Starts(d, "J")) << DecisionsText(d);
}

// Found by BackfillNeverDelaysReservation. now=0. nA: 2 A100 (8 cores); nH: 1 H100 (64 cores).
// R (ends t=300) holds nA/0, R2 (ends t=300) holds nH/0. K = 1 GPU any model (2 cores) + 1 GPU
// A100-only: blocked now, reserved at t=300 (any-model task on nH, A100 task on nA/0). Nothing
// free now is needed, so nothing is held, and B (1 GPU, no maxRuntime) is backfilled onto nA/1.
// Next pass, same `now`, K alone: at t=300 nA/0 and nH/0 are free and K still fits (any-model on
// nH, A100 on nA/0), but the greedy placer puts the any-model task on nA (fuller on cpu) and the
// A100 task fails -- K gets no reservation at all: backfilling B delayed K indefinitely.
TEST(CoreRegressions, BackfillDelaysReservationThroughGreedyReplanning) {
  Snapshot s;
  s.nodes = {MakeNode("nA", 8000, {Gpu{0, "A100", 0}, Gpu{1, "A100", 0}}),
             MakeNode("nH", 64000, {Gpu{0, "H100", 0}})};
  s.projects = {Project{"p"}};
  s.jobs = {Running(MakeJob("R", "p", 0, {Tasks(1, 0, 1000)}, 300), 0,
                    {TaskPlacement{0, 0, "nA", {GpuShare{0, 1000}}}}),
            Running(MakeJob("R2", "p", 0, {Tasks(1, 0, 1000)}, 300), 0,
                    {TaskPlacement{0, 0, "nH", {GpuShare{0, 1000}}}}),
            MakeJob("K", "p", 1, {Tasks(1, 2000, 1000), Tasks(1, 0, 1000, {"A100"})}, 1000),
            MakeJob("B", "p", 2, {Tasks(1, 0, 1000)})};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  cfg.placement = "binpack";
  cfg.backfill = BackfillMode::kEasy;
  cfg.preemption = false;
  const Decisions d1 = ScheduleOrDie(cfg, s);
  ASSERT_EQ(d1.reservations.size(), 1u) << DecisionsText(d1);
  ASSERT_EQ(d1.reservations[0].job, "K");
  ASSERT_EQ(d1.reservations[0].start_time, 300);
  ASSERT_TRUE(Starts(d1, "B")) << DecisionsText(d1);
  Snapshot s2 = s;
  s2.jobs[3] = Running(s2.jobs[3], 0, d1.starts[0].tasks);
  const Decisions d2 = ScheduleOrDie(cfg, s2);
  ASSERT_EQ(d2.reservations.size(), 1u) << "K lost its reservation after B was backfilled:\n"
                                        << DecisionsText(d2);
  EXPECT_LE(d2.reservations[0].start_time, 300) << DecisionsText(d2);
}

// Found by BackfillNeverDelaysReservationUnderMaxQuota. now=0. Project p has max 2 GPUs. n0: 2
// GPUs, R (project q, ends t=300) on n0/0; n1: 1 GPU labelled pool=b. K (p, 2 GPUs) is reserved
// at t=300 on n0 (n0/1 held). S (p, 1 GPU, pool=b, ends by t=300) is short, so it is backfilled
// on n1; L (q, 1 GPU, no maxRuntime) correctly waits WouldDelayReservation. Next pass (same
// `now`, S running): p uses 1 GPU, K asks 2 > max 2 - 1, so K waits QuotaMax, gets no
// reservation, nothing is held, and L starts on n0/1 -- at t=300 K cannot start (L runs forever).
// The backfilled S consumed the quota headroom K's reservation depends on. Fixed: after a
// reservation, no job of the reserved job's project may use its quota headroom (S waits QuotaMax).
TEST(CoreRegressions, BackfillTakesReservedJobsQuotaHeadroom) {
  Snapshot s;
  s.nodes = {MakeNode("n0", 8000, {Gpu{0, "H100", 0}, Gpu{1, "H100", 0}}),
             MakeNode("n1", 8000, {Gpu{0, "H100", 0}}, {Label{"pool", "b"}})};
  Project p{"p"};
  p.max[kGpu] = 2000;
  s.projects = {p, Project{"q"}};
  Job short_job = MakeJob("S", "p", 1, {Tasks(1, 0, 1000)}, 300);
  short_job.node_selector = {Label{"pool", "b"}};
  s.jobs = {Running(MakeJob("R", "q", 0, {Tasks(1, 0, 1000)}, 300), 0,
                    {TaskPlacement{0, 0, "n0", {GpuShare{0, 1000}}}}),
            MakeJob("K", "p", 0, {Tasks(1, 0, 2000)}, 1000), short_job,
            MakeJob("L", "q", 2, {Tasks(1, 0, 1000)})};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  cfg.backfill = BackfillMode::kEasy;
  cfg.preemption = false;
  const Decisions d1 = ScheduleOrDie(cfg, s);
  ASSERT_EQ(d1.reservations.size(), 1u) << DecisionsText(d1);
  ASSERT_EQ(d1.reservations[0].job, "K");
  // S (project p, short) may not take p's quota headroom that K needs: while S ran, K would be
  // over p's max and lose its reservation in the next pass.
  ASSERT_FALSE(Starts(d1, "S")) << DecisionsText(d1);
  // L (project q, no maxRuntime) may use n1, which K does not need, but not K's held n0/1.
  for (const StartDecision& st : d1.starts)
    for (const TaskPlacement& t : st.tasks) EXPECT_NE(t.node, "n0") << DecisionsText(d1);
  Snapshot s2 = s;
  for (const StartDecision& st : d1.starts)
    for (Job& j : s2.jobs)
      if (j.id == st.job) j = Running(j, 0, st.tasks);
  const Decisions d2 = ScheduleOrDie(cfg, s2);
  EXPECT_FALSE(Starts(d2, "L")) << "L takes the GPU K was reserved, K is delayed:\n"
                                << DecisionsText(d2);
  EXPECT_EQ(d2.reservations.size(), 1u) << DecisionsText(d2);
}

// Found by NoPreemptionCycle. One node with one GPU. Project a is guaranteed 1 GPU, b nothing.
// V (b, priority 0, submitted t=0) runs; J (a, priority 0, submitted t=100) is pending. Pass 1: J
// reclaims V (a stays within its guarantee, V is borrowing). Pass 2: V terminating, J waits for
// it. Pass 3: V has exited and is back in the queue; FIFO (older submit; with DRF the emptier or
// lower-index project) puts V before J, V restarts on the GPU and J cannot start. Pass 4: J
// reclaims V again ... forever: J never runs and V is killed every third pass. The cycle
// argument in docs/scheduling.md assumes an admission persists, but a WaitingForPreemption /
// WaitingForTermination admission exists only within its pass and nothing in the Snapshot
// carries it to the pass in which the victims' resources actually become free.
TEST(CoreRegressions, RequeuedReclaimVictimRetakesItsGpuForever) {
  Snapshot s;
  s.now = 10'000;
  s.nodes = {MakeNode("n0", 8000, {Gpu{0, "H100", 0}})};
  Project a{"a"};
  a.guaranteed[kGpu] = 1000;
  s.projects = {a, Project{"b"}};
  s.jobs = {Running(MakeJob("V", "b", 0, {Tasks(1, 0, 1000)}), 0,
                    {TaskPlacement{0, 0, "n0", {GpuShare{0, 1000}}}}),
            MakeJob("J", "a", 100, {Tasks(1, 0, 1000)})};
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  int preemptions = 0;
  bool j_started = false;
  std::string history;
  for (int pass = 0; pass < 12 && !j_started; ++pass) {
    const Decisions d = ScheduleOrDie(cfg, s);
    history += "pass " + std::to_string(pass) + ":\n" + DecisionsText(d);
    preemptions += static_cast<int>(d.preemptions.size());
    j_started = Starts(d, "J");
    for (Job& j : s.jobs)
      if (j.phase == JobPhase::kTerminating) {  // exited: back to the queue
        j.phase = JobPhase::kPending;
        j.placements.clear();
      }
    for (const StartDecision& st : d.starts)
      for (Job& j : s.jobs)
        if (j.id == st.job) {
          j = Running(j, s.now, st.tasks);
          j.nominated = false;
        }
    for (const PreemptDecision& p : d.preemptions)
      for (Job& j : s.jobs) {
        if (j.id == p.victim) j.phase = JobPhase::kTerminating;
        if (j.id == p.preemptor) j.nominated = true;  // the driver's side of nominations
      }
    s.now += 100;
  }
  EXPECT_TRUE(j_started && preemptions <= 1)
      << "J started: " << j_started << ", preemptions: " << preemptions << "\n"
      << history;
}

}  // namespace
}  // namespace kumo::core
