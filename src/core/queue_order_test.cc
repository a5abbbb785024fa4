// QueueOrder: the contract every order keeps (typed test over fifo, drf, shortest, drf with
// ageing and drf-predicted), the DRF arithmetic (weighted dominant share across projects, user share inside a
// project, shares updated by Admitted()), ageing's own cases, and WeightedDominantShare worked
// examples.
#include "core/queue_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "core/test_util.h"

namespace kumo::core {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace)

// Capacity used throughout: 64 GPUs and 1,024 cores (the docs' worked example).
ResourceVector Capacity() { return ResourceVector::Of(Cores(1024), 0, WholeGpus(64)); }
ResourceVector Use(int64_t gpus, int64_t cores = 0) {
  return ResourceVector::Of(Cores(cores), 0, WholeGpus(gpus));
}

// A set of pending entries with stable id strings (QueueEntry::id must outlive the pass).
class Queue {
 public:
  // Adds a job; its dense index is its position.
  Queue& Add(const std::string& id, int32_t priority, int32_t project, int32_t user, Seconds submit,
             ResourceVector request = Use(1)) {
    ids_.push_back(id);
    QueueEntry e;
    e.job = static_cast<int32_t>(entries_.size());
    e.priority = priority;
    e.project = project;
    e.user = user;
    e.submit_time = submit;
    e.id = &ids_.back();
    e.request = request;
    entries_.push_back(e);
    return *this;
  }
  // Sets the last added job's predicted runtime (QueueEntry::predicted_runtime).
  Queue& Predict(Seconds runtime_s) {
    entries_.back().predicted_runtime = runtime_s;
    return *this;
  }
  const std::vector<QueueEntry>& entries() const { return entries_; }
  const std::string& id(int32_t job) const { return ids_[static_cast<size_t>(job)]; }

  // Begins a pass over the entries (in `input` order if given) and drains Next(); when `admit`,
  // every returned job is reported Admitted() before the next call. Returns ids in order.
  std::vector<std::string> Drain(QueueOrder& order, const QueueContext& ctx, bool admit,
                                 std::vector<QueueEntry> input = {}) const {
    if (input.empty()) input = entries_;
    order.Begin(ctx, std::move(input));
    std::vector<std::string> out;
    for (int32_t j = order.Next(); j >= 0; j = order.Next()) {
      out.push_back(id(j));
      if (admit) order.Admitted(entries_[static_cast<size_t>(j)]);
      if (out.size() > entries_.size() + 1) break;  // a broken order must not loop forever
    }
    return out;
  }

 private:
  std::deque<std::string> ids_;  // stable addresses
  std::vector<QueueEntry> entries_;
};

QueueContext Context(std::vector<double> weights, std::vector<ResourceVector> project_usage,
                     std::vector<ResourceVector> user_usage, ResourceVector capacity = Capacity()) {
  QueueContext ctx;
  ctx.capacity = capacity;
  ctx.project_weight = std::move(weights);
  ctx.project_usage = std::move(project_usage);
  ctx.user_usage = std::move(user_usage);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Contract: every QueueOrder

struct FifoOrderType {
  static std::unique_ptr<QueueOrder> Make() { return MakeFifoOrder(); }
  static constexpr const char* kName = "fifo";
};
struct DrfOrderType {
  static std::unique_ptr<QueueOrder> Make() { return MakeDrfOrder(); }
  static constexpr const char* kName = "drf";
};
struct ShortestOrderType {
  static std::unique_ptr<QueueOrder> Make() { return MakeShortestOrder(); }
  static constexpr const char* kName = "shortest";
};
struct DrfPredictedOrderType {
  static std::unique_ptr<QueueOrder> Make() { return MakeDrfPredictedOrder(); }
  static constexpr const char* kName = "drf-predicted";
};

template <typename T>
class QueueOrderContract : public ::testing::Test {};

struct OrderNames {
  template <typename T>
  static std::string GetName(int i) {
    std::string name = std::string(T::kName) + (i == 3 ? "_aged" : "");  // AgedDrf is "drf" too
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  }
};
// DRF with ageing (queue_order_ageing.cc): in MixedContext (now 100) the jobs submitted at or
// before t=70 are aged, so the contract is tested with aged and fresh jobs mixed.
struct AgedDrfOrderType {
  static std::unique_ptr<QueueOrder> Make() { return MakeAgeingOrder(MakeDrfOrder(), 30); }
  static constexpr const char* kName = "drf";
};
using AllOrders =
    ::testing::Types<FifoOrderType, DrfOrderType, ShortestOrderType, AgedDrfOrderType,
                     DrfPredictedOrderType>;
TYPED_TEST_SUITE(QueueOrderContract, AllOrders, OrderNames);

// A mixed queue: 3 projects (project 2 weight 4), 4 users, 3 priorities, varied submit times and
// usage, so that fair share, submit time and priority disagree with each other.
Queue MixedQueue() {
  Queue q;
  q.Add("j00", 0, 0, 0, 10, Use(8))
      .Add("j01", 5, 1, 2, 90, Use(2))
      .Predict(50)
      .Add("j02", 0, 2, 3, 5, Use(4, 100))
      .Add("j03", -1, 0, 1, 0, Use(1))
      .Add("j04", 5, 0, 0, 80, Use(16))
      .Add("j05", 0, 1, 2, 10, Use(8))
      .Add("j06", 0, 0, 1, 10, Use(1))
      .Add("j07", 5, 2, 3, 95, Use(1))
      .Add("j08", -1, 2, 3, 1, Use(2))
      .Add("j09", 0, 1, 2, 3, Use(4))
      .Predict(500)
      .Add("j10", 0, 0, 0, 3, Use(4))
      .Predict(20)
      .Add("j11", 5, 1, 2, 90, Use(2))  // same submit time as j01: id breaks the tie
      .Add("j12", 0, 2, 3, 40, Use(1))
      .Add("j13", -1, 1, 2, 2, Use(8));
  return q;
}
QueueContext MixedContext() {
  QueueContext ctx = Context({1.0, 1.0, 4.0}, {Use(8), Use(2, 300), Use(32)},
                             {Use(6), Use(2), Use(2, 300), Use(32)});
  ctx.now = 100;
  return ctx;
}

TYPED_TEST(QueueOrderContract, NameMatchesFactory) {
  auto order = TypeParam::Make();
  EXPECT_EQ(order->name(), TypeParam::kName);
  auto by_name = MakeQueueOrder(TypeParam::kName);
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ((*by_name)->name(), TypeParam::kName);
}

TYPED_TEST(QueueOrderContract, EmptyQueueReturnsMinusOne) {
  auto order = TypeParam::Make();
  order->Begin(Context({1.0}, {Use(0)}, {}), {});
  EXPECT_EQ(order->Next(), -1);
  EXPECT_EQ(order->Next(), -1);
}

TYPED_TEST(QueueOrderContract, HigherPriorityFirst) {
  // Whatever the shares and submit times, priorities come out non-increasing:
  // 4 jobs of priority 5, then 7 of priority 0, then 3 of priority -1.
  const Queue q = MixedQueue();
  std::map<std::string, int32_t> prio;
  for (const QueueEntry& e : q.entries()) prio[*e.id] = e.priority;
  for (bool admit : {false, true}) {
    auto order = TypeParam::Make();
    std::vector<std::string> got = q.Drain(*order, MixedContext(), admit);
    std::vector<int32_t> priorities;
    for (const auto& id : got) priorities.push_back(prio[id]);
    EXPECT_EQ(priorities, (std::vector<int32_t>{5, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1}))
        << "admit=" << admit;
  }
}

TYPED_TEST(QueueOrderContract, EveryEntryReturnedExactlyOnce) {
  const Queue q = MixedQueue();
  for (bool admit : {false, true}) {
    auto order = TypeParam::Make();
    std::vector<std::string> got = q.Drain(*order, MixedContext(), admit);
    ASSERT_EQ(got.size(), q.entries().size()) << "admit=" << admit;
    std::set<std::string> distinct(got.begin(), got.end());
    EXPECT_EQ(distinct.size(), q.entries().size());
    // Exhausted: keeps answering -1.
    EXPECT_EQ(order->Next(), -1);
    EXPECT_EQ(order->Next(), -1);
  }
}

TYPED_TEST(QueueOrderContract, DeterministicAndIndependentOfInputOrder) {
  const Queue q = MixedQueue();
  for (bool admit : {false, true}) {
    auto first = TypeParam::Make();
    auto second = TypeParam::Make();
    std::vector<std::string> a = q.Drain(*first, MixedContext(), admit);
    std::vector<std::string> b = q.Drain(*second, MixedContext(), admit);
    EXPECT_EQ(a, b);
    // The same instance, Begin() again with the entries reversed and rotated: same order.
    std::vector<QueueEntry> reversed(q.entries().rbegin(), q.entries().rend());
    std::rotate(reversed.begin(), reversed.begin() + 5, reversed.end());
    EXPECT_EQ(q.Drain(*first, MixedContext(), admit, reversed), a) << "admit=" << admit;
  }
}

TYPED_TEST(QueueOrderContract, OneUserIsSubmitTimeThenId) {
  // One project, one user, one priority, no predictions: every order reduces to (submit time,
  // id).
  //   a@10, c@10, b@30, d@40  (a and c tie on time: "a" < "c")
  Queue q;
  q.Add("b", 0, 0, 0, 30).Add("d", 0, 0, 0, 40).Add("c", 0, 0, 0, 10).Add("a", 0, 0, 0, 10);
  auto order = TypeParam::Make();
  EXPECT_EQ(q.Drain(*order, Context({1.0}, {Use(0)}, {Use(0)}), /*admit=*/true),
            (std::vector<std::string>{"a", "c", "b", "d"}));
}

TYPED_TEST(QueueOrderContract, BeginStartsAFreshPass) {
  Queue q1;
  q1.Add("x", 0, 0, 0, 0).Add("y", 0, 0, 0, 1);
  auto order = TypeParam::Make();
  order->Begin(Context({1.0}, {Use(0)}, {Use(0)}), q1.entries());
  EXPECT_EQ(order->Next(), 0);  // "x" is returned; "y" never is: the pass is abandoned
  Queue q2;
  q2.Add("z", 0, 0, 0, 5);
  EXPECT_EQ(q2.Drain(*order, Context({1.0}, {Use(0)}, {Use(0)}), true),
            std::vector<std::string>{"z"});
}

TEST(QueueOrderFactory, UnknownNameIsAnError) {
  auto order = MakeQueueOrder("lifo");
  ASSERT_FALSE(order.has_value());
  EXPECT_EQ(order.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(order.error().message(), "unknown queue order \"lifo\" (known: fifo, drf, shortest, drf-predicted)");
}

// ---------------------------------------------------------------------------------------------
// fifo specifics

TEST(FifoOrder, IgnoresSharesAndAdmission) {
  // Project 0 holds 60 of 64 GPUs, project 1 nothing: fifo still goes by submit time.
  Queue q;
  q.Add("rich-old", 0, 0, 0, 1, Use(8))
      .Add("poor-new", 0, 1, 1, 2, Use(8))
      .Add("rich-newer", 0, 0, 0, 3);
  auto order = MakeFifoOrder();
  auto ctx = Context({1.0, 1.0}, {Use(60), Use(0)}, {Use(60), Use(0)});
  EXPECT_EQ(q.Drain(*order, ctx, true),
            (std::vector<std::string>{"rich-old", "poor-new", "rich-newer"}));
}

// ---------------------------------------------------------------------------------------------
// shortest specifics

TEST(ShortestOrder, ShortestMaxRuntimeFirstWithinPriorityNoneLast) {
  Queue q;
  q.Add("long", 0, 0, 0, 1).Add("none", 0, 0, 0, 0).Add("short", 0, 0, 0, 3).Add("urgent", 5, 0, 0, 9);
  std::vector<QueueEntry> entries = q.entries();
  entries[0].max_runtime = 7200;
  entries[2].max_runtime = 600;
  entries[3].max_runtime = 86400;
  auto order = MakeShortestOrder();
  EXPECT_EQ(q.Drain(*order, Context({1.0}, {Use(0)}, {Use(0)}), true, entries),
            (std::vector<std::string>{"urgent", "short", "long", "none"}));
}

// ---------------------------------------------------------------------------------------------
// drf specifics

TEST(DrfOrder, LowestWeightedDominantShareFirst) {
  // The header's example. Capacity 64 GPUs.
  //   a (project 0, weight 1) uses  8 GPUs: share  8/64/1 = 0.125
  //   b (project 1, weight 3) uses 12 GPUs: share 12/64/3 = 0.0625   -> b first,
  // although a's job was submitted earlier and a has the lower index.
  Queue q;
  q.Add("a1", 0, 0, 0, 0, Use(8)).Add("b1", 0, 1, 1, 100, Use(8));
  auto order = MakeDrfOrder();
  auto ctx = Context({1.0, 3.0}, {Use(8), Use(12)}, {Use(8), Use(12)});
  EXPECT_EQ(q.Drain(*order, ctx, false), (std::vector<std::string>{"b1", "a1"}));
}

TEST(DrfOrder, SharesAreUpdatedByAdmitted) {
  // Same projects; every job asks 8 GPUs. With Admitted() after each job:
  //   b1: b 0.0625 < a 0.125 -> b1;  b becomes 20/64/3 = 0.104
  //   b2: 0.104 < 0.125       -> b2;  b becomes 28/64/3 = 0.146
  //   a1: 0.125 < 0.146       -> a1;  a becomes 16/64/1 = 0.25
  //   b3: 0.146 < 0.25        -> b3;  b becomes 36/64/3 = 0.1875
  //   a2: only a is left.
  Queue q;
  q.Add("a1", 0, 0, 0, 0, Use(8))
      .Add("a2", 0, 0, 0, 1, Use(8))
      .Add("b1", 0, 1, 1, 10, Use(8))
      .Add("b2", 0, 1, 1, 11, Use(8))
      .Add("b3", 0, 1, 1, 12, Use(8));
  auto ctx = Context({1.0, 3.0}, {Use(8), Use(12)}, {Use(8), Use(12)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, /*admit=*/true),
            (std::vector<std::string>{"b1", "b2", "a1", "b3", "a2"}));
  // Without Admitted() the shares never move: b's 0.0625 stays below a's 0.125 throughout.
  EXPECT_EQ(q.Drain(*order, ctx, /*admit=*/false),
            (std::vector<std::string>{"b1", "b2", "b3", "a1", "a2"}));
}

TEST(DrfOrder, DominantResourceIsTheLargestFraction) {
  // docs/scheduling.md section 2. Capacity 64 GPUs, 1,024 cores.
  //   a (weight 1): 8 GPUs, 256 cores -> max(8/64, 256/1024)/1 = max(0.125, 0.25) = 0.25 (cpu)
  //   b (weight 3): 12 GPUs, 96 cores -> max(12/64, 96/1024)/3 = 0.1875/3 = 0.0625 (gpu)
  // b's jobs ask 8 GPUs + 64 cores each. b's share after k admissions, (12+8k)/64/3:
  //   k=1 0.104, k=2 0.146, k=3 0.1875, k=4 0.229 (all < 0.25), k=5 0.271 > 0.25.
  // So b goes five times, then a; a's job (8 GPUs, 64 cores) lifts a to
  // max(16/64, 320/1024) = 0.3125 > 0.271, and b's sixth goes last.
  Queue q;
  q.Add("a1", 0, 0, 0, 0, Use(8, 64));
  for (int i = 1; i <= 6; ++i) q.Add("b" + std::to_string(i), 0, 1, 1, 10 + i, Use(8, 64));
  auto ctx = Context({1.0, 3.0}, {Use(8, 256), Use(12, 96)}, {Use(8, 256), Use(12, 96)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, true),
            (std::vector<std::string>{"b1", "b2", "b3", "b4", "b5", "a1", "b6"}));
}

TEST(DrfOrder, WeightDividesTheShare) {
  //   a (weight 2) uses 16 GPUs: 16/64/2 = 0.125
  //   b (weight 1) uses 10 GPUs: 10/64/1 = 0.156   -> a first despite using more.
  Queue q;
  q.Add("b1", 0, 1, 1, 0).Add("a1", 0, 0, 0, 5);
  auto order = MakeDrfOrder();
  auto ctx = Context({2.0, 1.0}, {Use(16), Use(10)}, {Use(16), Use(10)});
  EXPECT_EQ(q.Drain(*order, ctx, false), (std::vector<std::string>{"a1", "b1"}));
}

TEST(DrfOrder, UsersInsideAProjectByTheirDominantShare) {
  // One project. u0 (user 0) uses 16 GPUs: 16/64 = 0.25; u1 (user 1) uses 4: 4/64 = 0.0625.
  // User shares are not weighted by the project's weight (here 2, it changes nothing).
  //   x1 (u1, 16 GPUs): u1 0.0625 < u0 0.25 -> x1; u1 becomes 20/64 = 0.3125
  //   y1 (u0,  8 GPUs): u0 0.25 < 0.3125     -> y1; u0 becomes 24/64 = 0.375
  //   x2 (u1)         : 0.3125 < 0.375       -> x2
  // y1 was submitted first; without Admitted() u1 stays lower: x1, x2, y1.
  Queue q;
  q.Add("y1", 0, 0, 0, 0, Use(8)).Add("x1", 0, 0, 1, 5, Use(16)).Add("x2", 0, 0, 1, 6, Use(8));
  auto ctx = Context({2.0}, {Use(20)}, {Use(16), Use(4)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, true), (std::vector<std::string>{"x1", "y1", "x2"}));
  EXPECT_EQ(q.Drain(*order, ctx, false), (std::vector<std::string>{"x1", "x2", "y1"}));
}

TEST(DrfOrder, EqualUserSharesGoToTheEarlierHeadJob) {
  // Users 0 and 1 both use nothing. User 1's head job is older (t=3 < t=7), so it goes first
  // although user 1 has the higher index; then user 0's (both still 0 without admission), ...
  // Ties on submit time fall to the id: "m" < "n".
  Queue q;
  q.Add("u0-late", 0, 0, 0, 7)
      .Add("u1-early", 0, 0, 1, 3)
      .Add("n", 0, 0, 2, 9)
      .Add("m", 0, 0, 3, 9);
  auto ctx = Context({1.0}, {Use(0)}, {Use(0), Use(0), Use(0), Use(0)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, false),
            (std::vector<std::string>{"u1-early", "u0-late", "m", "n"}));
}

TEST(DrfOrder, EqualProjectSharesGoToTheLowerProjectIndex) {
  // Both projects use nothing: the tie is broken by project index (the snapshot's project order),
  // as the code documents ("ties: lower project index"), not by submit time: project 0's job
  // goes first although project 1's is older. After admission project 0 holds 8/64 > 0, so
  // project 1 is next.
  Queue q;
  q.Add("p0-new", 0, 0, 0, 50, Use(8))
      .Add("p0-newer", 0, 0, 0, 60, Use(8))
      .Add("p1-old", 0, 1, 1, 1, Use(8));
  auto ctx = Context({1.0, 1.0}, {Use(0), Use(0)}, {Use(0), Use(0)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, true), (std::vector<std::string>{"p0-new", "p1-old", "p0-newer"}));
}

TEST(DrfOrder, PriorityBeatsFairShare) {
  // a holds 48 of 64 GPUs (share 0.75), b nothing; a's priority-1 job still goes first.
  Queue q;
  q.Add("b-low", 0, 1, 1, 0).Add("a-high", 1, 0, 0, 100);
  auto ctx = Context({1.0, 1.0}, {Use(48), Use(0)}, {Use(48), Use(0)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, true), (std::vector<std::string>{"a-high", "b-low"}));
}

TEST(DrfOrder, AdmissionAtHigherPriorityCountsAtLowerPriority) {
  // Both projects start at 0. a's priority-10 job (16 GPUs) is admitted first; at priority 0,
  // a's share is then 16/64 = 0.25 > b's 0, so b's job goes before a's older one.
  // Without admission the priority-0 tie (0 = 0) goes to project index 0: a-lo first.
  Queue q;
  q.Add("a-hi", 10, 0, 0, 5, Use(16))
      .Add("a-lo", 0, 0, 0, 0, Use(8))
      .Add("b-lo", 0, 1, 1, 1, Use(8));
  auto ctx = Context({1.0, 1.0}, {Use(0), Use(0)}, {Use(0), Use(0)});
  auto order = MakeDrfOrder();
  EXPECT_EQ(q.Drain(*order, ctx, true), (std::vector<std::string>{"a-hi", "b-lo", "a-lo"}));
  EXPECT_EQ(q.Drain(*order, ctx, false), (std::vector<std::string>{"a-hi", "a-lo", "b-lo"}));
}

// ---------------------------------------------------------------------------------------------
// The scheduler considers pending jobs in the configured order (Decisions::order).

TEST(SchedulerOrder, DrfByDefaultFifoByName) {
  // 2 x 8-GPU nodes. Project a runs 8 GPUs on n0; b runs nothing. Pending: a-job (t=0) and
  // b-job (t=10), 1 GPU each; both fit and start.
  //   drf: b's share 0 < a's 8/16 -> b-job first.   fifo: a-job (older) first.
  Snapshot s;
  s.nodes = {GpuNode("n0"), GpuNode("n1")};
  s.projects = {MakeProject("a"), MakeProject("b")};
  s.jobs = {RunningJob("a-run", "n0", Range(0, 8)).Project("a"),
            JobBuilder("a-job", "a").Tasks(1, WholeGpus(1)).Submit(0),
            JobBuilder("b-job", "b").Tasks(1, WholeGpus(1)).Submit(10)};
  Decisions drf = MustSchedule(s);
  EXPECT_EQ(drf.order, (std::vector<std::string>{"b-job", "a-job"})) << Dump(drf);
  EXPECT_EQ(Started(drf), (std::vector<std::string>{"b-job", "a-job"}));
  Decisions fifo = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(fifo.order, (std::vector<std::string>{"a-job", "b-job"})) << Dump(fifo);
}

TEST(SchedulerOrder, SharesMoveAsJobsStartInThePass) {
  // Projects a and b use nothing; a has a1 (t=0), a2 (t=1), b has b1 (t=5), 8 GPUs each, on
  // 4 x 8 GPUs (capacity 32). drf: tie at 0 -> a (project index) -> a1; now a holds 8/32 > 0:
  // b1; then a2. fifo: by submit time.
  Snapshot s;
  s.nodes = {GpuNode("n0"), GpuNode("n1"), GpuNode("n2"), GpuNode("n3")};
  s.projects = {MakeProject("a"), MakeProject("b")};
  s.jobs = {JobBuilder("a1", "a").Tasks(1, WholeGpus(8)).Submit(0),
            JobBuilder("a2", "a").Tasks(1, WholeGpus(8)).Submit(1),
            JobBuilder("b1", "b").Tasks(1, WholeGpus(8)).Submit(5)};
  Decisions drf = MustSchedule(s);
  EXPECT_EQ(drf.order, (std::vector<std::string>{"a1", "b1", "a2"})) << Dump(drf);
  Decisions fifo = MustSchedule(s, Config("fifo"));
  EXPECT_EQ(fifo.order, (std::vector<std::string>{"a1", "a2", "b1"})) << Dump(fifo);
}

// ---------------------------------------------------------------------------------------------
// ageing specifics (queue_order_ageing.cc)

// One project; users by index; `now` set.
QueueContext AtTime(Seconds now, std::vector<ResourceVector> user_usage) {
  QueueContext ctx = Context({1.0}, {Use(0)}, std::move(user_usage));
  ctx.now = now;
  return ctx;
}

TEST(AgeingOrder, HeaderWorkedExample) {
  // a (user 0, who uses 8 GPUs) waits since 100; b, c (users 1, 2: nothing) since 900, 950.
  Queue q;
  q.Add("a", 0, 0, 0, 100).Add("b", 0, 0, 1, 900).Add("c", 0, 0, 2, 950);
  const std::vector<ResourceVector> usage = {Use(8), Use(0), Use(0)};
  EXPECT_EQ(q.Drain(*MakeDrfOrder(), AtTime(1000, usage), true),
            (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeDrfOrder(), 600), AtTime(1000, usage), true),
            (std::vector<std::string>{"a", "b", "c"}));
  // At t=699 a has waited 599 s < 600: not aged yet.
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeDrfOrder(), 600), AtTime(699, usage), true),
            (std::vector<std::string>{"b", "c", "a"}));
}

TEST(AgeingOrder, AgedJobsNeverPassHigherPriorityAndGoOldestFirst) {
  // hi (priority 5, fresh); old1, old2 (priority 0, aged; old2 is older); new (priority 0,
  // fresh); low (priority -1, aged).
  Queue q;
  q.Add("new", 0, 0, 0, 990).Add("hi", 5, 0, 1, 995).Add("old1", 0, 0, 2, 50)
      .Add("old2", 0, 0, 3, 10).Add("low", -1, 0, 4, 0);
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeFifoOrder(), 100),
                    AtTime(1000, std::vector<ResourceVector>(5)), true),
            (std::vector<std::string>{"hi", "old2", "old1", "new", "low"}));
}

TEST(AgeingOrder, AdmissionsOfAgedJobsCountInTheInnerFairShare) {
  // Users 0 and 1 start equal. Aged a0 (user 0) is admitted first; DRF then prefers user 1's
  // b1 over user 0's a1 (user 0 now holds 1 GPU), although a1 was submitted earlier.
  Queue q;
  q.Add("a0", 0, 0, 0, 0).Add("a1", 0, 0, 0, 500).Add("b1", 0, 0, 1, 600);
  EXPECT_EQ(q.Drain(*MakeAgeingOrder(MakeDrfOrder(), 800),
                    AtTime(1000, std::vector<ResourceVector>(2)), true),
            (std::vector<std::string>{"a0", "b1", "a1"}));
}

TEST(AgeingOrder, NegativeThresholdIsRejectedByTheScheduler) {
  SchedulerConfig cfg;
  cfg.age_after_s = -1;
  auto s = Scheduler::Create(cfg);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message(), "age_after_s must be >= 0");
}

// ---------------------------------------------------------------------------------------------
// WeightedDominantShare

TEST(WeightedDominantShare, HeaderExample) {
  // Capacity 64 GPUs and 1,024 cores; usage 8 GPUs, 256 cores; weight 2:
  // max(8/64, 256/1024) / 2 = max(0.125, 0.25) / 2 = 0.125.
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(8, 256), Capacity(), 2.0), 0.125);
}

TEST(WeightedDominantShare, DocsExample) {
  // a: max(8/64, 256/1024)/1 = 0.25;  b: max(12/64, 96/1024)/3 = 0.1875/3 = 0.0625.
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(8, 256), Capacity(), 1.0), 0.25);
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(12, 96), Capacity(), 3.0), 0.0625);
}

TEST(WeightedDominantShare, NothingUsedIsZero) {
  EXPECT_DOUBLE_EQ(WeightedDominantShare(ResourceVector{}, Capacity(), 1.0), 0.0);
}

TEST(WeightedDominantShare, KindsWithoutCapacityAreIgnored) {
  // Memory capacity is 0 here: 1 TiB of memory usage does not count. 16/64 = 0.25.
  ResourceVector usage = Use(16);
  usage[kMemory] = GiB(1024);
  EXPECT_DOUBLE_EQ(WeightedDominantShare(usage, Capacity(), 1.0), 0.25);
}

TEST(WeightedDominantShare, ExtendedResourceCanDominate) {
  // 6 of 8 "mncore" devices: 0.75 beats 8/64 GPUs = 0.125; weight 3 -> 0.25.
  ResourceVector cap = Capacity();
  cap[kExtended0] = 8;
  ResourceVector usage = Use(8);
  usage[kExtended0] = 6;
  EXPECT_DOUBLE_EQ(WeightedDominantShare(usage, cap, 3.0), 0.25);
}

TEST(WeightedDominantShare, NonPositiveWeightCountsAsOne) {
  // 32/64 = 0.5 whether the weight is 1, 0 or negative (a guard; the scheduler rejects weight <=
  // 0).
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(32), Capacity(), 0.0), 0.5);
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(32), Capacity(), -2.0), 0.5);
}

TEST(WeightedDominantShare, FractionalWeight) {
  // 8/64 = 0.125 with weight 0.5 -> 0.25: a small weight makes a project look bigger.
  EXPECT_DOUBLE_EQ(WeightedDominantShare(Use(8), Capacity(), 0.5), 0.25);
}

}  // namespace
}  // namespace kumo::core
