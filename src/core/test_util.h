// Small builders shared by the core's unit tests: nodes, jobs, projects, one scheduling pass, and
// lookups / compact text forms of Decisions so expectations read like the answer computed by hand.
//
//   Snapshot s;
//   s.nodes = {GpuNode("n0"), GpuNode("n1")};
//   s.projects = {MakeProject("p")};
//   s.jobs = {JobBuilder("r").Tasks(1, WholeGpus(4)).Running(0).On("n0", {0, 1, 2, 3}),
//             JobBuilder("j").Tasks(2, WholeGpus(2)).Submit(5)};
//   Decisions d = MustSchedule(s);
//   EXPECT_EQ(Describe(FindStart(d, "j")->tasks), "n0[4 5], n0[6 7]");
//
// Test-only: never included by the core itself.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/decisions.h"
#include "core/scheduler.h"
#include "core/snapshot.h"

namespace kumo::core::testutil {

inline constexpr int64_t kGiB = 1LL << 30;
inline constexpr int64_t Cores(int64_t c) { return c * 1000; }
inline constexpr int64_t GiB(int64_t g) { return g * kGiB; }
inline constexpr int64_t WholeGpus(int64_t g) { return g * kMilliPerGpu; }

// ---------------------------------------------------------------------------------------------
// Nodes

class NodeBuilder {
 public:
  // 64 cores, 512 GiB, no GPUs, no labels, taints or topology.
  explicit NodeBuilder(std::string name) {
    n_.name = std::move(name);
    n_.allocatable = ResourceVector::Of(Cores(64), GiB(512), 0);
  }
  // Appends `count` GPUs of `model`; GPU i (device index continues from the GPUs already there)
  // is in NVLink group i / per_group.
  NodeBuilder& Gpus(int count, const std::string& model = "A100", int per_group = 4) {
    for (int k = 0; k < count; ++k) {
      int32_t index = static_cast<int32_t>(n_.gpus.size());
      n_.gpus.push_back(Gpu{index, model, index / per_group});
    }
    return *this;
  }
  NodeBuilder& AddGpu(int32_t index, const std::string& model, int32_t nvlink_group) {
    n_.gpus.push_back(Gpu{index, model, nvlink_group});
    return *this;
  }
  NodeBuilder& Cpu(int64_t cores) {
    n_.allocatable[kCpu] = Cores(cores);
    return *this;
  }
  NodeBuilder& Memory(int64_t gib) {
    n_.allocatable[kMemory] = GiB(gib);
    return *this;
  }
  NodeBuilder& Extended(int slot, int64_t units) {
    n_.allocatable[kExtended0 + slot] = units;
    return *this;
  }
  NodeBuilder& Label(const std::string& key, const std::string& value) {
    n_.labels.push_back(core::Label{key, value});
    return *this;
  }
  NodeBuilder& Taint(const std::string& key, const std::string& value, TaintEffect effect) {
    n_.taints.push_back(core::Taint{key, value, effect});
    return *this;
  }
  NodeBuilder& Topology(std::vector<std::string> path) {
    n_.topology = std::move(path);
    return *this;
  }
  NodeBuilder& Cordoned() {
    n_.unschedulable = true;
    return *this;
  }
  Node Build() const { return n_; }
  operator Node() const { return n_; }  // NOLINT(google-explicit-constructor)

 private:
  Node n_;
};

// The usual node: `gpus` GPUs of `model` in NVLink groups of 4, 64 cores, 512 GiB.
inline Node GpuNode(const std::string& name, int gpus = 8, const std::string& model = "A100") {
  return NodeBuilder(name).Gpus(gpus, model);
}

// An 8-GPU node inside topology domain `path` (e.g. {"leaf-a"}).
inline Node GpuNodeIn(const std::string& name, std::vector<std::string> path, int gpus = 8) {
  return NodeBuilder(name).Gpus(gpus).Topology(std::move(path));
}

// ---------------------------------------------------------------------------------------------
// Projects

// Nothing guaranteed except `guaranteed_gpus` whole GPUs; no maximum.
inline Project MakeProject(const std::string& name, double weight = 1.0,
                           int64_t guaranteed_gpus = 0) {
  Project p;
  p.name = name;
  p.weight = weight;
  p.guaranteed = ResourceVector{};
  p.guaranteed[kGpu] = WholeGpus(guaranteed_gpus);
  p.max = ResourceVector::Filled(kUnlimited);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Jobs

class JobBuilder {
 public:
  // Pending, project `project`, user "u", priority 0, submitted at t=0, no limits.
  explicit JobBuilder(std::string id, std::string project = "p") {
    j_.id = std::move(id);
    j_.project = std::move(project);
    j_.user = "u";
  }
  JobBuilder& Project(const std::string& p) {
    j_.project = p;
    return *this;
  }
  JobBuilder& User(const std::string& u) {
    j_.user = u;
    return *this;
  }
  JobBuilder& Priority(int32_t p) {
    j_.priority = p;
    return *this;
  }
  JobBuilder& Submit(Seconds t) {
    j_.submit_time = t;
    return *this;
  }
  // Adds a task group: `replicas` tasks, each of `gpu_milli` milli-GPU, `cores` cores and
  // `mem_gib` GiB.
  JobBuilder& Tasks(int32_t replicas, int64_t gpu_milli, int64_t cores = 1, int64_t mem_gib = 1,
                    const std::string& name = "worker") {
    TaskGroup g;
    g.name = name;
    g.replicas = replicas;
    g.resources = ResourceVector::Of(Cores(cores), GiB(mem_gib), gpu_milli);
    j_.groups.push_back(std::move(g));
    return *this;
  }
  // Adds a task group with an arbitrary per-task resource vector.
  JobBuilder& TasksOf(int32_t replicas, const ResourceVector& per_task,
                      const std::string& name = "worker") {
    TaskGroup g;
    g.name = name;
    g.replicas = replicas;
    g.resources = per_task;
    j_.groups.push_back(std::move(g));
    return *this;
  }
  // GPU models accepted by the last group.
  JobBuilder& Models(std::vector<std::string> models) {
    j_.groups.back().gpu_models = std::move(models);
    return *this;
  }
  JobBuilder& Selector(const std::string& key, const std::string& value) {
    j_.node_selector.push_back(Label{key, value});
    return *this;
  }
  JobBuilder& Tolerate(const std::string& key, Toleration::Operator op, const std::string& value,
                       std::optional<TaintEffect> effect = std::nullopt) {
    j_.tolerations.push_back(Toleration{key, op, value, effect});
    return *this;
  }
  JobBuilder& Topology(const std::string& level, TopologyConstraint::Mode mode) {
    j_.topology = TopologyConstraint{level, mode};
    return *this;
  }
  JobBuilder& MaxRuntime(Seconds s) {
    j_.max_runtime = s;
    return *this;
  }
  JobBuilder& MinRuntime(Seconds s) {
    j_.min_runtime = s;
    return *this;
  }
  // Checkpointable; last checkpoint at `last` (-1: none yet).
  JobBuilder& Checkpointed(Seconds last) {
    j_.checkpointable = true;
    j_.last_checkpoint_time = last;
    return *this;
  }
  JobBuilder& LastCheckpoint(Seconds last) {  // without making it checkpointable
    j_.last_checkpoint_time = last;
    return *this;
  }
  JobBuilder& MayPreempt(bool b) {
    j_.may_preempt = b;
    return *this;
  }
  JobBuilder& Preemptible(bool b) {
    j_.preemptible = b;
    return *this;
  }
  // Running since `start` (place its tasks with On / OnShare).
  JobBuilder& Running(Seconds start) {
    j_.phase = JobPhase::kRunning;
    j_.start_time = start;
    return *this;
  }
  // Being stopped; started at `start` (place its tasks with On / OnShare).
  JobBuilder& Terminating(Seconds start = 0) {
    j_.phase = JobPhase::kTerminating;
    j_.start_time = start;
    return *this;
  }
  // Places the next task (groups in order, replicas in order) on `node`, on the whole GPUs
  // with device indices `gpus`.
  JobBuilder& On(const std::string& node, std::vector<int32_t> gpus) {
    TaskPlacement tp = NextTask(node);
    for (int32_t g : gpus) tp.gpus.push_back(GpuShare{g, kMilliPerGpu});
    j_.placements.push_back(std::move(tp));
    return *this;
  }
  // Places the next task on `node`, taking `milli` of GPU `gpu`.
  JobBuilder& OnShare(const std::string& node, int32_t gpu, int64_t milli) {
    TaskPlacement tp = NextTask(node);
    tp.gpus.push_back(GpuShare{gpu, milli});
    j_.placements.push_back(std::move(tp));
    return *this;
  }
  Job Build() const { return j_; }
  operator Job() const { return j_; }  // NOLINT(google-explicit-constructor)

 private:
  TaskPlacement NextTask(const std::string& node) const {
    int32_t k = static_cast<int32_t>(j_.placements.size());
    TaskPlacement tp;
    tp.node = node;
    for (size_t g = 0; g < j_.groups.size(); ++g) {
      if (k < j_.groups[g].replicas) {
        tp.group = static_cast<int32_t>(g);
        tp.index = k;
        return tp;
      }
      k -= j_.groups[g].replicas;
    }
    ADD_FAILURE() << "job " << j_.id << ": more placements than tasks";
    return tp;
  }
  Job j_;
};

// A running job of one task with whole GPUs `gpus` on `node`, started at `start`, project "p".
inline JobBuilder RunningJob(const std::string& id, const std::string& node,
                             std::vector<int32_t> gpus, Seconds start = 0) {
  JobBuilder b(id);
  b.Tasks(1, WholeGpus(static_cast<int64_t>(gpus.size()))).Running(start).On(node, std::move(gpus));
  return b;
}

inline std::vector<int32_t> Range(int32_t begin, int32_t end) {
  std::vector<int32_t> v;
  for (int32_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

// ---------------------------------------------------------------------------------------------
// One pass

// Runs one pass; a failure to create the scheduler or to schedule is a test failure (and the
// returned Decisions are empty).
inline Decisions MustSchedule(const Snapshot& s, const SchedulerConfig& cfg = {}) {
  auto sched = Scheduler::Create(cfg);
  if (!sched) {
    ADD_FAILURE() << "Scheduler::Create: " << sched.error().message();
    return {};
  }
  auto d = sched->Schedule(s);
  if (!d) {
    ADD_FAILURE() << "Schedule: " << d.error().message();
    return {};
  }
  return *d;
}

inline SchedulerConfig Config(const std::string& order = "drf",
                              const std::string& placement = "binpack",
                              BackfillMode backfill = BackfillMode::kEasy) {
  SchedulerConfig c;
  c.queue_order = order;
  c.placement = placement;
  c.backfill = backfill;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Lookups and text forms

inline const StartDecision* FindStart(const Decisions& d, const std::string& job) {
  for (const auto& s : d.starts)
    if (s.job == job) return &s;
  return nullptr;
}
inline const WaitExplanation* FindWait(const Decisions& d, const std::string& job) {
  for (const auto& w : d.waiting)
    if (w.job == job) return &w;
  return nullptr;
}
inline const ReservationDecision* FindReservation(const Decisions& d, const std::string& job) {
  for (const auto& r : d.reservations)
    if (r.job == job) return &r;
  return nullptr;
}

// "n0[0 1 2 3]" for whole GPUs, "n0[3:250]" for a share, "n0[]" for a CPU-only task.
inline std::string Describe(const TaskPlacement& t) {
  std::string s = t.node + "[";
  for (size_t i = 0; i < t.gpus.size(); ++i) {
    if (i) s += " ";
    s += std::to_string(t.gpus[i].gpu_index);
    if (t.gpus[i].milli != kMilliPerGpu) s += ":" + std::to_string(t.gpus[i].milli);
  }
  return s + "]";
}
// Tasks in (group, replica) order, ", "-separated.
inline std::string Describe(const std::vector<TaskPlacement>& ts) {
  std::string s;
  for (const auto& t : ts) s += (s.empty() ? "" : ", ") + Describe(t);
  return s;
}

// The reason of `job`'s wait, or "(not waiting)".
inline std::string ReasonOf(const Decisions& d, const std::string& job) {
  const WaitExplanation* w = FindWait(d, job);
  return w ? WaitReasonName(w->reason) : "(not waiting)";
}
inline std::string MessageOf(const Decisions& d, const std::string& job) {
  const WaitExplanation* w = FindWait(d, job);
  return w ? w->message : "(not waiting)";
}
inline std::vector<std::string> Victims(const Decisions& d) {
  std::vector<std::string> v;
  for (const auto& p : d.preemptions) v.push_back(p.victim);
  return v;
}
inline std::vector<std::string> Started(const Decisions& d) {
  std::vector<std::string> v;
  for (const auto& s : d.starts) v.push_back(s.job);
  return v;
}

// Everything in `d`, one line per decision: for failure messages and exact comparisons.
inline std::string Dump(const Decisions& d) {
  std::string s;
  for (const auto& x : d.starts)
    s += "start " + x.job + (x.backfilled ? " (backfilled)" : "") + ": " + Describe(x.tasks) + "\n";
  for (const auto& x : d.preemptions)
    s += "preempt " + x.victim + " for " + x.preemptor + " " + PreemptionReasonName(x.reason) +
         ": " + x.message + "\n";
  for (const auto& x : d.reservations)
    s += "reserve " + x.job + " at t=" + std::to_string(x.start_time) + ": " + Describe(x.tasks) +
         "\n";
  for (const auto& x : d.waiting)
    s += "wait " + x.job + " " + WaitReasonName(x.reason) + ": " + x.message + "\n";
  s += "order:";
  for (const auto& x : d.order) s += " " + x;
  return s + "\n";
}

}  // namespace kumo::core::testutil
