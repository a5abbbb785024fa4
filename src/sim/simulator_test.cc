// The simulator's event loop on small hand-made traces whose answers are worked out by hand in
// the comments, plus Summarize and the named policies.
//
// Unless a test says otherwise: one project "p", user "u"; nodes have 64 cores and 512 GiB (never
// the bottleneck); every task asks 1 core and 1 GiB besides its GPUs; maxRuntime == duration
// (exact estimates, so EASY reservations are where the hand arithmetic puts them).
//
// How the loop runs (simulator.cc): a pass happens after a batch of events (arrivals,
// completions, exits of preempted jobs), at most once per pass_interval of virtual time, and for
// preemptive / LAS policies also every `period` while jobs wait. A job started at t with work W
// ends at t + W (+ restart_overhead on every attempt after the first).
#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace kumo::sim {
namespace {

using core::Seconds;

constexpr int64_t kGiB = 1LL << 30;

core::Node GpuNode(const std::string& name, int gpus, const std::string& leaf = "leaf-0000") {
  core::Node n;
  n.name = name;
  n.allocatable = core::ResourceVector::Of(64000, 512 * kGiB, 0);
  for (int g = 0; g < gpus; ++g) n.gpus.push_back(core::Gpu{g, "A100", g / 4});
  n.topology = {"spine-000", leaf};
  return n;
}

core::TaskGroup Tasks(int32_t replicas, int64_t gpus_per_task, const std::string& name = "worker") {
  core::TaskGroup g;
  g.name = name;
  g.replicas = replicas;
  g.resources = core::ResourceVector::Of(1000, kGiB, gpus_per_task * 1000);
  return g;
}

// One task of `gpus` GPUs, `duration` seconds of work, exact maxRuntime.
SimJob Job(const std::string& id, Seconds submit, int64_t gpus, Seconds duration,
           int32_t priority = 0) {
  SimJob j;
  j.id = id;
  j.submit = submit;
  j.duration = duration;
  j.max_runtime = duration;
  j.groups = {Tasks(1, gpus)};
  j.project = "p";
  j.user = "u";
  j.priority = priority;
  return j;
}

Trace MakeTrace(std::vector<core::Node> nodes, std::vector<SimJob> jobs,
                std::vector<std::string> projects = {"p"}) {
  Trace t;
  t.name = "hand";
  t.topology_levels = {"spine", "leaf"};
  t.nodes = std::move(nodes);
  for (const std::string& name : projects) {
    core::Project p;
    p.name = name;
    t.projects.push_back(p);
  }
  t.jobs = std::move(jobs);
  std::stable_sort(t.jobs.begin(), t.jobs.end(), [](const SimJob& a, const SimJob& b) {
    return a.submit != b.submit ? a.submit < b.submit : a.id < b.id;
  });
  t.rows_read = static_cast<int64_t>(t.jobs.size());
  return t;
}

SimConfig Policy(const std::string& name) {
  auto c = NamedPolicy(name);
  EXPECT_TRUE(c.has_value()) << name;
  return c ? *c : SimConfig{};
}

SimReport MustSimulate(const Trace& t, const SimConfig& c) {
  auto r = Simulate(t, c);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? *r : SimReport{};
}

const JobOutcome& Outcome(const SimReport& r, const std::string& id) {
  for (const JobOutcome& o : r.outcomes)
    if (o.id == id) return o;
  ADD_FAILURE() << "no outcome for " << id;
  static const JobOutcome none;
  return none;
}

// "id:first_start-end" for every job, in trace order: one string to compare against the hand
// schedule.
std::string Schedule(const SimReport& r) {
  std::string s;
  for (const JobOutcome& o : r.outcomes) {
    if (!s.empty()) s += " ";
    s += o.id + ":" + std::to_string(o.first_start) + "-" + std::to_string(o.end);
  }
  return s;
}

void ExpectSaneRun(const SimReport& r) {
  EXPECT_EQ(r.completed, r.jobs);
  EXPECT_EQ(r.partial_gangs, 0);
  EXPECT_EQ(static_cast<int64_t>(r.outcomes.size()), r.jobs);
}

// =============================================================================================
// Summarize

TEST(SummarizeTest, EmptyAndSingle) {
  Distribution e = Summarize({});
  EXPECT_EQ(e.count, 0);
  EXPECT_EQ(e.mean, 0);
  EXPECT_EQ(e.p50, 0);
  EXPECT_EQ(e.p99, 0);
  Distribution one = Summarize({7.5});
  EXPECT_EQ(one.count, 1);
  EXPECT_EQ(one.mean, 7.5);
  EXPECT_EQ(one.p50, 7.5);
  EXPECT_EQ(one.p95, 7.5);
  EXPECT_EQ(one.p99, 7.5);
}

TEST(SummarizeTest, NearestRankPercentiles) {
  // Nearest rank: the value of rank ceil(p x n) (1-based) in sorted order.
  // 1..10 (given unsorted): p50 -> rank 5 = 5; p95 -> ceil(9.5) = 10; p99 -> ceil(9.9) = 10.
  Distribution d = Summarize({10, 3, 1, 7, 5, 2, 9, 4, 8, 6});
  EXPECT_EQ(d.count, 10);
  EXPECT_DOUBLE_EQ(d.mean, 5.5);
  EXPECT_EQ(d.p50, 5);
  EXPECT_EQ(d.p95, 10);
  EXPECT_EQ(d.p99, 10);
  // 1..100: ranks 50, 95, 99.
  std::vector<double> h;
  for (int i = 100; i >= 1; --i) h.push_back(i);
  Distribution c = Summarize(h);
  EXPECT_DOUBLE_EQ(c.mean, 50.5);
  EXPECT_EQ(c.p50, 50);
  EXPECT_EQ(c.p95, 95);
  EXPECT_EQ(c.p99, 99);
  // 1..20: p95 -> rank 19; p99 -> ceil(19.8) = 20.
  std::vector<double> t;
  for (int i = 1; i <= 20; ++i) t.push_back(i);
  Distribution w = Summarize(t);
  EXPECT_EQ(w.p50, 10);
  EXPECT_EQ(w.p95, 19);
  EXPECT_EQ(w.p99, 20);
  // Even count: p50 is the lower middle (rank 2 of 4), not an average.
  Distribution four = Summarize({40, 10, 30, 20});
  EXPECT_EQ(four.p50, 20);
  EXPECT_EQ(four.mean, 25);
  // Three values: p50 -> ceil(1.5) = rank 2.
  EXPECT_EQ(Summarize({3, 1, 2}).p50, 2);
}

// =============================================================================================
// Named policies and errors

TEST(SimPolicies, NamedPolicies) {
  EXPECT_EQ(PolicyNames(),
            (std::vector<std::string>{"fifo", "fifo-backfill", "drf", "kumo", "sjf-oracle",
                                      "srtf-oracle", "tiresias", "kumo-no-las",
                                      "kumo-no-preemption", "kumo-no-moves", "kumo-no-fill"}));
  auto rules = [](const char* name) { return Policy(name).policy_config; };
  EXPECT_EQ(rules("tiresias").scheduler.preemption.names, std::vector<std::string>{"priority"});
  EXPECT_TRUE(rules("tiresias").las.enabled);
  EXPECT_FALSE(rules("kumo-no-las").las.enabled);
  EXPECT_FALSE(rules("kumo-no-preemption").scheduler.preemption);
  EXPECT_EQ(rules("kumo-no-moves").scheduler.preemption.names,
            (std::vector<std::string>{"priority", "reclaim"}));
  EXPECT_EQ(rules("kumo-no-fill").scheduler.preemption.names,
            (std::vector<std::string>{"priority", "reclaim", "defragment"}));
  SimConfig sjf = Policy("sjf-oracle");
  EXPECT_EQ(sjf.policy_config.scheduler.queue_order, "shortest");
  EXPECT_TRUE(sjf.oracle_runtimes);
  EXPECT_FALSE(sjf.policy_config.scheduler.preemption);
  SimConfig srtf = Policy("srtf-oracle");
  EXPECT_TRUE(srtf.srtf_oracle);
  EXPECT_EQ(srtf.policy_config.scheduler.preemption.names, std::vector<std::string>{"priority"});
  EXPECT_FALSE(srtf.policy_config.las.enabled);
  EXPECT_EQ(rules("fifo").scheduler.queue_order, "fifo");
  EXPECT_EQ(rules("fifo").scheduler.backfill, core::BackfillMode::kNone);
  EXPECT_FALSE(rules("fifo").scheduler.preemption);
  EXPECT_FALSE(rules("fifo").las.enabled);
  EXPECT_EQ(rules("fifo-backfill").scheduler.backfill, core::BackfillMode::kEasy);
  EXPECT_FALSE(rules("fifo-backfill").scheduler.preemption);
  EXPECT_EQ(rules("drf").scheduler.queue_order, "drf");
  EXPECT_EQ(rules("drf").scheduler.backfill, core::BackfillMode::kGreedy);
  EXPECT_FALSE(rules("drf").scheduler.preemption);
  // kumo is the server's default policy, unchanged (src/server/one_policy_test.cc compares it
  // with ServerConfig's); the ablations are changes to whatever kumo is.
  SimConfig kumo = Policy("kumo");
  EXPECT_EQ(kumo.policy_config, core::PolicyConfig{});
  core::PolicyConfig spread;
  spread.scheduler.placement = "spread";
  EXPECT_EQ(NamedPolicy("kumo-no-las", spread)->policy_config.scheduler.placement, "spread");
  EXPECT_EQ(kumo.policy, "kumo");
  auto bad = NamedPolicy("lottery");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("lottery"), std::string::npos);
}

TEST(SimErrors, UnknownProjectAndEmptyTrace) {
  Trace t = MakeTrace({GpuNode("n0", 4)}, {Job("a", 0, 1, 10)});
  t.jobs[0].project = "nope";
  auto r = Simulate(t, Policy("fifo"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("nope"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("job a"), std::string::npos) << r.error().message();

  Trace empty = MakeTrace({GpuNode("n0", 4)}, {});
  SimReport e = MustSimulate(empty, Policy("kumo"));
  EXPECT_EQ(e.jobs, 0);
  EXPECT_EQ(e.completed, 0);
  EXPECT_EQ(e.policy, "kumo");
  EXPECT_EQ(e.trace, "hand");
}

// =============================================================================================
// FIFO, EASY backfill, greedy backfill

// One 4-GPU node. A: 4 GPUs x 100 s at t=0; B: 4 GPUs x 100 s at t=10; C: 1 GPU x 10 s at t=20.
Trace AbcTrace() {
  return MakeTrace({GpuNode("n0", 4)},
                   {Job("A", 0, 4, 100), Job("B", 10, 4, 100), Job("C", 20, 1, 10)});
}

TEST(SimFifo, StrictOrderSmallJobWaitsBehindBlockedHead) {
  // Default pass_interval (10 s): every event here is >= 10 s after the previous pass, so
  // batching delays nothing. Passes: 0 (A starts, ends 100), 10 (B blocked), 20 (C behind B:
  // strict order), 100 (A done: B starts, ends 200; C does not fit), 200 (B done: C starts,
  // ends 210), 210 (C done) = 6 passes.
  //   JCT: A = 100, B = 200 - 10 = 190, C = 210 - 20 = 190.  Waits: 0, 90, 180.
  SimReport r = MustSimulate(AbcTrace(), Policy("fifo"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-100 B:100-200 C:200-210");
  EXPECT_EQ(r.jct_s.count, 3);
  EXPECT_DOUBLE_EQ(r.jct_s.mean, (100 + 190 + 190) / 3.0);
  EXPECT_EQ(r.jct_s.p50, 190);
  EXPECT_EQ(r.jct_s.p99, 190);
  EXPECT_DOUBLE_EQ(r.wait_s.mean, (0 + 90 + 180) / 3.0);
  EXPECT_EQ(r.wait_s.p99, 180);
  EXPECT_EQ(r.makespan_s, 210);
  EXPECT_EQ(r.passes, 6);
  EXPECT_EQ(r.series.size(), 6u);
  EXPECT_EQ(r.preemptions, 0);
  // gpu_allocation is over the arrival window [0, 20] (first to last arrival): A holds all 4 GPUs.
  EXPECT_DOUBLE_EQ(r.gpu_allocation, 1.0);
  // Some job waits during [10, 200): 190 s, with all 4 GPUs allocated throughout -> 1.0.
  EXPECT_DOUBLE_EQ(r.gpu_allocation_contended, 1.0);
  EXPECT_DOUBLE_EQ(r.contended_hours, 190.0 / 3600);
  // Over the makespan: (4 GPUs x 200 s + 1 GPU x 10 s) / (4 GPUs x 210 s) = 810 / 840.
  EXPECT_DOUBLE_EQ(r.gpu_allocation_makespan, 810.0 / 840.0);
  // One project: fairness is not measured (needs two projects wanting GPUs) and stays 1.
  EXPECT_EQ(r.jain_fairness, 1.0);
  EXPECT_DOUBLE_EQ(r.slowdown_by_project.at("p"), (100.0 / 100 + 190.0 / 100 + 190.0 / 10) / 3);
  // By gang class: A and B in "2-8", C in "1".
  EXPECT_EQ(r.jct_by_class.at("2-8").count, 2);
  EXPECT_EQ(r.jct_by_class.at("1").count, 1);
  EXPECT_EQ(r.jct_by_class.at("1").mean, 190);
  EXPECT_EQ(r.wait_by_class.at("1").mean, 180);
}

TEST(SimFifo, BackfillCannotHelpWhenNothingIsFree) {
  // Same trace under EASY: B is reserved for t=100 (A's maxRuntime); C is short enough
  // (20 + 10 <= 100) but A holds all 4 GPUs, so nothing changes.
  SimReport r = MustSimulate(AbcTrace(), Policy("fifo-backfill"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-100 B:100-200 C:200-210");
}

// One 4-GPU node. A: 2 GPUs x 100 s at 0; B: 4 x 50 at 10; C: 2 x 50 at 20; D: 2 x 200 at 30.
Trace BackfillTrace() {
  return MakeTrace({GpuNode("n0", 4)}, {Job("A", 0, 2, 100), Job("B", 10, 4, 50),
                                        Job("C", 20, 2, 50), Job("D", 30, 2, 200)});
}

TEST(SimBackfill, StrictFifo) {
  // t=0 A starts (2 GPUs free). t=10 B needs 4: blocked, and blocks C (t=20) and D (t=30).
  // t=100 A ends: B starts (ends 150). t=150: C (ends 200) and D (ends 350) start.
  //   JCT: A 100, B 140, C 180, D 320.  Makespan 350.
  SimReport r = MustSimulate(BackfillTrace(), Policy("fifo"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-100 B:100-150 C:150-200 D:150-350");
  EXPECT_DOUBLE_EQ(r.jct_s.mean, (100 + 140 + 180 + 320) / 4.0);
  EXPECT_EQ(r.makespan_s, 350);
  // Arrival window [0, 30]: only A's 2 of 4 GPUs -> 0.5.
  EXPECT_DOUBLE_EQ(r.gpu_allocation, 0.5);
  // Waiting during [10, 150): A's 2 GPUs over [10, 100), B's 4 over [100, 150):
  //   (2 x 90 + 4 x 50) / (4 x 140) = 380 / 560.
  EXPECT_DOUBLE_EQ(r.gpu_allocation_contended, 380.0 / 560.0);
  EXPECT_DOUBLE_EQ(r.contended_hours, 140.0 / 3600);
}

TEST(SimBackfill, EasyBackfillStartsShortJobWithoutDelayingTheHead) {
  // t=10: B is reserved for t=100 (A's maxRuntime end), holding the 2 free GPUs.
  // t=20: C would end by 20 + 50 = 70 <= 100: it may use the held GPUs -> starts, ends 70.
  // t=30: D (ends 230 > 100) may not use held GPUs; none are free anyway.
  // t=70: C done; the 2 free GPUs are held for B; D (long) still waits.
  // t=100: A done: B starts (ends 150). t=150: D starts (ends 350).
  //   JCT: A 100, B 140 (not delayed), C 50 (was 180 under strict FIFO), D 320.
  SimReport r = MustSimulate(BackfillTrace(), Policy("fifo-backfill"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-100 B:100-150 C:20-70 D:150-350");
  EXPECT_DOUBLE_EQ(r.jct_s.mean, (100 + 140 + 50 + 320) / 4.0);
  // Sorted JCTs 50, 100, 140, 320: p50 = rank 2 = 100; p95, p99 = rank 4 = 320.
  EXPECT_EQ(r.jct_s.p50, 100);
  EXPECT_EQ(r.jct_s.p95, 320);
  EXPECT_EQ(r.jct_s.p99, 320);
  EXPECT_DOUBLE_EQ(r.wait_s.mean, (0 + 90 + 0 + 120) / 4.0);
  EXPECT_EQ(r.makespan_s, 350);
  // Arrival window [0, 30]: [0,20) 2 GPUs, [20,30) 4 -> (40 + 40) / (4 x 30) = 2/3.
  EXPECT_DOUBLE_EQ(r.gpu_allocation, 80.0 / 120.0);
  // Waiting during [10, 150) (B until 100, D until 150; C never waits):
  //   [10,20) 2 GPUs, [20,70) 4, [70,100) 2, [100,150) 4
  //   = (20 + 200 + 60 + 200) / (4 x 140) = 480 / 560 = 6/7.
  EXPECT_DOUBLE_EQ(r.gpu_allocation_contended, 480.0 / 560.0);
  EXPECT_DOUBLE_EQ(r.contended_hours, 140.0 / 3600);
  // Over the makespan: 480 + [0,10) 2 x 10 + [150,350) 2 x 200 = 900 GPU-s / (4 x 350).
  EXPECT_DOUBLE_EQ(r.gpu_allocation_makespan, 900.0 / 1400.0);
}

TEST(SimBackfill, GreedyBackfillDelaysTheBigJob) {
  // "drf" skips blocked jobs without a reservation. t=20: C starts (ends 70). t=70: D fits in
  // C's GPUs and starts (ends 270). t=100: A done, only 2 GPUs free: B waits for D.
  // t=270: B starts (ends 320).
  //   JCT: A 100, B 310, C 50, D 240. Makespan 320.
  SimReport r = MustSimulate(BackfillTrace(), Policy("drf"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-100 B:270-320 C:20-70 D:70-270");
  EXPECT_EQ(r.makespan_s, 320);
  // Arrival window [0, 30]: the same as EASY's, 2/3.
  EXPECT_DOUBLE_EQ(r.gpu_allocation, 80.0 / 120.0);
  // Waiting during [10, 270): [10,20) 2, [20,100) 4, [100,270) 2
  //   = (20 + 320 + 340) / (4 x 260) = 680 / 1040.
  EXPECT_DOUBLE_EQ(r.gpu_allocation_contended, 680.0 / 1040.0);
  EXPECT_DOUBLE_EQ(r.contended_hours, 260.0 / 3600);
}

// =============================================================================================
// Batching of passes

TEST(SimBatching, PassIntervalDelaysStartsToTheNextSlot) {
  // One 4-GPU node. A: 4 GPUs x 5 s at 0; B: 4 x 10 at 1.
  Trace t = MakeTrace({GpuNode("n0", 4)}, {Job("A", 0, 4, 5), Job("B", 1, 4, 10)});
  // pass_interval 10: pass at 0 (A starts). B's arrival at 1 and A's end at 5 fall before the next
  // slot (0 + 10): the next pass is at 10, where B starts; it ends at 20 (JCT 19). A still ends
  // at 5: only passes are batched, not events.
  SimConfig c = Policy("fifo");
  c.pass_interval = 10;
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "A:0-5 B:10-20");
  EXPECT_EQ(r.passes, 3);  // 0, 10, 20
  // pass_interval 1: passes at 0, 1 (B blocked), 5 (B starts, ends 15), 15.
  c.pass_interval = 1;
  SimReport q = MustSimulate(t, c);
  EXPECT_EQ(Schedule(q), "A:0-5 B:5-15");
  EXPECT_EQ(q.passes, 4);
}

TEST(SimEstimates, LearntRuntimesLetEasyReserveWithoutMaxRuntime) {
  // One 4-GPU node, fifo-backfill, no job has a maxRuntime. H1, H2 (2 GPUs x 20 s) teach the
  // estimator that user u's jobs run 20 s. t=30: A (2 GPUs, really 30 s) starts, estimated to end
  // at 50. t=31: B (4 GPUs) is blocked and reserved for t=50, holding the 2 free GPUs. t=32: D
  // (2 GPUs x 100 s, no maxRuntime so never "short") may not use them and waits. t=50: A outruns
  // its estimate; the reservation moves (A planned to run as long again), nothing is killed.
  // t=60: A ends, B starts (ends 70); t=70: D starts.
  auto job = [](const std::string& id, Seconds submit, int64_t gpus, Seconds duration) {
    SimJob j = Job(id, submit, gpus, duration);
    j.max_runtime = core::kNever;
    return j;
  };
  Trace t = MakeTrace({GpuNode("n0", 4)}, {job("H1", 0, 2, 20), job("H2", 0, 2, 20),
                                           job("A", 30, 2, 30), job("B", 31, 4, 10),
                                           job("D", 32, 2, 100)});
  SimConfig c = Policy("fifo-backfill");
  c.pass_interval = 1;
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "H1:0-20 H2:0-20 A:30-60 B:60-70 D:70-170");
  // Errors of the jobs that had an estimate when they ended (H1, H2 had too little history):
  //   A: history 20, 20 -> 20; ran 30 -> 1/3.   B: 20, 20, 30 -> 20; ran 10 -> 1.
  //   D: 20, 20, 30, 10 -> 20; ran 100 -> 0.8.  Sorted 1/3, 0.8, 1: p50 rank 2, p90 rank 3.
  EXPECT_EQ(r.estimate_error.count, 3);
  EXPECT_DOUBLE_EQ(r.estimate_error.p50, 0.8);
  EXPECT_DOUBLE_EQ(r.estimate_error.p90, 1.0);

  // Without estimates no reservation is possible: D takes the free GPUs at t=32 and B waits for
  // it (t=132) although A ended at 60.
  c.policy_config.estimates.enabled = false;
  SimReport none = MustSimulate(t, c);
  EXPECT_EQ(Schedule(none), "H1:0-20 H2:0-20 A:30-60 B:132-142 D:32-132");
  EXPECT_EQ(none.estimate_error.count, 0);
}

TEST(SimEstimates, DrfPredictedServesTheLeastPredictedWorkFirst) {
  // One 4-GPU node; every job has the same 100 s limit (which says nothing about length, as on
  // the held-out Slurm slice). H1, H2 teach the history that user u's jobs run 20 s. X holds the
  // node 21-50; B (4 GPUs), S1 and S2 (2 GPUs each) arrive together at 40. "drf" serves u's
  // queue in submit order, then id: B reserved, at 50; S1 and S2 at 60. "drf-predicted" predicts
  // 20 s for each (capped at 100): work 1.0 x 20 for B, 0.5 x 20 for S1 and S2, so S1 is the job
  // reserved for and S1, S2 start first.
  auto job = [](const std::string& id, Seconds submit, int64_t gpus, Seconds duration) {
    SimJob j = Job(id, submit, gpus, duration);
    j.max_runtime = 100;
    return j;
  };
  Trace t = MakeTrace({GpuNode("n0", 4)},
                      {job("H1", 0, 1, 20), job("H2", 0, 1, 20), job("X", 21, 4, 29),
                       job("B", 40, 4, 10), job("S1", 40, 2, 10), job("S2", 40, 2, 10)});
  SimConfig c = Policy("fifo-backfill");
  c.pass_interval = 1;
  c.policy_config.scheduler.queue_order = "drf";
  EXPECT_EQ(Schedule(MustSimulate(t, c)), "H1:0-20 H2:0-20 X:21-50 B:50-60 S1:60-70 S2:60-70");
  c.policy_config.scheduler.queue_order = "drf-predicted";
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "H1:0-20 H2:0-20 X:21-50 B:60-70 S1:50-60 S2:50-60");
  // Estimate errors count jobs with a maxRuntime too: X (20 vs 29), S1, S2 (20 vs 10), B.
  EXPECT_EQ(r.estimate_error.count, 4);
}

// =============================================================================================
// Gangs

TEST(SimGang, PhillyStyleGangStartsWholeAndClassesAreSeparate) {
  // Two 8-GPU nodes. G: 12 GPUs as 1 x 8 + 1 x 4 (the Philly reader's shape) at 0, 100 s;
  // S4: 4 GPUs x 50 s at 10; S1: 1 GPU x 10 s at 20.
  // t=0: G takes one whole node and 4 GPUs of the other. t=10: S4 takes the last 4 (ends 60).
  // t=20: nothing free; S1 waits (strict FIFO) until 60, ends 70.
  SimJob g = Job("G", 0, 8, 100);
  g.groups = {Tasks(1, 8, "worker"), Tasks(1, 4, "rest")};
  Trace t = MakeTrace({GpuNode("n0", 8), GpuNode("n1", 8)},
                      {g, Job("S4", 10, 4, 50), Job("S1", 20, 1, 10)});
  SimReport r = MustSimulate(t, Policy("fifo"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "G:0-100 S4:10-60 S1:60-70");
  EXPECT_EQ(Outcome(r, "G").gpu_milli, 12000);
  EXPECT_EQ(r.jct_by_class.at("9-32").mean, 100);
  EXPECT_EQ(r.jct_by_class.at("2-8").mean, 50);
  EXPECT_EQ(r.jct_by_class.at("1").mean, 50);
  EXPECT_EQ(r.wait_by_class.at("1").mean, 40);
  EXPECT_EQ(r.jct_by_class.count(">32"), 0u);
}

TEST(SimGang, GangLargerThanTheFreeNodeWaitsWhole) {
  // Two 4-GPU nodes; X: 1 GPU x 100 s at 0 (on one node); G: 2 tasks x 4 GPUs x 10 s at 5.
  // G cannot start until X ends (a partial start on the empty node would be a partial gang).
  SimJob g = Job("G", 5, 4, 10);
  g.groups = {Tasks(2, 4)};
  Trace t = MakeTrace({GpuNode("n0", 4), GpuNode("n1", 4)}, {Job("X", 0, 1, 100), g});
  for (const std::string& p : PolicyNames()) {
    SimReport r = MustSimulate(t, Policy(p));
    ExpectSaneRun(r);
    // The SRTF oracle stops X instead (G has less left): at the pass at 10 (passes every 10 s),
    // X exits at once; G runs 20-30, X resumes at 30 with 90 s left.
    EXPECT_EQ(Schedule(r), p == "srtf-oracle" ? "X:0-120 G:20-30" : "X:0-100 G:100-110") << p;
  }
}

// =============================================================================================
// Preemption (kumo: DRF + EASY + priority preemption + LAS)

// Small values so the hand arithmetic stays short: passes at every event (pass_interval 1),
// a 30 s grace, a 20 s restart overhead, victims protected for their first 60 s.
SimConfig SmallKumo() {
  SimConfig c = Policy("kumo");
  c.pass_interval = 1;
  c.preemption_grace = 30;
  c.restart_overhead = 20;
  c.policy_config.min_runtime = {0, 60, 60};  // fraction of the median 0: always 60 s
  c.period = 300;
  return c;
}

// One 4-GPU node. V: 4 GPUs x 1000 s at 0, priority 0, checkpoints every 100 s of running;
// H: 4 GPUs x 100 s at `h_at`, priority 1.
Trace PreemptTrace(Seconds h_at, bool checkpointable, Seconds v_duration = 1000) {
  SimJob v = Job("V", 0, 4, v_duration);
  v.checkpointable = checkpointable;
  v.checkpoint_interval = 100;
  return MakeTrace({GpuNode("n0", 4)}, {v, Job("H", h_at, 4, 100, /*priority=*/1)});
}

TEST(SimPreemption, CheckpointedVictimLosesWorkSinceLastCheckpoint) {
  // LAS keeps both jobs in the top queue (attained GPU-s far below 8 x 3600), so the effective
  // priorities are 0 x 3 + 2 = 2 (V) and 1 x 3 + 2 = 5 (H).
  // t=250: H arrives, nothing free; V has run 250 >= min_runtime 60 -> preempted; it exits
  //        after the grace, at 280, having worked 280 s: checkpoints at 100 and 200 keep 200 s,
  //        80 s x 4 GPUs are lost. Remaining work 800.
  // t=280: V exits; H (nominated) starts, ends 380. V is reserved for 380.
  // t=380: V restarts: 20 s overhead + 800 s of work -> ends 1200.
  SimReport r = MustSimulate(PreemptTrace(250, true), SmallKumo());
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "V:0-1200 H:280-380");
  EXPECT_EQ(Outcome(r, "V").preemptions, 1);
  EXPECT_EQ(Outcome(r, "H").preemptions, 0);
  EXPECT_EQ(r.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.gpu_hours_lost, 80.0 * 4 / 3600);
  EXPECT_DOUBLE_EQ(r.jct_s.mean, (1200 + 130) / 2.0);
  EXPECT_DOUBLE_EQ(r.wait_s.mean, (0 + 30) / 2.0);  // waits count to the first start
  EXPECT_EQ(r.makespan_s, 1200);
}

TEST(SimPreemption, VictimWithoutCheckpointsStartsOver) {
  // As above, but nothing is saved: all 280 s x 4 GPUs are lost; V restarts at 380 with 1000 s
  // of work plus 20 s overhead -> ends 1400.
  SimReport r = MustSimulate(PreemptTrace(250, false), SmallKumo());
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "V:0-1400 H:280-380");
  EXPECT_EQ(r.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.gpu_hours_lost, 280.0 * 4 / 3600);
}

TEST(SimPreemption, MinRuntimeDefersPreemptionToTheNextPeriodicPass) {
  // H arrives at 30, when V has run only 30 < 60 s: no preemption; H is reserved for 1000.
  // With period 50 the next pass is at 80: V has run 80 -> preempted, exits at 110 having
  // worked 110 s (checkpoint at 100 keeps 100; 10 s x 4 GPUs lost; 900 s remain).
  // t=110: H starts, ends 210. t=210: V restarts, ends 210 + 20 + 900 = 1130.
  SimConfig c = SmallKumo();
  c.period = 50;
  SimReport r = MustSimulate(PreemptTrace(30, true), c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "V:0-1130 H:110-210");
  EXPECT_EQ(r.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.gpu_hours_lost, 10.0 * 4 / 3600);
}

TEST(SimPreemption, VictimFinishingWithinGraceIsNotRequeued) {
  // V needs only 270 s. Preempted at 250, it would exit at 280 but finishes at 270: nothing is
  // lost, it is not counted as preempted, and H starts when V's GPUs are free at 270 (ends 370).
  SimReport r = MustSimulate(PreemptTrace(250, true, /*v_duration=*/270), SmallKumo());
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "V:0-270 H:270-370");
  EXPECT_EQ(r.preemptions, 0);
  EXPECT_EQ(Outcome(r, "V").preemptions, 0);
  EXPECT_EQ(r.gpu_hours_lost, 0);
}

TEST(SimPreemption, NonPreemptivePoliciesMakeTheHighPriorityJobWait) {
  // Without preemption H waits for V's end at 1000 and ends at 1100.
  for (const char* p : {"fifo", "fifo-backfill", "drf"}) {
    SimConfig c = Policy(p);
    c.pass_interval = 1;
    SimReport r = MustSimulate(PreemptTrace(250, true), c);
    ExpectSaneRun(r);
    EXPECT_EQ(Schedule(r), "V:0-1000 H:1000-1100") << p;
    EXPECT_EQ(r.preemptions, 0) << p;
  }
}

// LAS with one queue boundary (levels = 1), known after one finished job: effective priority =
// declared x 2 + (1 - q). P: 4 GPUs x 100 s at 0 finishes first, so the boundary is 400 GPU-s;
// V: 4 GPUs x v_duration at 100, saving every v_interval s; N: 4 GPUs x 100 s at n_at.
SimConfig OneBoundaryLas() {
  SimConfig c = SmallKumo();
  c.policy_config.las.predicted_remaining = false;  // Tiresias' service queues
  c.policy_config.las.threshold_quantiles = {0.5};
  c.policy_config.history.min_jobs = 1;
  return c;
}

Trace LasTrace(Seconds v_duration, Seconds v_interval, Seconds n_at) {
  SimJob v = Job("V", 100, 4, v_duration);
  v.checkpointable = true;
  v.checkpoint_interval = v_interval;
  return MakeTrace({GpuNode("n0", 4)}, {Job("P", 0, 4, 100), v, Job("N", n_at, 4, 100)});
}

TEST(SimLas, LongRunningJobIsDemotedAndPreemptedBySameClassJob) {
  // One queue boundary at the median attained service of finished jobs (levels = 1): effective
  // priority = declared x 2 + (1 - q). P: 4 GPUs x 100 s at 0 finishes first: history {400
  // GPU-s}, so the boundary is 400 GPU-s. V: 4 GPUs x 1000 s at 100 (checkpoints every 100 s);
  // N: 4 GPUs x 100 s at 150; all priority 0.
  // t=150: V has 200 GPU-s -> q 0, priority 1; N priority 1: equal, no preemption; N reserved.
  // t=200 (period 50): V has 400 GPU-s -> q 1, priority 0 < 1: preempted (ran 100 >= 60);
  //        exits at 230 having worked 130 s (100 saved, 900 remain).
  // t=230: N starts, ends 330. t=330: V restarts, ends 330 + 20 + 900 = 1250.
  SimConfig c = OneBoundaryLas();
  c.period = 50;
  Trace t = LasTrace(1000, 100, 150);
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "P:0-100 V:100-1250 N:230-330");
  EXPECT_EQ(r.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.gpu_hours_lost, 30.0 * 4 / 3600);
  // Until history.min_jobs jobs have finished every job stays in the top queue: N waits for V.
  c.policy_config.history.min_jobs = 2;
  SimReport q = MustSimulate(t, c);
  EXPECT_EQ(Schedule(q), "P:0-100 V:100-1100 N:1100-1200");
  EXPECT_EQ(q.preemptions, 0);
}

TEST(SimLas, DemotedJobIsAVictimOnlyJustAfterASave) {
  // Boundary 400 GPU-s as above. V: 4 GPUs x 2000 s at 100, saves every 500 s (at 600, 1100,
  // ...); N: 4 GPUs x 100 s at 700. From its save at 600 V is demoted (2000 GPU-s >= 400).
  // No window: N preempts V at 700; V exits at 730 having worked 630 s, 500 saved: 130 s x 4
  // GPUs lost. N 730-830; V resumes at 830: 20 + 1500 -> 2350.
  // Window 60 s: at 700 V is 100 s past its save, so it keeps the top queue and N waits. Its
  // save at 1100 is an event and N outranks it: preempted at 1100, exits at 1130 with 30 s lost.
  // N 1130-1230; V resumes at 1230: 20 + 1000 -> 2250.
  SimConfig c = OneBoundaryLas();
  c.policy_config.las.victim_window_s = 0;
  Trace t = LasTrace(2000, 500, 700);
  SimReport any = MustSimulate(t, c);
  ExpectSaneRun(any);
  EXPECT_EQ(Schedule(any), "P:0-100 V:100-2350 N:730-830");
  EXPECT_DOUBLE_EQ(any.gpu_hours_lost, 130.0 * 4 / 3600);
  c.policy_config.las.victim_window_s = 60;
  SimReport after_save = MustSimulate(t, c);
  ExpectSaneRun(after_save);
  EXPECT_EQ(Schedule(after_save), "P:0-100 V:100-2250 N:1130-1230");
  EXPECT_EQ(after_save.preemptions, 1);
  EXPECT_DOUBLE_EQ(after_save.gpu_hours_lost, 30.0 * 4 / 3600);
}

TEST(SimLas, RunningJobThatDoesNotCheckpointIsNotPreemptedForItsQueue) {
  // As above, but V does not checkpoint: demoting it would preempt it and throw away all its
  // work, which only a declared priority or a quota may demand. N waits for V.
  SimConfig c = SmallKumo();
  c.period = 50;
  c.policy_config.las.threshold_quantiles = {0.5};
  c.policy_config.history.min_jobs = 1;
  Trace t = MakeTrace({GpuNode("n0", 4)},
                      {Job("P", 0, 4, 100), Job("V", 100, 4, 1000), Job("N", 150, 4, 100)});
  SimReport r = MustSimulate(t, c);
  EXPECT_EQ(Schedule(r), "P:0-100 V:100-1100 N:1100-1200");
  EXPECT_EQ(r.preemptions, 0);
}

// The default order, shortest predicted remaining time first (core/las.h): every job here has
// its run time as its limit and fewer than history.min_jobs have finished, so the prediction is
// the limit itself and the deadline guard is not known yet. One 4-GPU node. P (100 s) runs
// from 0; A (1000 s, at 10) and B (100 s, at 20) wait for it; at 100 B goes first although A
// came first, and A follows at 200. C (50 s, at 300) is shorter than what A has left, but A
// started in its order with a prediction: it is not stopped, and C waits for it (ends 1250).
TEST(SimPredicted, ShortestPredictedFirstAndAStartedJobIsNotStoppedForItsOrder) {
  SimConfig c = SmallKumo();
  ASSERT_TRUE(c.policy_config.las.predicted_remaining);
  SimJob a = Job("A", 10, 4, 1000);
  a.checkpointable = true;
  a.checkpoint_interval = 100;
  Trace t = MakeTrace({GpuNode("n0", 4)},
                      {Job("P", 0, 4, 100), a, Job("B", 20, 4, 100), Job("C", 300, 4, 50)});
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "P:0-100 A:200-1200 B:100-200 C:1200-1250");
  EXPECT_EQ(r.preemptions, 0);
  // Under Tiresias' service queues A, demoted by then, would be C's victim.
  c.policy_config.las.predicted_remaining = false;
  c.policy_config.las.threshold_quantiles = {0.5};
  c.policy_config.history.min_jobs = 1;
  SimReport las = MustSimulate(t, c);
  ExpectSaneRun(las);
  EXPECT_EQ(las.preemptions, 1) << Schedule(las);
}

// =============================================================================================
// SRTF oracle

TEST(SimSrtf, ShorterRemainingTimePreemptsWithoutLoss) {
  // One 4-GPU node. L: 4 GPUs x 1000 s at 0; S: 4 GPUs x 100 s at 100. At 100 L has 900 s left
  // and S 100 s: L is stopped at once (grace 0) and keeps all its work (lossless); S starts at
  // the next pass (101: one pass per second), L resumes when S ends (no restart overhead) and
  // ends 201 + 900 = 1101.
  SimConfig c = Policy("srtf-oracle");
  c.pass_interval = 1;
  Trace t = MakeTrace({GpuNode("n0", 4)}, {Job("L", 0, 4, 1000), Job("S", 100, 4, 100)});
  SimReport r = MustSimulate(t, c);
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "L:0-1101 S:101-201");
  EXPECT_EQ(r.preemptions, 1);
  EXPECT_DOUBLE_EQ(r.gpu_hours_lost, 0);
  // The non-preemptive bound cannot: S waits for L.
  SimConfig sjf = Policy("sjf-oracle");
  sjf.pass_interval = 1;
  EXPECT_EQ(Schedule(MustSimulate(t, sjf)), "L:0-1000 S:1000-1100");
}

// =============================================================================================
// Fairness

TEST(SimFairness, JainIndexWhileTwoProjectsWant) {
  // One 4-GPU node; projects a and b (weight 1 each). a1 and b1 (4 GPUs x 100 s) both at 0;
  // FIFO ties on submit time break by id: a1 first, b1 at 100.
  // During [0, 100) b1 waits: demands 4 and 4 GPUs, fair shares 2 and 2; allocations / shares
  // = 2 and 0: Jain = (2 + 0)^2 / (2 x (4 + 0)) = 0.5. After 100 nobody waits: not measured.
  SimJob a1 = Job("a1", 0, 4, 100);
  a1.project = "a";
  SimJob b1 = Job("b1", 0, 4, 100);
  b1.project = "b";
  Trace t = MakeTrace({GpuNode("n0", 4)}, {a1, b1}, {"a", "b"});
  SimReport r = MustSimulate(t, Policy("fifo"));
  ExpectSaneRun(r);
  EXPECT_EQ(Schedule(r), "a1:0-100 b1:100-200");
  EXPECT_DOUBLE_EQ(r.jain_fairness, 0.5);
  EXPECT_DOUBLE_EQ(r.slowdown_by_project.at("a"), 1.0);
  EXPECT_DOUBLE_EQ(r.slowdown_by_project.at("b"), 2.0);
}

// =============================================================================================
// Jobs that can never run

TEST(SimPolicies, SjfOracleRunsTheShortestTrueDurationFirst) {
  // One 4-GPU node. X (50 s) runs from 0; L (500 s) and S (10 s) arrive together at 1 (L
  // first). The oracle knows S is shorter, so S gets the reservation: X, S, L. FIFO with
  // backfill: X, L, S. (Had L arrived alone first, its EASY reservation would stand.)
  Trace t = MakeTrace({GpuNode("n0", 4)},
                      {Job("X", 0, 4, 50), Job("L", 1, 4, 500), Job("S", 1, 4, 10)});
  SimConfig sjf = Policy("sjf-oracle"), fifo = Policy("fifo-backfill");
  sjf.pass_interval = fifo.pass_interval = 1;
  EXPECT_EQ(Schedule(MustSimulate(t, sjf)), "X:0-50 L:60-560 S:50-60");
  EXPECT_EQ(Schedule(MustSimulate(t, fifo)), "X:0-50 L:50-550 S:550-560");
}

TEST(SimUnschedulable, JobThatNoNodeCanHoldLeavesTheQueue) {
  // An 8-GPU job on a 4-GPU cluster can never start: the first pass that sees it (t=5 with
  // pass_interval 1) drops it from the queue and counts it as unschedulable; it is reported,
  // not completed, and is not waiting afterwards (contended time ends at 5).
  Trace t = MakeTrace({GpuNode("n0", 4)}, {Job("ok", 0, 1, 10), Job("big", 5, 8, 10)});
  for (const std::string& p : PolicyNames()) {
    SimConfig c = Policy(p);
    c.pass_interval = 1;
    SimReport r = MustSimulate(t, c);
    EXPECT_EQ(r.jobs, 2) << p;
    EXPECT_EQ(r.completed, 1) << p;
    EXPECT_EQ(r.unschedulable, 1) << p;
    EXPECT_EQ(Schedule(r), "ok:0-10 big:-1--1") << p;
    EXPECT_EQ(r.jct_s.count, 1) << p;
    EXPECT_EQ(r.makespan_s, 10) << p;
    EXPECT_EQ(r.contended_hours, 0) << p;
  }
}

TEST(SimUnschedulable, PeriodicPoliciesTerminate) {
  // Under kumo a waiting job triggers a pass every `period`: a job that can never start must not
  // keep the loop alive. Run in a child process with a 2 s alarm so that a hang fails the test
  // instead of blocking the suite.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Trace t = MakeTrace({GpuNode("n0", 4)}, {Job("ok", 0, 1, 10), Job("big", 5, 8, 10)});
  SimConfig c = Policy("kumo");
  EXPECT_EXIT(
      {
        alarm(2);
        auto r = Simulate(t, c);
        _exit(r.has_value() && r->completed == 1 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// =============================================================================================
// Determinism

TEST(SimDeterminism, SameTraceTwiceGivesIdenticalReports) {
  SyntheticOptions o;
  o.seed = 3;
  o.nodes = 8;
  o.jobs = 120;
  o.arrivals_per_hour = 40;
  o.topology = TopologyOptions{4, 2};
  Trace t = MakeSyntheticTrace(o);
  for (const std::string& p : PolicyNames()) {
    SimConfig c = Policy(p);
    SimReport a = MustSimulate(t, c);
    SimReport b = MustSimulate(t, c);
    ExpectSaneRun(a);
    ASSERT_EQ(a.outcomes.size(), b.outcomes.size()) << p;
    for (size_t i = 0; i < a.outcomes.size(); ++i) {
      EXPECT_EQ(a.outcomes[i].id, b.outcomes[i].id) << p;
      EXPECT_EQ(a.outcomes[i].first_start, b.outcomes[i].first_start)
          << p << " " << a.outcomes[i].id;
      EXPECT_EQ(a.outcomes[i].end, b.outcomes[i].end) << p << " " << a.outcomes[i].id;
      EXPECT_EQ(a.outcomes[i].preemptions, b.outcomes[i].preemptions)
          << p << " " << a.outcomes[i].id;
    }
    EXPECT_EQ(Schedule(a), Schedule(b)) << p;
    EXPECT_EQ(a.jct_s.mean, b.jct_s.mean) << p;
    EXPECT_EQ(a.jct_s.p99, b.jct_s.p99) << p;
    EXPECT_EQ(a.wait_s.mean, b.wait_s.mean) << p;
    EXPECT_EQ(a.gpu_allocation, b.gpu_allocation) << p;
    EXPECT_EQ(a.gpu_allocation_makespan, b.gpu_allocation_makespan) << p;
    EXPECT_EQ(a.jain_fairness, b.jain_fairness) << p;
    EXPECT_EQ(a.makespan_s, b.makespan_s) << p;
    EXPECT_EQ(a.preemptions, b.preemptions) << p;
    EXPECT_EQ(a.gpu_hours_lost, b.gpu_hours_lost) << p;
    EXPECT_EQ(a.passes, b.passes) << p;
    ASSERT_EQ(a.series.size(), b.series.size()) << p;
    for (size_t i = 0; i < a.series.size(); ++i) {
      EXPECT_EQ(a.series[i].t, b.series[i].t) << p;
      EXPECT_EQ(a.series[i].pending_jobs, b.series[i].pending_jobs) << p;
      EXPECT_EQ(a.series[i].allocated_gpu_milli, b.series[i].allocated_gpu_milli) << p;
    }
  }
}

}  // namespace
}  // namespace kumo::sim
