#include "base/clock.h"

#include <gtest/gtest.h>

namespace kumo {
namespace {

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock c(100.0);
  EXPECT_EQ(c.NowSeconds(), 100.0);
  c.Advance(2.5);
  EXPECT_EQ(c.NowSeconds(), 102.5);
  c.Set(50.0);
  EXPECT_EQ(c.NowSeconds(), 50.0);
}

TEST(ClockTest, SystemClockIsWallTime) {
  double t = SystemClock().NowSeconds();
  EXPECT_GT(t, 1.7e9);  // after 2023-11
  EXPECT_LE(t, SystemClock().NowSeconds());
}

}  // namespace
}  // namespace kumo
