#include "server/dataset_store.h"

#include <gtest/gtest.h>

#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

class DatasetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(dir_.Path("kumo.db"));
    ASSERT_TRUE(s.has_value()) << s.error().message();
    db_ = std::move(*s);
    ASSERT_TRUE(db_->WriteSync({{"INSERT INTO projects(name, created_at) VALUES('a', 0)", {}},
                                {"INSERT INTO projects(name, created_at) VALUES('b', 0)", {}}})
                    .ok());
  }
  DatasetVersionRec Version(int64_t n, const std::string& digest) {
    return {"mnist", n, digest, "{\"files\":[]}", 0, 0, "alice", 1.0 * n};
  }

  ::kumo::testing::TempDir dir_;
  std::unique_ptr<store::Store> db_;
};

TEST_F(DatasetStoreTest, VersionsGrantsAndTheLatest) {
  DatasetStore ds(*db_);
  std::vector<store::Statement> w = {DatasetStore::Create({"mnist", "a", "alice", 0, 1, {}})};
  for (auto& s : DatasetStore::AddVersion(Version(1, "sha256:one"))) w.push_back(s);
  for (auto& s : DatasetStore::AddVersion(Version(2, "sha256:two"))) w.push_back(s);
  w.push_back(DatasetStore::Grant("mnist", "b"));
  w.push_back(DatasetStore::Grant("mnist", "b"));  // twice is once
  ASSERT_TRUE(db_->WriteSync(w).ok());

  auto d = ds.Get("mnist");
  ASSERT_TRUE(d.has_value() && d->has_value());
  EXPECT_EQ((*d)->project, "a");
  EXPECT_EQ((*d)->next_version, 3);
  EXPECT_EQ((*d)->grants, std::set<std::string>{"b"});
  auto latest = ds.Version("mnist", 0);
  ASSERT_TRUE(latest.has_value() && latest->has_value());
  EXPECT_EQ((*latest)->version, 2);
  EXPECT_EQ((*latest)->manifest, "{\"files\":[]}");
  EXPECT_FALSE(ds.Version("mnist", 7)->has_value());
  EXPECT_FALSE(ds.Get("nope")->has_value());

  // Removing the latest: the number is not given out again.
  ASSERT_TRUE(db_->WriteSync({DatasetStore::RemoveVersion("mnist", 2)}).ok());
  EXPECT_EQ((*ds.Version("mnist", 0))->version, 1);
  EXPECT_EQ((*ds.Get("mnist"))->next_version, 3);
  EXPECT_EQ(ds.Versions("mnist")->size(), 1u);
}

TEST_F(DatasetStoreTest, ResultsReferencingCountsRecordsNamingTheDigest) {
  DatasetStore ds(*db_);
  std::string digest = "sha256:" + std::string(64, 'c');
  EXPECT_EQ(*ds.ResultsReferencing(digest), 0);
  ASSERT_TRUE(db_->WriteSync({{"INSERT INTO results(job_id, attempt, record) VALUES(1, 1, ?1)",
                               {"{\"datasets\":[{\"digest\":\"" + digest + "\"}]}"}},
                              {"INSERT INTO results(job_id, attempt, record) VALUES(2, 1, '{}')",
                               {}}})
                  .ok());
  EXPECT_EQ(*ds.ResultsReferencing(digest), 1);
  EXPECT_EQ(*ds.ResultsReferencing("sha256:" + std::string(64, 'd')), 0);
}

}  // namespace
}  // namespace kumo::server
