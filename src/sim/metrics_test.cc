// SimMetrics on hand-made usage timelines, with the integrals worked out in the comments.
#include "sim/metrics.h"

#include <gtest/gtest.h>

namespace kumo::sim {
namespace {

TEST(FairSharesTest, WaterFillingByWeight) {
  // Capacity 10: project 0 wants only 2 and takes it; the other 8 split 1:2 by weight.
  std::vector<double> s = FairShares({2, 20, 20}, {1, 1, 2}, 10);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0], 2);
  EXPECT_DOUBLE_EQ(s[1], 8.0 / 3);
  EXPECT_DOUBLE_EQ(s[2], 16.0 / 3);
  // Enough for everyone: each gets its demand; no demand, no share.
  EXPECT_EQ(FairShares({3, 0, 4}, {1, 1, 1}, 100), (std::vector<double>{3, 0, 4}));
}

TEST(GangClassTest, Boundaries) {
  EXPECT_STREQ(GangClass(500), "1");
  EXPECT_STREQ(GangClass(1000), "1");
  EXPECT_STREQ(GangClass(2000), "2-8");
  EXPECT_STREQ(GangClass(8000), "2-8");
  EXPECT_STREQ(GangClass(9000), "9-32");
  EXPECT_STREQ(GangClass(33000), ">32");
}

// 8 GPUs, arrivals over [0, 100]. Project 0 holds 4 GPUs over [0, 200]; a job of project 1
// (4 GPUs) waits over [0, 50], then runs over [50, 150].
TEST(SimMetricsTest, AllocationOverTheArrivalWindowMakespanAndContention) {
  SimMetrics m(0, 100, 8000, {1, 1});
  m.Holds(0, 4000);
  m.StartsWaiting(1, 4000);
  m.Advance(0, 50);
  m.StopsWaiting(1, 4000);
  m.Holds(1, 4000);
  m.Sample(50);
  m.Advance(50, 150);
  m.Releases(1, 4000);
  m.Advance(150, 200);
  m.Releases(0, 4000);
  m.Completed(JobOutcome{"a", "p0", 4000, 0, 0, 200, 200, 0});
  m.Completed(JobOutcome{"b", "p1", 4000, 0, 50, 150, 100, 0});
  SimReport rep;
  m.Finish(rep);
  // Window [0, 100]: 4 GPUs over [0, 50], 8 over [50, 100] -> (4x50 + 8x50) / (8x100) = 0.75.
  EXPECT_DOUBLE_EQ(rep.gpu_allocation, 0.75);
  // Makespan 200: (4x50 + 8x100 + 4x50) / (8x200) = 0.75.
  EXPECT_EQ(rep.makespan_s, 200);
  EXPECT_DOUBLE_EQ(rep.gpu_allocation_makespan, 0.75);
  // Contended while b waited, [0, 50]: 4 of 8 GPUs.
  EXPECT_DOUBLE_EQ(rep.gpu_allocation_contended, 0.5);
  EXPECT_DOUBLE_EQ(rep.contended_hours, 50.0 / 3600);
  // While b waited, project 0 had 4 GPUs (fair share 4: x = 1) and project 1 none (x = 0):
  // Jain = (1 + 0)^2 / (2 x (1 + 0)) = 0.5.
  EXPECT_DOUBLE_EQ(rep.jain_fairness, 0.5);
  EXPECT_DOUBLE_EQ(rep.jct_s.mean, 175);  // (200 + 150) / 2
  EXPECT_DOUBLE_EQ(rep.wait_s.mean, 25);
  EXPECT_DOUBLE_EQ(rep.slowdown_by_project["p1"], 1.5);
  EXPECT_EQ(rep.jct_by_class["2-8"].count, 2);
  ASSERT_EQ(rep.series.size(), 1u);
  EXPECT_EQ(rep.series[0].pending_jobs, 0);
  EXPECT_EQ(rep.series[0].allocated_gpu_milli, 8000);
}

TEST(SimMetricsTest, NothingMeasuredGivesNeutralFigures) {
  SimMetrics m(10, 10, 8000, {1});
  SimReport rep;
  m.Finish(rep);
  EXPECT_EQ(rep.makespan_s, 0);
  EXPECT_DOUBLE_EQ(rep.gpu_allocation, 0);
  EXPECT_DOUBLE_EQ(rep.jain_fairness, 1.0);
  EXPECT_EQ(rep.passes, 0);
}

}  // namespace
}  // namespace kumo::sim
