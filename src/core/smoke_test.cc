#include <gtest/gtest.h>

#include "core/scheduler.h"
#include "workload/demo.h"

TEST(Smoke, DemoRuns) {
  auto s = kumo::core::Scheduler::Create({});
  ASSERT_TRUE(s.has_value());
  auto d = s->Schedule(kumo::workload::DemoSnapshot());
  ASSERT_TRUE(d.has_value());
}
