// "drf-predicted": the header's worked example, fewest GPUs first when predictions tie, DRF's
// shares still deciding between users, no ageing at relative_age 0, and the ageing bound against
// a stream of newcomers.
#include "core/queue_order_predicted.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

ResourceVector Gpus(int64_t g) { return ResourceVector::Of(0, 0, WholeGpus(g)); }

// Pending jobs with stable ids (QueueEntry::id must outlive the pass).
struct Pending {
  std::deque<std::string> ids;
  std::vector<QueueEntry> entries;
  Pending& Add(const std::string& id, int32_t user, int64_t gpus, Seconds submit,
               Seconds predicted = kNever) {
    ids.push_back(id);
    QueueEntry e;
    e.job = static_cast<int32_t>(entries.size());
    e.user = user;
    e.submit_time = submit;
    e.id = &ids.back();
    e.request = Gpus(gpus);
    e.predicted_runtime = predicted;
    entries.push_back(e);
    return *this;
  }
  std::vector<std::string> Order(const QueueContext& ctx) const {
    auto order = MakeDrfPredictedOrder();
    order->Begin(ctx, entries);
    std::vector<std::string> out;
    for (int32_t j = order->Next(); j >= 0 && out.size() <= entries.size(); j = order->Next()) {
      out.push_back(ids[static_cast<size_t>(j)]);
      order->Admitted(entries[static_cast<size_t>(j)]);
    }
    return out;
  }
};

QueueContext Ctx(Seconds now, int32_t users = 1, double relative_age = 2.0) {
  QueueContext ctx;
  ctx.now = now;
  ctx.capacity = Gpus(64);
  ctx.project_weight = {1.0};
  ctx.project_usage = {ResourceVector{}};
  ctx.user_usage.assign(static_cast<size_t>(users), ResourceVector{});
  ctx.relative_age = relative_age;
  return ctx;
}

TEST(DrfPredicted, HeaderWorkedExample) {
  Pending p;
  p.Add("a", 0, 8, 90, 100).Add("b", 0, 32, 0, 100).Add("c", 0, 4, 95);
  // Median wait of {10, 100, 5} = 10 -> horizon 20. a: 0.125 x 100 x (1 - 10/20) = 6.25;
  // b: waited 100 >= 20 -> 0; c: no prediction, not aged -> infinite.
  std::vector<double> work = internal::AgedPredictedWork(Ctx(100), p.entries);
  EXPECT_DOUBLE_EQ(work[0], 6.25);
  EXPECT_DOUBLE_EQ(work[1], 0.0);
  EXPECT_TRUE(std::isinf(work[2]));
  EXPECT_EQ(p.Order(Ctx(100)), (std::vector<std::string>{"b", "a", "c"}));
  // b submitted at 90 too: waits {10, 10, 5}, median 10 -> b: 0.5 x 100 x 0.5 = 25 > 6.25.
  p.entries[1].submit_time = 90;
  EXPECT_EQ(p.Order(Ctx(100)), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(DrfPredicted, EqualPredictionsServeFewestGpusFirstThenSubmitOrder) {
  // One user whose history predicts 60 s for every job (the held-out Slurm slice: one user,
  // all limits alike): a burst that waits alike goes 4-GPU jobs first, then 8, then 32.
  Pending p;
  p.Add("g32", 0, 32, 0, 60).Add("g8a", 0, 8, 1, 60).Add("g4a", 0, 4, 2, 60)
      .Add("g8b", 0, 8, 3, 60).Add("g4b", 0, 4, 4, 60);
  EXPECT_EQ(p.Order(Ctx(10)), (std::vector<std::string>{"g4a", "g4b", "g8a", "g8b", "g32"}));
}

TEST(DrfPredicted, SharesStillDecideBetweenUsers) {
  // User 1 already runs 32 GPUs: user 0's big job goes before user 1's small one, as in "drf";
  // only inside each user's queue does predicted work decide.
  Pending p;
  p.Add("u0-big", 0, 16, 0, 100).Add("u0-small", 0, 1, 0, 100).Add("u1-small", 1, 1, 0, 10);
  QueueContext ctx = Ctx(1, 2);
  ctx.project_usage = {Gpus(32)};
  ctx.user_usage[1] = Gpus(32);
  EXPECT_EQ(p.Order(ctx), (std::vector<std::string>{"u0-small", "u0-big", "u1-small"}));
}

TEST(DrfPredicted, RelativeAgeZeroNeverAges) {
  Pending p;
  p.Add("old-big", 0, 32, 0, 100).Add("new-small", 0, 4, 990, 100).Add("new-small2", 0, 4, 995, 100);
  EXPECT_EQ(p.Order(Ctx(1000, 1, 0.0)),
            (std::vector<std::string>{"new-small", "new-small2", "old-big"}));
  EXPECT_EQ(p.Order(Ctx(1000, 1, 2.0)),
            (std::vector<std::string>{"old-big", "new-small", "new-small2"}));
}

TEST(DrfPredicted, ABigJobPassedOverByAStreamOfNewcomersAgesToTheFront) {
  // Every 10 s a pass sees the big job (submitted at 0) and five small newcomers that have
  // waited 0..8 s: the median wait stays 4 s, so once the big job has waited 2 x 4 = 8 s it is
  // first, and stays first at every later pass.
  Seconds first_at = -1;
  for (Seconds now = 0; now <= 200; now += 10) {
    Pending p;
    p.Add("big", 0, 32, 0, 1000);
    for (int k = 0; k < 5; ++k) p.Add("s" + std::to_string(k), 0, 1, now - 2 * k, 10);
    const bool first = p.Order(Ctx(now)).front() == "big";
    if (first && first_at < 0) first_at = now;
    if (first_at >= 0) {
      ASSERT_TRUE(first) << "lost the front again at " << now;
    }
  }
  EXPECT_EQ(first_at, 10);  // at now 0 it has not waited; at 10 it has waited 10 >= 8
}

}  // namespace
}  // namespace kumo::core
