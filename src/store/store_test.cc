#include "store/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>
#include "test/support/temp_dir.h"

namespace kumo::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  ::kumo::testing::TempDir tmp_{"kumo-store"};
  const std::string dir_ = tmp_.path();
};

int64_t Count(Store& s, const std::string& table) {
  int64_t n = -1;
  EXPECT_TRUE(
      s.Query("SELECT count(*) FROM " + table, {}, [&](const Row& r) { n = AsInt(r[0]); }).ok());
  return n;
}

TEST_F(StoreTest, OpenMigratesToTheCurrentSchemaAndReopens) {
  {
    auto s = Store::Open(dir_ + "/kumo.db");
    ASSERT_TRUE(s.has_value()) << s.error().message();
    EXPECT_GE((*s)->schema_version(), 1);
    ASSERT_TRUE((*s)->WriteSync({{"INSERT INTO projects(name, created_at) VALUES(?1, ?2)",
                                  {std::string("a"), 1.0}}})
                    .ok());
  }
  auto s = Store::Open(dir_ + "/kumo.db");  // no migration runs twice
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(Count(**s, "projects"), 1);
}

TEST_F(StoreTest, RefusesADatabaseFromANewerKumo) {
  {
    auto s = Store::Open(dir_ + "/kumo.db");
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE((*s)->WriteSync({{"PRAGMA user_version=999", {}}}).ok());
  }
  auto s = Store::Open(dir_ + "/kumo.db");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("newer"), std::string::npos);
}

TEST_F(StoreTest, AFailedWriteFailsAloneAndLeavesNothingBehind) {
  auto s = Store::Open(dir_ + "/kumo.db");
  ASSERT_TRUE(s.has_value());
  Store& st = **s;
  auto ok1 = st.Write({{"INSERT INTO projects(name, created_at) VALUES('a', 1)", {}}});
  // Two statements, the second violates the primary key: neither may stay.
  auto bad = st.Write({{"INSERT INTO projects(name, created_at) VALUES('b', 1)", {}},
                       {"INSERT INTO projects(name, created_at) VALUES('a', 1)", {}}});
  auto ok2 = st.Write({{"INSERT INTO projects(name, created_at) VALUES('c', 1)", {}}});
  EXPECT_TRUE(ok1.get().ok());
  EXPECT_FALSE(bad.get().ok());
  EXPECT_TRUE(ok2.get().ok());
  std::vector<std::string> names;
  ASSERT_TRUE(st.Query("SELECT name FROM projects ORDER BY name", {}, [&](const Row& r) {
                  names.push_back(AsString(r[0]));
                }).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c"}));
}

TEST_F(StoreTest, ConcurrentWritersAreGroupCommitted) {
  auto s = Store::Open(dir_ + "/kumo.db");
  ASSERT_TRUE(s.has_value());
  Store& st = **s;
  int64_t before = st.commits();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(st.WriteSync({{"INSERT INTO projects(name, created_at) VALUES(?1, 1)",
                                   {std::to_string(t) + "-" + std::to_string(i)}}})
                        .ok());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count(st, "projects"), 400);
  EXPECT_LE(st.commits() - before, 400);  // never more commits than writes; usually far fewer
}

}  // namespace
}  // namespace kumo::store
