// The snapshot cap holds for the bytes a tree really holds, not for what its manifest declares.
#include "server/snapshot_store.h"

#include <gtest/gtest.h>

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
  ASSERT_TRUE(store.PutBlob(sha, bytes).ok());
  // Named five times with size 0: 0 bytes declared, 2,000 real — over the cap of 1,000.
  Status lied = store.Record(Manifest(sha, 0, 5));
  EXPECT_EQ(lied.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lied.message().find("files[0].size: \"f0\" is declared 0 bytes; its blob holds 400"),
            std::string::npos)
      << lied.message();
  EXPECT_EQ(store.Record(Manifest(sha, 400, 3)).code(), StatusCode::kResourceExhausted);
  api::DatasetManifest honest = Manifest(sha, 400, 2);
  ASSERT_TRUE(store.Record(honest).ok());
  EXPECT_TRUE(store.Get(honest.Digest()).has_value());
  EXPECT_EQ(store.Get(Manifest(sha, 0, 5).Digest()).error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kumo::server
