// The snapshot cap holds for the bytes a tree really holds, not for what its manifest declares.
#include "server/snapshot_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/sha256.h"
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

api::DatasetManifest Manifest(const std::string& sha, int64_t size, int copies) {
  nlohmann::json files = nlohmann::json::array();
  for (int i = 0; i < copies; ++i)
    files.push_back({{"path", "f" + std::to_string(i)}, {"size", size}, {"sha256", sha}});
  return api::ParseManifest({{"files", files}}).value();
}

TEST(SnapshotStore, ADeclaredSizeMustBeTheBlobsOwn) {
  ::kumo::testing::TempDir tmp;
  SnapshotStore store(tmp.path(), /*max_bytes=*/1000);
  const std::string bytes(400, 'x');
  const std::string sha = Sha256Hex(bytes);
  ASSERT_TRUE(store.PutBlob("ann", sha, bytes).ok());
  // Named five times with size 0: 0 bytes declared, 2,000 real — over the cap of 1,000.
  Status lied = store.Record("ann", Manifest(sha, 0, 5));
  EXPECT_EQ(lied.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lied.message().find("files[0].size: \"f0\" is declared 0 bytes; its blob holds 400"),
            std::string::npos)
      << lied.message();
  EXPECT_EQ(store.Record("ann", Manifest(sha, 400, 3)).code(), StatusCode::kResourceExhausted);
  api::DatasetManifest honest = Manifest(sha, 400, 2);
  ASSERT_TRUE(store.Record("ann", honest).ok());
  EXPECT_TRUE(store.Get(honest.Digest()).has_value());
  EXPECT_EQ(store.Get(Manifest(sha, 0, 5).Digest()).error().code(), StatusCode::kNotFound);
}

// Collection: what no job names and nobody touched for the grace goes; nothing else does.
class SnapshotCollect : public ::testing::Test {
 protected:
  static constexpr std::chrono::seconds kGrace{3600};

  // A blob of `text`, stored; returns its digest.
  std::string Blob(const std::string& text) {
    const std::string sha = Sha256Hex(text);
    EXPECT_TRUE(store_.PutBlob("ann", sha, text).ok());
    return sha;
  }
  api::DatasetManifest Tree(const std::vector<std::string>& texts) {
    nlohmann::json files = nlohmann::json::array();
    for (size_t i = 0; i < texts.size(); ++i)
      files.push_back({{"path", "f" + std::to_string(i)},
                       {"size", texts[i].size()},
                       {"sha256", Blob(texts[i])}});
    api::DatasetManifest m = api::ParseManifest({{"files", files}}).value();
    EXPECT_TRUE(store_.Record("ann", m).ok());
    return m;
  }
  // Makes every file of the store look written two hours ago.
  void AgeEverything() {
    const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
    for (const auto& e : std::filesystem::recursive_directory_iterator(tmp_.path()))
      if (e.is_regular_file()) std::filesystem::last_write_time(e.path(), old);
  }
  bool HasBlob(const std::string& text) {
    return std::filesystem::exists(tmp_.Path("blobs/" + Sha256Hex(text)));
  }

  ::kumo::testing::TempDir tmp_;
  SnapshotStore store_{tmp_.path(), /*max_bytes=*/1 << 20};
};

TEST_F(SnapshotCollect, KeepsWhatAJobNamesAndRemovesOldUnnamedUploads) {
  api::DatasetManifest named = Tree({"shared", "only-named"});
  api::DatasetManifest unnamed = Tree({"shared", "only-unnamed"});
  Blob("never-recorded");
  AgeEverything();
  auto swept = store_.Collect({named.Digest()}, kGrace);
  ASSERT_TRUE(swept.has_value()) << swept.error().message();
  EXPECT_EQ(swept->manifests_removed, 1);
  EXPECT_EQ(swept->blobs_removed, 2);  // only-unnamed, never-recorded
  EXPECT_GT(swept->bytes_freed, 0);
  EXPECT_TRUE(store_.Get(named.Digest()).has_value());
  EXPECT_EQ(store_.Get(unnamed.Digest()).error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(HasBlob("shared"));
  EXPECT_TRUE(HasBlob("only-named"));
  EXPECT_FALSE(HasBlob("only-unnamed"));
  EXPECT_FALSE(HasBlob("never-recorded"));
  ::kumo::testing::TempDir out;
  EXPECT_TRUE(store_.Extract(named.Digest(), out.Path("tree")).ok());
}

TEST_F(SnapshotCollect, KeepsWhatIsYoungerThanTheGrace) {
  api::DatasetManifest fresh = Tree({"fresh-tree"});
  Blob("fresh-blob");
  auto swept = store_.Collect({}, kGrace);
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(swept->manifests_removed + swept->blobs_removed, 0);
  EXPECT_TRUE(store_.Get(fresh.Digest()).has_value());
  EXPECT_TRUE(HasBlob("fresh-blob"));
}

// An upload that finds its blobs stored sends none of them; the sweep between its requests
// must not take them, or the Record that follows fails.
TEST_F(SnapshotCollect, AnUploadThatFindsItsBlobsStoredKeepsThem) {
  const std::string old_sha = Blob("stored-long-ago");
  AgeEverything();
  api::DatasetManifest m = api::ParseManifest(
      {{"files", {{{"path", "a"}, {"size", 15}, {"sha256", old_sha}}}}}).value();
  EXPECT_TRUE(store_.Missing("ann", m).empty());  // the client is told not to send it...
  ASSERT_TRUE(store_.Collect({}, kGrace).has_value());  // ...a sweep runs meanwhile...
  EXPECT_TRUE(store_.Record("ann", m).ok());  // ...and the blob is still there to record
}

TEST_F(SnapshotCollect, PuttingAStoredBlobAgainMakesItYoung) {
  const std::string sha = Blob("again");
  AgeEverything();
  ASSERT_TRUE(store_.PutBlob("ann", sha, "again").ok());
  ASSERT_TRUE(store_.Collect({}, kGrace).has_value());
  EXPECT_TRUE(HasBlob("again"));
}

TEST_F(SnapshotCollect, RemovesOldTempFilesOfInterruptedWrites) {
  tmp_.Write("blobs/" + Sha256Hex("x") + ".tmp-123", "half");
  tmp_.Write("manifests/abc.json.tmp-9", "{");
  const std::string young = tmp_.Write("blobs/" + Sha256Hex("y") + ".tmp-7", "in flight");
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(tmp_.Path("blobs/" + Sha256Hex("x") + ".tmp-123"), old);
  std::filesystem::last_write_time(tmp_.Path("manifests/abc.json.tmp-9"), old);
  auto swept = store_.Collect({}, kGrace);
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(swept->leftovers_removed, 2);
  EXPECT_TRUE(std::filesystem::exists(young));
}

// What one user sent is theirs: another user asking about the same bytes is told to send them
// (the answer must not confirm a guess of someone else's file), cannot record a manifest naming
// them before sending them, and cannot read the first user's manifest through RecordedBy.
TEST_F(SnapshotCollect, AStoredBlobIsMissingForEveryoneWhoDidNotSendIt) {
  api::DatasetManifest ann = Tree({"AWS_SECRET=hunter2\n"});
  const std::string sha = Sha256Hex("AWS_SECRET=hunter2\n");
  EXPECT_TRUE(store_.Missing("ann", ann).empty());
  EXPECT_EQ(store_.Missing("eve", ann), std::vector<std::string>{sha});
  EXPECT_EQ(store_.Record("eve", ann).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_.RecordedBy("ann", ann.Digest()));
  EXPECT_FALSE(store_.RecordedBy("eve", ann.Digest()));
  // Sending the bytes proves she has them: then the tree is hers to record too.
  ASSERT_TRUE(store_.PutBlob("eve", sha, "AWS_SECRET=hunter2\n").ok());
  EXPECT_TRUE(store_.Missing("eve", ann).empty());
  EXPECT_TRUE(store_.Record("eve", ann).ok());
  EXPECT_TRUE(store_.RecordedBy("eve", ann.Digest()));
}

TEST_F(SnapshotCollect, MarkersGoWithTheirObjects) {
  api::DatasetManifest gone = Tree({"short-lived"});
  AgeEverything();
  ASSERT_TRUE(store_.Collect({}, kGrace).has_value());
  EXPECT_FALSE(store_.RecordedBy("ann", gone.Digest()));
  EXPECT_FALSE(std::filesystem::exists(
      tmp_.Path("owners/" + Sha256Hex("ann").substr(0, 32) + "/blobs/" + Sha256Hex("short-lived"))));
}

TEST(StagedTree, LeftoversOlderThanTheGraceAreRemoved) {
  ::kumo::testing::TempDir tmp;
  std::filesystem::create_directories(tmp.Path(".staged-1/sub"));
  std::filesystem::create_directories(tmp.Path(".staged-2"));
  std::filesystem::create_directories(tmp.Path("7/code"));
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  std::filesystem::last_write_time(tmp.Path(".staged-1"), old);
  std::filesystem::last_write_time(tmp.Path("7"), old);
  EXPECT_EQ(StagedTree::RemoveLeftovers(tmp.path(), std::chrono::hours(1)), 1);
  EXPECT_FALSE(std::filesystem::exists(tmp.Path(".staged-1")));
  EXPECT_TRUE(std::filesystem::exists(tmp.Path(".staged-2")));  // young: a submission in flight
  EXPECT_TRUE(std::filesystem::exists(tmp.Path("7/code")));      // a job's dir is not staged
}

}  // namespace
}  // namespace kumo::server
