#include "bind_record.h"

#include <gtest/gtest.h>

namespace kumo::bench {
namespace {

TEST(BindRecordTest, FirstSightingsStickAndCountOnce) {
  BindRecord r(3, 0);
  r.Observe(0, true, false, 1.0);
  r.Observe(0, true, false, 2.0);  // a later MODIFIED of the same bound pod
  r.Observe(1, false, false, 1.5);
  r.Observe(2, false, true, 4.0);  // ended without a bind event seen: bound then
  r.Observe(7, true, false, 3.0);  // not one of ours
  LoadSummary s = r.Summarize(5);
  EXPECT_EQ(s.pods, 3);
  EXPECT_EQ(s.bound, 2);
  EXPECT_EQ(s.ended, 1);
  EXPECT_DOUBLE_EQ(s.first_bind_s, 1.0);
  EXPECT_DOUBLE_EQ(s.last_bind_s, 4.0);
  EXPECT_DOUBLE_EQ(s.last_end_s, 4.0);
  EXPECT_EQ(s.partial_pods, 0);  // no gangs
}

TEST(BindRecordTest, GroupBoundWithinGraceIsWhole) {
  // The header's first example: minMember 4, G 5, binds 10.0 10.1 10.1 10.2.
  BindRecord r(4, 4);
  r.Observe(0, true, false, 10.0);
  r.Observe(1, true, false, 10.1);
  r.Observe(2, true, false, 10.1);
  r.Observe(3, true, false, 10.2);
  EXPECT_EQ(r.Summarize(5).partial_pods, 0);
  EXPECT_EQ(r.Summarize(5).partial_groups, 0);
}

TEST(BindRecordTest, PodsWaitingLongerThanGraceForTheirGroupArePartial) {
  // The header's second example: binds 10.0 10.1 10.1 31.0 -> 3 partial pods, 1 group.
  BindRecord r(8, 4);
  r.Observe(0, true, false, 10.0);
  r.Observe(1, true, false, 10.1);
  r.Observe(2, true, false, 10.1);
  r.Observe(3, true, false, 31.0);
  // Group 1: two pods bound, the group never completes: both count.
  r.Observe(4, true, false, 12.0);
  r.Observe(5, true, false, 40.0);
  LoadSummary s = r.Summarize(5);
  EXPECT_EQ(s.partial_pods, 5);
  EXPECT_EQ(s.partial_groups, 2);
  // With a grace long enough to cover group 0's spread only group 1 is partial.
  EXPECT_EQ(r.Summarize(25).partial_pods, 2);
  EXPECT_EQ(r.Summarize(25).partial_groups, 1);
}

TEST(BindRecordTest, GraceBoundaryIsInclusive) {
  BindRecord r(2, 2);
  r.Observe(0, true, false, 1.0);
  r.Observe(1, true, false, 6.0);  // exactly b + G
  EXPECT_EQ(r.Summarize(5).partial_pods, 0);
  EXPECT_EQ(r.Summarize(4.9).partial_pods, 1);
}

TEST(BindRecordTest, PerSecondCountsEachSightingInItsSecond) {
  BindRecord r(3, 0);
  r.ObserveCreated(0, 0.2);
  r.ObserveCreated(1, 0.9);
  r.ObserveCreated(2, 1.1);
  r.ObserveCreated(5, 1.2);          // not one of ours
  r.Observe(0, true, false, 1.5);
  r.Observe(1, true, false, 3.0);    // second 2 has no event: a row of zeros
  r.Observe(0, true, true, 3.5);
  std::vector<SecondCounts> rows = r.PerSecond();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].created, 2);
  EXPECT_EQ(rows[1].created, 1);
  EXPECT_EQ(rows[1].bound, 1);
  EXPECT_EQ(rows[2].second, 2);
  EXPECT_EQ(rows[2].created + rows[2].bound + rows[2].ended, 0);
  EXPECT_EQ(rows[3].bound, 1);
  EXPECT_EQ(rows[3].ended, 1);
}

}  // namespace
}  // namespace kumo::bench
