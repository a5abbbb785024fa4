// The worked examples of docs/scheduling.md, asserted: if the docs and the core disagree, this
// fails.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/queue_order.h"
#include "core/scheduler.h"
#include "workload/demo.h"

namespace kumo::core {
namespace {

Node EightGpuNode(const std::string& name) {
  Node n;
  n.name = name;
  n.allocatable = ResourceVector::Of(64'000, 512LL << 30, 0);
  for (int i = 0; i < 8; ++i) n.gpus.push_back(Gpu{i, "H100", i / 4});
  return n;
}

Job OneTaskJob(const std::string& id, int replicas, int gpus, Seconds submit, Seconds max_runtime) {
  Job j;
  j.id = id;
  j.project = "p";
  j.user = "u";
  j.submit_time = submit;
  j.max_runtime = max_runtime;
  TaskGroup g;
  g.name = "worker";
  g.replicas = replicas;
  g.resources = ResourceVector::Of(1000, 1LL << 30, gpus * 1000LL);
  j.groups.push_back(g);
  return j;
}

Job RunningOn(const std::string& id, const std::string& node, Seconds start, Seconds max_runtime) {
  Job j = OneTaskJob(id, 1, 8, start, max_runtime);
  j.phase = JobPhase::kRunning;
  j.start_time = start;
  TaskPlacement tp;
  tp.node = node;
  for (int i = 0; i < 8; ++i) tp.gpus.push_back(GpuShare{i, 1000});
  j.placements.push_back(tp);
  return j;
}

const WaitExplanation* WaitOf(const Decisions& d, const std::string& job) {
  for (const auto& w : d.waiting)
    if (w.job == job) return &w;
  return nullptr;
}

TEST(DocsExamples, DrfArithmetic) {
  // Section 2: capacity 64 GPUs, 1024 cores.
  ResourceVector cap = ResourceVector::Of(1'024'000, 0, 64'000);
  EXPECT_DOUBLE_EQ(WeightedDominantShare(ResourceVector::Of(256'000, 0, 8'000), cap, 1), 0.25);
  EXPECT_DOUBLE_EQ(WeightedDominantShare(ResourceVector::Of(96'000, 0, 12'000), cap, 3), 0.0625);
  // After five 8-GPU, 64-core admissions b's share (0.271) passes a's (0.25).
  EXPECT_LT(WeightedDominantShare(ResourceVector::Of(352'000, 0, 44'000), cap, 3), 0.25);
  EXPECT_GT(WeightedDominantShare(ResourceVector::Of(416'000, 0, 52'000), cap, 3), 0.25);
}

TEST(DocsExamples, DemoPreemption) {
  auto s = Scheduler::Create({});
  ASSERT_TRUE(s.has_value());
  auto d = s->Schedule(workload::DemoSnapshot());
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->preemptions.size(), 2u);
  EXPECT_EQ(d->preemptions[0].victim, "speech-tts");
  EXPECT_EQ(d->preemptions[0].preemptor, "vision-urgent");
  EXPECT_EQ(d->preemptions[0].reason, PreemptionReason::kPriority);
  // Section 5, reclaim: vision (guaranteed 40) takes back nlp's borrowed sweep-3.
  EXPECT_EQ(d->preemptions[1].victim, "nlp-sweep-3");
  EXPECT_EQ(d->preemptions[1].preemptor, "vision-train");
  EXPECT_EQ(d->preemptions[1].reason, PreemptionReason::kReclaim);
  // Section 6: nlp-big holds the reservation; nlp-long would delay it; nlp-quick backfills.
  ASSERT_EQ(d->reservations.size(), 1u);
  EXPECT_EQ(d->reservations[0].job, "nlp-big");
  EXPECT_EQ(d->reservations[0].start_time, 7300);
  ASSERT_NE(WaitOf(*d, "nlp-long"), nullptr);
  EXPECT_EQ(WaitOf(*d, "nlp-long")->reason, WaitReason::kWouldDelayReservation);
  ASSERT_EQ(d->starts.size(), 2u);
  EXPECT_EQ(d->starts[0].job, "vision-notebook");
  EXPECT_EQ(d->starts[0].tasks[0].gpus, (std::vector<GpuShare>{{6, 500}}));
  EXPECT_EQ(d->starts[1].job, "nlp-quick");
  EXPECT_TRUE(d->starts[1].backfilled);
  const WaitExplanation* w = WaitOf(*d, "vision-urgent");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->reason, WaitReason::kWaitingForPreemption);
  const WaitExplanation* q = WaitOf(*d, "speech-more");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->reason, WaitReason::kQuotaMax);
  EXPECT_EQ(q->message,
            "project \"speech\" would exceed its max gpu quota: 6 GPUs in use + 4 GPUs requested > "
            "8 GPUs");
}

Snapshot BackfillCluster(Seconds now, bool r1_running) {
  Snapshot s;
  s.now = now;
  for (int i = 0; i < 4; ++i) s.nodes.push_back(EightGpuNode("n" + std::to_string(i)));
  s.projects.push_back(Project{"p", 1.0, {}, ResourceVector::Filled(kUnlimited)});
  if (r1_running) s.jobs.push_back(RunningOn("r1", "n0", 0, 500));
  s.jobs.push_back(RunningOn("r2", "n1", 0, 900));
  s.jobs.push_back(RunningOn("r3", "n2", 0, 10'000));
  s.jobs.push_back(RunningOn("r4", "n3", 0, 10'000));
  s.jobs.push_back(OneTaskJob("big", 2, 8, 1, 3600));
  s.jobs.push_back(OneTaskJob("long", 1, 8, 2, 3600));
  s.jobs.push_back(OneTaskJob("short", 1, 8, 3, 400));
  return s;
}

TEST(DocsExamples, Backfill) {
  SchedulerConfig cfg;
  cfg.queue_order = "fifo";
  auto s = Scheduler::Create(cfg);
  ASSERT_TRUE(s.has_value());
  // t=0: everything busy; big is reserved for t=900 on n0 and n1.
  auto d0 = s->Schedule(BackfillCluster(0, true));
  ASSERT_TRUE(d0.has_value());
  ASSERT_EQ(d0->reservations.size(), 1u);
  EXPECT_EQ(d0->reservations[0].job, "big");
  EXPECT_EQ(d0->reservations[0].start_time, 900);
  std::vector<std::string> nodes;
  for (const auto& t : d0->reservations[0].tasks) nodes.push_back(t.node);
  std::sort(nodes.begin(), nodes.end());
  EXPECT_EQ(nodes, (std::vector<std::string>{"n0", "n1"}));
  EXPECT_TRUE(d0->starts.empty());

  // t=500: r1 has ended; its node is held for big. long would delay it, short backfills.
  auto d1 = s->Schedule(BackfillCluster(500, false));
  ASSERT_TRUE(d1.has_value());
  ASSERT_EQ(d1->reservations.size(), 1u);
  EXPECT_EQ(d1->reservations[0].start_time, 900);
  const WaitExplanation* w = WaitOf(*d1, "long");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->reason, WaitReason::kWouldDelayReservation);
  ASSERT_EQ(d1->starts.size(), 1u);
  EXPECT_EQ(d1->starts[0].job, "short");
  EXPECT_TRUE(d1->starts[0].backfilled);
  EXPECT_EQ(d1->starts[0].tasks[0].node, "n0");
}

}  // namespace
}  // namespace kumo::core
