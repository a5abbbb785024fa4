#include "executor/task_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include "test/support/temp_dir.h"

namespace kumo::executor {
namespace {

IsolationConfig Range(const std::string& text) {
  IsolationConfig c;
  EXPECT_TRUE(ParseUidRange(text, &c).ok()) << text;
  return c;
}

TEST(TaskIdentityTest, ParseUidRangeTakesFirstDashLastInclusive) {
  IsolationConfig c = Range("200000-265535");
  EXPECT_EQ(c.first_uid, 200000u);
  EXPECT_EQ(c.uid_count, 65536u);
  for (const char* bad : {"", "200000", "-5", "5-", "0-10", "10-9", "a-b", "1-4294967295",
                          "1-2-3", " 1-2"})
    EXPECT_FALSE(ParseUidRange(bad, &c).ok()) << bad;
}

TEST(TaskIdentityTest, PickRangeUidKeepsAJobsUidAndSkipsThoseInUse) {
  IsolationConfig c = Range("200000-200009");
  // Job 12 prefers 200000 + (12 - 1) mod 10 = 200001.
  EXPECT_EQ(*PickRangeUid(c, 12, 0, {}), 200001u);
  EXPECT_EQ(*PickRangeUid(c, 12, 0, {200001, 200002}), 200003u);
  EXPECT_EQ(*PickRangeUid(c, 10, 0, {200009}), 200000u);  // wraps
  // Its previous uid (the owner of its checkpoint dir) wins while nobody else holds it.
  EXPECT_EQ(*PickRangeUid(c, 12, 200007, {200001}), 200007u);
  EXPECT_EQ(*PickRangeUid(c, 12, 200007, {200007}), 200001u);
  EXPECT_EQ(*PickRangeUid(c, 12, 0 /* root's dir */, {}), 200001u);
  EXPECT_EQ(*PickRangeUid(c, 12, 5000 /* outside */, {}), 200001u);
  std::set<uid_t> all;
  for (uid_t u = 200000; u < 200010; ++u) all.insert(u);
  auto full = PickRangeUid(c, 12, 0, all);
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().code(), StatusCode::kResourceExhausted);
}

TEST(TaskIdentityTest, HiddenRootIsTheHighestAncestorOthersCannotSearch) {
  ::kumo::testing::TempDir tmp("kumo-identity");
  const std::string& top = tmp.path();  // 0700
  std::filesystem::create_directories(top + "/a/data");
  chmod((top + "/a").c_str(), 0755);
  chmod((top + "/a/data").c_str(), 0755);
  EXPECT_EQ(HiddenRoot(top + "/a/data"), top);
  chmod(top.c_str(), 0711);
  EXPECT_EQ(HiddenRoot(top + "/a/data"), top + "/a/data");  // all searchable: the dir itself
  chmod((top + "/a/data").c_str(), 0700);
  EXPECT_EQ(HiddenRoot(top + "/a/data"), top + "/a/data");
  chmod((top + "/a").c_str(), 0750);
  EXPECT_EQ(HiddenRoot(top + "/a/data"), top + "/a");
}

TEST(TaskIdentityTest, AccountIdentityRefusesRootAndUnknownAccounts) {
  auto root = AccountIdentity("root");
  ASSERT_FALSE(root.has_value());
  EXPECT_EQ(root.error().code(), StatusCode::kInvalidArgument);
  auto unknown = AccountIdentity("no-such-kumo-account");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  auto nobody = AccountIdentity("nobody");  // Debian's: uid 65534, group nogroup
  ASSERT_TRUE(nobody.has_value()) << nobody.error().message();
  EXPECT_TRUE(nobody->enabled);
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->gid, 65534u);
}

TEST(TaskIdentityTest, TheRangeMustNotHoldAccountsOrSubordinateIds) {
  ::kumo::testing::TempDir tmp("kumo-identity");
  const std::string& dir = tmp.path();
  const std::string passwd = dir + "/passwd", subuid = dir + "/subuid", subgid = dir + "/subgid";
  std::ofstream(passwd) << "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  std::ofstream(subuid) << "alice:100000:65536\n";
  IsolationConfig c = Range("200000-265535");
  EXPECT_TRUE(CheckUidRangeIsFree(c, passwd, subuid, subgid).ok());  // subgid missing: empty
  std::ofstream(subgid) << "alice:100000:65536\nbob:165536:65536\n";  // 165536-231071
  Status s = CheckUidRangeIsFree(c, passwd, subuid, subgid);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(subgid + ":2: the subordinate ids of bob"), std::string::npos)
      << s.message();
  c = Range("231072-231072");  // just past bob's
  EXPECT_TRUE(CheckUidRangeIsFree(c, passwd, subuid, subgid).ok());
  std::ofstream(passwd, std::ios::app) << "svc:x:231072:100::/:/bin/false\n";
  s = CheckUidRangeIsFree(c, passwd, subuid, subgid);
  EXPECT_NE(s.message().find(passwd + ":3: account svc"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kumo::executor
