#include "server/server_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include "test/support/temp_dir.h"

namespace kumo::server {
namespace {

class ServerConfigTest : public ::testing::Test {
 protected:
  Result<ServerConfig> Load(const std::string& yaml) {
    std::ofstream(dir_ + "/server.yaml") << yaml;
    // A named default (not a temporary): gcc 12 -O2 misreads the temporary's maps as
    // maybe-uninitialized once the config holds several of them.
    ServerConfig defaults;
    return LoadServerConfig(dir_ + "/server.yaml", std::move(defaults));
  }
  ::kumo::testing::TempDir tmp_{"kumo-server-config"};
  const std::string dir_ = tmp_.path();
};

TEST_F(ServerConfigTest, IsolationIsOnByDefaultWithTheDefaultRange) {
  auto c = Load("tickSeconds: 0.5\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->isolation.enabled);
  EXPECT_EQ(c->isolation.first_uid, 200000u);
  EXPECT_EQ(c->isolation.uid_count, 65536u);
  EXPECT_TRUE(c->isolation.users.empty());
}

TEST_F(ServerConfigTest, IsolationReadsEnabledUsersAndRange) {
  auto c = Load("isolation:\n  enabled: false\n  uidRange: 300000-300099\n"
                "  users: {alice: alice, bob: bsmith}\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_FALSE(c->isolation.enabled);
  EXPECT_EQ(c->isolation.first_uid, 300000u);
  EXPECT_EQ(c->isolation.uid_count, 100u);
  EXPECT_EQ(c->isolation.users, (std::map<std::string, std::string>{{"alice", "alice"},
                                                                    {"bob", "bsmith"}}));
}

TEST_F(ServerConfigTest, IsolationErrorsNameTheFileLineAndField) {
  const std::string file = dir_ + "/server.yaml";
  auto bad_range = Load("tickSeconds: 1\nisolation:\n  uidRange: 5-1\n");
  ASSERT_FALSE(bad_range.has_value());
  EXPECT_NE(bad_range.error().message().find(file + ":3: isolation.uidRange:"), std::string::npos)
      << bad_range.error().message();
  auto unknown = Load("isolation: {enabled: true, uids: 5}\n");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find(file + ":1: isolation.uids: unknown field"),
            std::string::npos)
      << unknown.error().message();
  auto users = Load("isolation:\n  users: [alice]\n");
  ASSERT_FALSE(users.has_value());
  EXPECT_NE(users.error().message().find(file + ":2: isolation.users: expected a mapping"),
            std::string::npos)
      << users.error().message();
}

TEST_F(ServerConfigTest, NodeStoreMaxBytesIsASizeZeroMeaningNoCap) {
  ServerConfig defaults;
  EXPECT_EQ(defaults.node_store_max_bytes, 0);
  auto c = Load("nodeStoreMaxBytes: 500Gi\n");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->node_store_max_bytes, int64_t{500} << 30);
  auto bad = Load("tickSeconds: 1\nnodeStoreMaxBytes: lots\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find(dir_ + "/server.yaml:2: nodeStoreMaxBytes:"),
            std::string::npos)
      << bad.error().message();
}

TEST_F(ServerConfigTest, ExecutorIsAKindNamedOnce) {
  EXPECT_EQ(Load("tickSeconds: 0.5\n")->executor, ExecutorKind::kLocal);
  auto k = Load("executor: kubernetes\n");
  ASSERT_TRUE(k.has_value()) << k.error().message();
  EXPECT_EQ(k->executor, ExecutorKind::kKubernetes);
  auto bad = Load("tickSeconds: 0.5\nexecutor: slurm\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("server.yaml:2: executor: must be local or kubernetes"),
            std::string::npos)
      << bad.error().message();
}

}  // namespace
}  // namespace kumo::server
