#include "http/connection_budget.h"

#include <gtest/gtest.h>

namespace kumo::http {
namespace {

ConnectionBudget::Limits Small() { return {3, 2, 2}; }

TEST(ConnectionBudgetTest, TheHeaderExample) {
  ConnectionBudget b(Small());
  EXPECT_EQ(b.Admit(1, "10.0.0.1"), std::nullopt);  // a
  EXPECT_EQ(b.Admit(2, "10.0.0.1"), std::nullopt);  // b
  EXPECT_EQ(b.Admit(3, "10.0.0.1"), 1u);            // c: 10.0.0.1 at its cap of 2, a shed
  EXPECT_EQ(b.Admit(4, "10.0.0.2"), std::nullopt);  // d
  EXPECT_EQ(b.Admit(5, "10.0.0.3"), 2u);            // e: pool full, b the oldest
  EXPECT_EQ(b.unauthenticated(), 3u);
}

TEST(ConnectionBudgetTest, AuthenticatedConnectionsAreNeverShedAndHaveTheirOwnBudget) {
  ConnectionBudget b(Small());
  b.Admit(1, "ip");
  ASSERT_TRUE(b.Promote(1));
  EXPECT_TRUE(b.Promote(1));  // again: still one
  EXPECT_EQ(b.authenticated(), 1u);
  // A flood of unauthenticated connections from the same IP sheds only its own kind.
  for (ConnectionBudget::Id id = 2; id < 100; ++id) {
    auto shed = b.Admit(id, "ip");
    EXPECT_NE(shed, std::optional<ConnectionBudget::Id>(1));
  }
  EXPECT_EQ(b.unauthenticated(), 2u);  // the per-IP cap
  EXPECT_EQ(b.authenticated(), 1u);
  // The newest flooder (98, 99 remain) can still authenticate: the second slot.
  EXPECT_TRUE(b.Promote(99));
  // The authenticated pool is full: the next one is refused and stays unauthenticated.
  EXPECT_FALSE(b.Promote(98));
  EXPECT_EQ(b.authenticated(), 2u);
  EXPECT_EQ(b.unauthenticated(), 1u);
}

TEST(ConnectionBudgetTest, ReleaseFreesTheRightPoolAndIgnoresShedIds) {
  ConnectionBudget b(Small());
  b.Admit(1, "a");
  b.Admit(2, "a");
  ASSERT_EQ(b.Admit(3, "a"), 1u);
  b.Release(1);  // already shed: no-op
  EXPECT_EQ(b.unauthenticated(), 2u);
  ASSERT_TRUE(b.Promote(2));
  b.Release(2);
  b.Release(3);
  EXPECT_EQ(b.authenticated(), 0u);
  EXPECT_EQ(b.unauthenticated(), 0u);
  // Nothing left behind: the per-IP queue starts empty again.
  EXPECT_EQ(b.Admit(4, "a"), std::nullopt);
  EXPECT_EQ(b.Admit(5, "a"), std::nullopt);
}

}  // namespace
}  // namespace kumo::http
