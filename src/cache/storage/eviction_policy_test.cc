#include "cache/storage/eviction_policy.h"

#include <gtest/gtest.h>

#include <set>

namespace kumo::cache {
namespace {

// One contract for every policy (typed by name through the factory).
class EvictionContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<EvictionPolicy> Make(uint64_t capacity = 100) {
    auto p = MakeEvictionPolicy(GetParam(), capacity);
    EXPECT_TRUE(p.has_value());
    return std::move(*p);
  }
};

TEST_P(EvictionContract, NameMatchesFactory) { EXPECT_EQ(Make()->name(), GetParam()); }

TEST_P(EvictionContract, EmptyHasNoVictim) { EXPECT_FALSE(Make()->Evict().has_value()); }

TEST_P(EvictionContract, EveryResidentKeyIsEvictedExactlyOnce) {
  auto p = Make();
  std::set<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.insert("k" + std::to_string(i));
    p->OnInsert("k" + std::to_string(i), 3);
    if (i % 3 == 0) p->OnAccess("k" + std::to_string(i / 2));
  }
  p->OnRemove("k7");
  keys.erase("k7");
  p->OnAccess("absent");
  p->OnRemove("absent");
  std::set<std::string> evicted;
  while (auto v = p->Evict()) EXPECT_TRUE(evicted.insert(*v).second) << *v;
  EXPECT_EQ(evicted, keys);
  EXPECT_EQ(p->resident_count(), 0u);
}

TEST_P(EvictionContract, ReinsertAfterEvictionWorks) {
  auto p = Make();
  p->OnInsert("a", 1);
  EXPECT_EQ(p->Evict(), "a");
  p->OnInsert("a", 1);
  EXPECT_EQ(p->resident_count(), 1u);
  EXPECT_EQ(p->Evict(), "a");
}

TEST_P(EvictionContract, UntouchedOldestGoesBeforeRecentlyRead) {
  auto p = Make();
  p->OnInsert("old", 1);
  p->OnInsert("hot", 1);
  p->OnAccess("hot");
  EXPECT_EQ(p->Evict(), "old");
}

INSTANTIATE_TEST_SUITE_P(Policies, EvictionContract, ::testing::Values("lru", "s3fifo"),
                         [](const auto& info) { return info.param; });

TEST(EvictionFactory, UnknownNameIsAnError) {
  EXPECT_FALSE(MakeEvictionPolicy("random", 100).has_value());
}

// Simulates a byte-capacity cache: insert evicts until the object fits.
int HotSurvivors(const std::string& policy) {
  const uint64_t capacity = 100;
  auto p = *MakeEvictionPolicy(policy, capacity);
  std::set<std::string> resident;
  auto insert = [&](const std::string& k) {
    while (resident.size() + 1 > capacity) resident.erase(*p->Evict());
    p->OnInsert(k, 1);
    resident.insert(k);
  };
  for (int i = 0; i < 20; ++i) insert("hot" + std::to_string(i));
  for (int i = 0; i < 20; ++i) p->OnAccess("hot" + std::to_string(i));
  // An epoch over 500 objects, five times the capacity, each inserted once and never read.
  for (int i = 0; i < 500; ++i) insert("scan" + std::to_string(i));
  int survivors = 0;
  for (int i = 0; i < 20; ++i)
    survivors += static_cast<int>(resident.count("hot" + std::to_string(i)));
  return survivors;
}

TEST(S3Fifo, KeepsTheHotSetThroughAScanLargerThanTheCache) {
  EXPECT_EQ(HotSurvivors("s3fifo"), 20);
}

TEST(S3Fifo, ObjectSeenInGhostGoesToMain) {
  auto p = MakeS3FifoPolicy(10);
  for (int i = 0; i < 10; ++i) p->OnInsert("k" + std::to_string(i), 1);
  EXPECT_EQ(p->Evict(), "k0");  // never read: evicted from S, remembered in G
  p->OnInsert("k0", 1);         // back soon: straight into M
  // S still holds k1..k9 (9 bytes ≥ 10% of 10): the next victims come from S, not k0.
  for (int i = 1; i < 10; ++i) EXPECT_EQ(p->Evict(), "k" + std::to_string(i));
  EXPECT_EQ(p->Evict(), "k0");
}

// The same workload flushes LRU completely: why S3-FIFO is the default.
TEST(Lru, LosesTheHotSetToTheSameScan) { EXPECT_EQ(HotSurvivors("lru"), 0); }

}  // namespace
}  // namespace kumo::cache
