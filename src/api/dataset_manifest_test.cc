#include "api/dataset_manifest.h"

#include <gtest/gtest.h>

namespace kumo::api {
namespace {

using nlohmann::json;

const std::string kA(64, 'a');
const std::string kB(64, 'b');

const std::string kX(32, 'c');

json File(const std::string& path, int64_t size, const std::string& sha) {
  return {{"path", path}, {"size", size}, {"sha256", sha}};
}

json WithXxh3(json file, const std::string& xxh3) {
  file["xxh3"] = xxh3;
  return file;
}

TEST(DatasetManifest, DigestIgnoresListingOrderButNotContent) {
  auto m1 = ParseManifest({{"files", {File("b/x", 2, kB), File("a", 1, kA)}}});
  auto m2 = ParseManifest({{"files", {File("a", 1, kA), File("b/x", 2, kB)}}});
  ASSERT_TRUE(m1.has_value() && m2.has_value());
  EXPECT_EQ(m1->files[0].path, "a");
  EXPECT_EQ(m1->Digest(), m2->Digest());
  EXPECT_EQ(m1->TotalBytes(), 3);
  EXPECT_EQ(m1->Digest().substr(0, 7), "sha256:");
  EXPECT_EQ(m1->Digest().size(), 7u + 64);
  // One byte of size, one digest, one path: three other identities.
  auto size = ParseManifest({{"files", {File("a", 9, kA), File("b/x", 2, kB)}}});
  auto sha = ParseManifest({{"files", {File("a", 1, std::string(64, 'e')), File("b/x", 2, kB)}}});
  auto path = ParseManifest({{"files", {File("A", 1, kA), File("b/x", 2, kB)}}});
  EXPECT_NE(size->Digest(), m1->Digest());
  EXPECT_NE(sha->Digest(), m1->Digest());
  EXPECT_NE(path->Digest(), m1->Digest());
  // The executable bit is part of the identity; false is the absent field.
  json exec = File("a", 1, kA);
  exec["executable"] = true;
  auto x = ParseManifest({{"files", {exec, File("b/x", 2, kB)}}});
  ASSERT_TRUE(x.has_value());
  EXPECT_TRUE(x->files[0].executable);
  EXPECT_NE(x->Digest(), m1->Digest());
  exec["executable"] = false;
  EXPECT_EQ(ParseManifest({{"files", {exec, File("b/x", 2, kB)}}})->Digest(), m1->Digest());
  // The wire form parses back to the same manifest.
  auto again = ParseManifest(ManifestJson(*m1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->Canonical(), m1->Canonical());
}

TEST(DatasetManifest, EmptyManifestIsAVersionToo) {
  auto m = ParseManifest({{"files", json::array()}});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->TotalBytes(), 0);
}

TEST(DatasetManifest, BadEntriesNameTheField) {
  struct Case {
    json files;
    std::string error;
  } cases[] = {
      {{File("../etc/passwd", 1, kA)}, "files[0].path: \"..\" segment"},
      {{File("a/./b", 1, kA)}, "files[0].path: \".\" segment"},
      {{File("/abs", 1, kA)}, "files[0].path: empty segment"},
      {{File("a//b", 1, kA)}, "files[0].path: empty segment"},
      {{File("a/", 1, kA)}, "files[0].path: empty segment"},
      {{File("", 1, kA)}, "files[0].path: 1..1024 bytes"},
      {{File("ok", 1, kA), File("x", -1, kA)}, "files[1].size: an integer >= 0"},
      {{File("a", INT64_MAX, kA), File("b", 1, kB)}, "files[1].size: the files' sizes add up"},
      {{File("x", 1, "ABC")}, "files[0].sha256: 64 lower-case hex"},
      {{File("x", 1, std::string(64, 'A'))}, "files[0].sha256: 64 lower-case hex"},
      {{{{"path", "x"}, {"size", 1}, {"sha256", kA}, {"mode", 1}}}, "files[0].mode: unknown"},
      {{File("x", 1, kA), File("x", 1, kB)}, "files: \"x\" listed twice"},
      {{WithXxh3(File("x", 1, kA), "ABCD")}, "files[0].xxh3: 32 lower-case hex"},
      {{WithXxh3(File("x", 1, kA), kX.substr(1))}, "files[0].xxh3: 32 lower-case hex"},
      {{File("x", 1, kA), File("y", 2, kA)}, "\"x\" and \"y\" have one sha256"},
      {{WithXxh3(File("x", 1, kA), kX), File("y", 1, kA)}, "\"x\" and \"y\" have one sha256"},
      {{File("a", 1, kA), File("a-b", 1, kA), File("a/b", 1, kB)},
       "files: \"a\" is a file and a directory"},
  };
  for (const auto& c : cases) {
    auto m = ParseManifest({{"files", c.files}});
    ASSERT_FALSE(m.has_value()) << c.files.dump();
    EXPECT_NE(m.error().message().find(c.error), std::string::npos)
        << m.error().message() << " wanted " << c.error;
    EXPECT_EQ(m.error().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(ParseManifest(json::array()).has_value());
  EXPECT_FALSE(ParseManifest({{"files", "x"}}).has_value());
}

// The fast checksum is inside the identity (it cannot be swapped without changing the digest),
// and a manifest without one keeps the digest it had before the field existed.
TEST(DatasetManifest, FastChecksumIsPartOfTheIdentityWhenPresent) {
  auto plain = ParseManifest({{"files", {File("a", 1, kA)}}});
  auto with = ParseManifest({{"files", {WithXxh3(File("a", 1, kA), kX)}}});
  auto other = ParseManifest({{"files", {WithXxh3(File("a", 1, kA), std::string(32, 'd'))}}});
  ASSERT_TRUE(plain.has_value() && with.has_value() && other.has_value());
  EXPECT_EQ(plain->Canonical(), R"({"files":[{"path":"a","sha256":")" + kA + R"(","size":1}]})");
  EXPECT_EQ(with->Canonical(),
            R"({"files":[{"path":"a","sha256":")" + kA + R"(","size":1,"xxh3":")" + kX + R"("}]})");
  EXPECT_EQ(with->files[0].xxh3, kX);
  EXPECT_NE(with->Digest(), plain->Digest());
  EXPECT_NE(with->Digest(), other->Digest());
  EXPECT_EQ(ParseManifest(ManifestJson(*with))->Digest(), with->Digest());
}

}  // namespace
}  // namespace kumo::api
