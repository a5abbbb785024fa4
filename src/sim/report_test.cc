// The per-job CSV (JobsToCsv), read back with the simulator's own strict CSV reader.
#include "sim/report.h"

#include <gtest/gtest.h>

#include "sim/csv.h"

namespace kumo::sim {
namespace {

TEST(JobsToCsvTest, OneRowPerJobWithWhereItsTimeWent) {
  SimReport r;
  r.policy = "kumo";
  // Submitted at 100, first started at 160 (waited 60), preempted twice and queued 300 s in
  // all (so 240 s waiting to resume), ended at 1,000.
  JobOutcome a{"job-1", "vc,a", 8000, 100, 160, 1000, 500, 2, 300};
  a.lost_gpu_s = 1234.4;
  // Never started (still pending at the end of the run).
  JobOutcome b{"job-2", "p", 500, 200, -1, -1, 50, 0, 0};
  r.outcomes = {a, b};
  auto table = ParseCsv(JobsToCsv({r}));
  ASSERT_TRUE(table.has_value()) << table.error().message();
  ASSERT_EQ(table->rows.size(), 2u);
  const auto field = [&](size_t row, const char* column) {
    const int c = table->Column(column);
    EXPECT_GE(c, 0) << column;
    return c < 0 ? std::string() : table->rows[row][static_cast<size_t>(c)];
  };
  EXPECT_EQ(field(0, "policy"), "kumo");
  EXPECT_EQ(field(0, "project"), "vc,a");  // quoted, read back whole
  EXPECT_EQ(field(0, "gpus"), "8");
  EXPECT_EQ(field(0, "jct_s"), "900");
  EXPECT_EQ(field(0, "first_wait_s"), "60");
  EXPECT_EQ(field(0, "queued_s"), "300");
  EXPECT_EQ(field(0, "requeued_s"), "240");
  EXPECT_EQ(field(0, "preemptions"), "2");
  EXPECT_EQ(field(0, "lost_gpu_s"), "1234");
  EXPECT_EQ(field(1, "gpus"), "0.5");
  EXPECT_EQ(field(1, "first_start_s"), "-1");
  EXPECT_EQ(field(1, "jct_s"), "-1");
  EXPECT_EQ(field(1, "requeued_s"), "-1");
}

}  // namespace
}  // namespace kumo::sim
