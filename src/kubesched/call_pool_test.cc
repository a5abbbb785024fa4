#include "kubesched/call_pool.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

namespace kumo::kubesched {
namespace {
using Session = executor::kube::KubeClient::Session;

TEST(CallPoolTest, OnDoneRunsOnceAfterEveryCallOfItsBatch) {
  std::atomic<int> ran{0}, done{0}, ran_at_done{-1};
  {
    CallPool pool(4);
    std::vector<CallPool::Call> calls;
    for (int i = 0; i < 100; ++i) calls.push_back([&](Session&) { ++ran; });
    pool.Submit(std::move(calls), [&] {
      ran_at_done = ran.load();
      ++done;
    });
  }  // the destructor drains the queue
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(done, 1);
  EXPECT_EQ(ran_at_done, 100);
}

TEST(CallPoolTest, EmptyBatchIsDoneAtOnce) {
  CallPool pool(2);
  bool done = false;
  pool.Submit({}, [&] { done = true; });
  EXPECT_TRUE(done);
  EXPECT_EQ(pool.InFlight(), 0u);
}

// The workers run calls at the same time (up to their number), each with a session of its own.
TEST(CallPoolTest, RunsUpToWorkersCallsAtOnceEachOnItsOwnSession) {
  constexpr int kWorkers = 4;
  std::mutex mu;
  std::set<const Session*> sessions;
  std::atomic<int> now{0}, most{0};
  {
    CallPool pool(kWorkers);
    std::vector<CallPool::Call> calls;
    for (int i = 0; i < 40; ++i)
      calls.push_back([&](Session& s) {
        int n = ++now;
        for (int m = most.load(); n > m && !most.compare_exchange_weak(m, n);) {
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          sessions.insert(&s);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --now;
      });
    pool.Submit(std::move(calls));
  }
  EXPECT_LE(most, kWorkers);
  EXPECT_GE(most, 2);  // 40 calls of 5 ms on 4 threads overlap
  EXPECT_LE(sessions.size(), static_cast<size_t>(kWorkers));
  EXPECT_GE(sessions.size(), 2u);
}

// Batches are independent: each one's on_done sees its own calls finished.
TEST(CallPoolTest, BatchesCompleteSeparately) {
  std::atomic<int> a{0}, b{0}, a_done{-1}, b_done{-1};
  {
    CallPool pool(3);
    std::vector<CallPool::Call> first, second;
    for (int i = 0; i < 10; ++i) first.push_back([&](Session&) { ++a; });
    for (int i = 0; i < 7; ++i) second.push_back([&](Session&) { ++b; });
    pool.Submit(std::move(first), [&] { a_done = a.load(); });
    pool.Submit(std::move(second), [&] { b_done = b.load(); });
  }
  EXPECT_EQ(a_done, 10);
  EXPECT_EQ(b_done, 7);
}

}  // namespace
}  // namespace kumo::kubesched
