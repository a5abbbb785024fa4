// Ageing around a queue order: the header's worked example, priorities never mixed, and the
// inner order's admissions kept. (The QueueOrder contract runs over it in queue_order_test.cc.)
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "core/queue_order.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

struct Entries {
  std::deque<std::string> ids;
  std::vector<QueueEntry> list;
  Entries& Add(const std::string& id, int32_t priority, int32_t user, Seconds submit) {
    ids.push_back(id);
    QueueEntry e;
    e.job = static_cast<int32_t>(list.size());
    e.priority = priority;
    e.user = user;
    e.submit_time = submit;
    e.id = &ids.back();
    e.request = ResourceVector::Of(0, 0, WholeGpus(1));
    list.push_back(e);
    return *this;
  }
  std::vector<std::string> Drain(QueueOrder& order, Seconds now,
                                 std::vector<ResourceVector> user_usage) const {
    QueueContext ctx;
    ctx.now = now;
    ctx.capacity = ResourceVector::Of(0, 0, WholeGpus(64));
    ctx.project_weight = {1.0};
    ctx.project_usage = {ResourceVector{}};
    ctx.user_usage = std::move(user_usage);
    order.Begin(ctx, list);
    std::vector<std::string> out;
    for (int32_t j = order.Next(); j >= 0 && out.size() <= list.size(); j = order.Next()) {
      out.push_back(ids[static_cast<size_t>(j)]);
      order.Admitted(list[static_cast<size_t>(j)]);
    }
    return out;
  }
};

const ResourceVector kEightGpus = ResourceVector::Of(0, 0, WholeGpus(8));

TEST(AgeingOrder, HeaderWorkedExample) {
  // a (user 0, who uses 8 GPUs) waits since 100; b, c (users 1, 2: nothing) since 900, 950.
  Entries q;
  q.Add("a", 0, 0, 100).Add("b", 0, 1, 900).Add("c", 0, 2, 950);
  const std::vector<ResourceVector> usage = {kEightGpus, {}, {}};
  EXPECT_EQ(q.Drain(*MakeDrfOrder(), 1000, usage), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeDrfOrder(), 600), 1000, usage),
            (std::vector<std::string>{"a", "b", "c"}));
  // At t=699 a has waited 599 s < 600: not aged yet.
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeDrfOrder(), 600), 699, usage),
            (std::vector<std::string>{"b", "c", "a"}));
}

TEST(AgeingOrder, AgedJobsNeverPassHigherPriorityAndGoOldestFirst) {
  // hi (priority 5, fresh); old1, old2 (priority 0, aged; old2 is older); new (priority 0, fresh);
  // low (priority -1, aged).
  Entries q;
  q.Add("new", 0, 0, 990).Add("hi", 5, 1, 995).Add("old1", 0, 2, 50).Add("old2", 0, 3, 10)
      .Add("low", -1, 4, 0);
  auto order = MakeAgeingOrder(MakeFifoOrder(), 100);
  EXPECT_EQ(q.Drain(*order, 1000, std::vector<ResourceVector>(5)),
            (std::vector<std::string>{"hi", "old2", "old1", "new", "low"}));
}

TEST(AgeingOrder, AdmissionsOfAgedJobsCountInTheInnerFairShare) {
  // Users 0 and 1 start equal. Aged a0 (user 0) is admitted first; DRF then prefers user 1's
  // b1 over user 0's a1 (user 0 now holds 1 GPU), although a1 was submitted earlier.
  Entries q;
  q.Add("a0", 0, 0, 0).Add("a1", 0, 0, 500).Add("b1", 0, 1, 600);
  auto order = MakeAgeingOrder(MakeDrfOrder(), 800);
  EXPECT_EQ(q.Drain(*order, 1000, std::vector<ResourceVector>(2)),
            (std::vector<std::string>{"a0", "b1", "a1"}));
}

TEST(AgeingOrder, NegativeThresholdIsRejectedByTheScheduler) {
  SchedulerConfig cfg;
  cfg.age_after_s = -1;
  auto s = Scheduler::Create(cfg);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message(), "age_after_s must be >= 0");
}

}  // namespace
}  // namespace kumo::core
