// Datasets end to end (docs/datasets.md): the real `kumo server` with its cache signing key,
// the real `kumo cache serve` trusting the server's JWKS, and the real `kumo dataset` CLI, on
// loopback in a temp dir. Push, versions, immutability, dedup and resumed pushes, ACL (403 from
// the server and from the cache), grants, removal.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/sha256.h"
#include "cache/client/client.h"
#include "cache/storage/content_hash.h"
#include "server/util.h"
#include "test/integration/dataset_fixture.h"
#include "test/integration/server_fixture.h"
#include "test/support/test_process.h"

namespace kumo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Api;
using testing::TempDir;
using testing::WriteFile;
namespace test_process = cache::test_process;
using dataset_testing::DatasetTest;

TEST_F(DatasetTest, PushVersionsPullAclGrantRemove) {
  std::string src = dir_.path() + "/src";
  WriteFile(src + "/train/a.bin", std::string(300000, 'a'));
  WriteFile(src + "/train/b.bin", "bee");
  WriteFile(src + "/labels.txt", "a\nb\n");

  Run v1 = Kumo(alice_, {"push", "mnist", src, "--project", "team-a"});
  ASSERT_EQ(v1.rc, 0) << v1.out;
  EXPECT_NE(v1.out.find("mnist@1 sha256:"), std::string::npos) << v1.out;
  EXPECT_NE(v1.out.find("3 files"), std::string::npos) << v1.out;
  EXPECT_NE(v1.out.find("3 sent"), std::string::npos) << v1.out;

  // Version 2: one file changed, one added. Only those two travel; version 1 stays as it was.
  WriteFile(src + "/labels.txt", "a\nb\nc\n");
  WriteFile(src + "/train/c.bin", "sea");
  Run v2 = Kumo(alice_, {"push", "mnist", src});
  ASSERT_EQ(v2.rc, 0) << v2.out;
  EXPECT_NE(v2.out.find("mnist@2 sha256:"), std::string::npos) << v2.out;
  EXPECT_NE(v2.out.find("2 sent"), std::string::npos) << v2.out;
  Run again = Kumo(alice_, {"push", "mnist", src});
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("mnist@2 sha256:"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("(unchanged)"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("0 sent"), std::string::npos) << again.out;

  std::string out1 = dir_.path() + "/out1";
  Run p1 = Kumo(alice_, {"pull", "mnist@1", out1});
  ASSERT_EQ(p1.rc, 0) << p1.out;
  EXPECT_EQ(testing::ReadFile(out1 + "/labels.txt"), "a\nb\n");
  EXPECT_EQ(testing::ReadFile(out1 + "/train/a.bin"), std::string(300000, 'a'));
  EXPECT_FALSE(fs::exists(out1 + "/train/c.bin"));
  std::string out2 = dir_.path() + "/out2";
  ASSERT_EQ(Kumo(alice_, {"pull", "mnist", out2}).rc, 0);
  EXPECT_EQ(testing::ReadFile(out2 + "/labels.txt"), "a\nb\nc\n");
  EXPECT_EQ(testing::ReadFile(out2 + "/train/c.bin"), "sea");

  // Through a node store: the first pull fetches, the second only links the same inodes.
  std::string store = dir_.path() + "/store";
  Run s1 = Kumo(alice_, {"pull", "mnist@2", dir_.path() + "/s1", "--node-store", store});
  ASSERT_EQ(s1.rc, 0) << s1.out;
  EXPECT_NE(s1.out.find("4 fetched"), std::string::npos) << s1.out;
  Run s2 = Kumo(alice_, {"pull", "mnist@2", dir_.path() + "/s2", "--node-store", store});
  ASSERT_EQ(s2.rc, 0) << s2.out;
  EXPECT_NE(s2.out.find("0 fetched"), std::string::npos) << s2.out;
  EXPECT_EQ(testing::ReadFile(dir_.path() + "/s2/train/c.bin"), "sea");
  EXPECT_EQ(fs::hard_link_count(dir_.path() + "/s2/train/a.bin"), 3u);  // store, s1, s2
  EXPECT_EQ(fs::status(dir_.path() + "/s2/labels.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  // Another project: 403 from the server ...
  Run denied = Kumo(bob_, {"pull", "mnist@2", dir_.path() + "/bob"});
  EXPECT_EQ(denied.rc, 1);
  EXPECT_NE(denied.out.find("may not read dataset \"mnist\""), std::string::npos) << denied.out;
  EXPECT_EQ(Kumo(bob_, {"push", "mnist", src}).rc, 1);
  // ... and from the cache: bob's own token does not reach team-a's objects.
  std::string bsrc = dir_.path() + "/bsrc";
  WriteFile(bsrc + "/x", "x");
  ASSERT_EQ(Kumo(bob_, {"push", "bobdata", bsrc}).rc, 0);
  json bob_version = Api(server_port_, bob_).Call("GET", "/v1/datasets/bobdata/versions/1").body;
  json alice_version = Api(server_port_, alice_).Call("GET", "/v1/datasets/mnist/versions/2").body;
  std::string key = alice_version["cache"]["prefix"].get<std::string>() +
                    alice_version["manifest"]["files"][0]["sha256"].get<std::string>();
  auto as = [&](const json& version) {
    cache::ClientOptions o;
    o.servers = {"127.0.0.1:" + std::to_string(cache_port_)};
    o.token = version["cache"]["token"];
    return std::move(*cache::CacheClient::Create(o));
  };
  auto bob_read = as(bob_version)->Get("datasets", key);
  ASSERT_FALSE(bob_read.has_value());
  EXPECT_EQ(cache::HttpStatusOf(bob_read.error()), 403);
  EXPECT_TRUE(as(alice_version)->Get("datasets", key).has_value());
  // A read token does not write, even its own dataset.
  EXPECT_EQ(cache::HttpStatusOf(as(alice_version)->Put("datasets", key, "evil").error()), 403);

  // A grant lets team-b read (not write).
  ASSERT_EQ(Kumo(alice_, {"grant", "mnist", "--project", "team-b"}).rc, 0);
  Run granted = Kumo(bob_, {"pull", "mnist@2", dir_.path() + "/bob"});
  ASSERT_EQ(granted.rc, 0) << granted.out;
  EXPECT_EQ(testing::ReadFile(dir_.path() + "/bob/labels.txt"), "a\nb\nc\n");
  EXPECT_EQ(Kumo(bob_, {"push", "mnist", src}).rc, 1);
  Run listed = Kumo(bob_, {"ls", "-o", "json"});
  EXPECT_NE(listed.out.find("\"mnist\""), std::string::npos) << listed.out;

  // Removing version 1 leaves version 2 and never reuses the number.
  ASSERT_EQ(Kumo(alice_, {"rm", "mnist@1"}).rc, 0);
  EXPECT_EQ(Kumo(alice_, {"describe", "mnist@1"}).rc, 1);
  EXPECT_EQ(Kumo(alice_, {"describe", "mnist@2"}).rc, 0);
  WriteFile(src + "/labels.txt", "z\n");
  Run v3 = Kumo(alice_, {"push", "mnist", src});
  EXPECT_NE(v3.out.find("mnist@3 sha256:"), std::string::npos) << v3.out;
}

// A push that died after some uploads sends only the rest when run again; a manifest naming
// bytes that were never uploaded is refused.
TEST_F(DatasetTest, InterruptedPushResumesAndMissingObjectsAreRefused) {
  std::string src = dir_.path() + "/src";
  for (int i = 0; i < 5; ++i) WriteFile(src + "/f" + std::to_string(i), std::string(1000 + i, 'x'));
  Api alice(server_port_, alice_);
  Api::Reply started = alice.Call("POST", "/v1/datasets/cifar/uploads", R"({"project":"team-a"})");
  ASSERT_EQ(started.status, 200) << started.text;
  cache::ClientOptions o;
  o.servers = started.body["cache"]["servers"].get<std::vector<std::string>>();
  o.token = started.body["cache"]["token"];
  auto client = std::move(*cache::CacheClient::Create(o));
  std::string prefix = started.body["cache"]["prefix"];
  // What the first, interrupted push got through: two of the five files.
  for (int i = 0; i < 2; ++i) {
    std::string bytes(1000 + i, 'x');
    ASSERT_TRUE(client->Put("datasets", prefix + Sha256Hex(bytes), bytes).has_value());
  }
  json bogus = {{"files", {{{"path", "f0"}, {"size", 1000}, {"sha256", std::string(64, 'e')}}}}};
  Api::Reply refused = alice.Call("POST", "/v1/datasets/cifar/versions", bogus.dump());
  EXPECT_EQ(refused.status, 409) << refused.text;
  EXPECT_NE(refused.text.find("was not uploaded"), std::string::npos) << refused.text;

  Run resumed = Kumo(alice_, {"push", "cifar", src});
  ASSERT_EQ(resumed.rc, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("cifar@1"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("3 sent"), std::string::npos) << resumed.out;
  // The JWKS the cache trusts is the one the API publishes.
  EXPECT_EQ(alice.Call("GET", "/v1/cache/jwks").body,
            json::parse(testing::ReadFile(data_ + "/cache-jwks.json")));
}

// A pull checks every byte against the manifest's SHA-256: an object whose bytes were replaced
// in the cache (same size, one byte flipped past the first pipe load) is refused, and neither
// the destination nor the node store keeps anything of it; with the right bytes back it pulls.
// Flips (and, called again, restores) byte `at` of the object holding `bytes` inside the
// cache's store, on disk: corruption at rest, which no upload can cause (the cache checks
// every dataset upload's SHA-256). The object's file is its header, then its bytes.
void FlipStoredByte(const std::string& cache_dir, const std::string& bytes, size_t at) {
  for (const auto& e : fs::recursive_directory_iterator(cache_dir + "/objects")) {
    if (!e.is_regular_file() || e.file_size() <= bytes.size() ||
        e.file_size() > bytes.size() + 4096)
      continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(e.file_size() - bytes.size() + at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(e.file_size() - bytes.size() + at));
    f.put(static_cast<char>(c ^ 0x20));
    return;
  }
  FAIL() << "no object of " << bytes.size() << " bytes in " << cache_dir;
}

// A body's fields of the wrong type are 400s naming the field, not 500s; nothing is created.
TEST_F(DatasetTest, BodiesWithFieldsOfTheWrongTypeAre400) {
  Api alice(server_port_, alice_);
  Api::Reply upload = alice.Call("POST", "/v1/datasets/typed/uploads", R"({"project": 5})");
  EXPECT_EQ(upload.status, 400) << upload.text;
  EXPECT_NE(upload.text.find("project: expected a project name"), std::string::npos) << upload.text;
  Api::Reply version =
      alice.Call("POST", "/v1/datasets/typed/versions", R"({"project": ["team-a"], "files": []})");
  EXPECT_EQ(version.status, 400) << version.text;
  EXPECT_EQ(alice.Call("GET", "/v1/datasets/typed").status, 404);
}

TEST_F(DatasetTest, APullRefusesBytesThatDoNotHashToTheManifest) {
  std::string src = dir_.path() + "/src";
  std::string good = std::string(3 << 20, 'g') + "tail";
  WriteFile(src + "/big.bin", good);
  WriteFile(src + "/small.txt", "small");
  ASSERT_EQ(Kumo(alice_, {"push", "ds", src, "--project", "team-a"}).rc, 0);
  Api alice(server_port_, alice_);
  Api::Reply v = alice.Call("GET", "/v1/datasets/ds/versions/1");
  ASSERT_EQ(v.status, 200) << v.text;
  EXPECT_EQ(v.body["manifest"]["files"][0]["xxh3"], cache::Xxh3Hex(good));
  // Other bytes under the object's name: the cache refuses the upload (sha256_keys).
  Api::Reply started = alice.Call("POST", "/v1/datasets/ds/uploads", "{}");
  ASSERT_EQ(started.status, 200) << started.text;
  cache::ClientOptions o;
  o.servers = started.body["cache"]["servers"].get<std::vector<std::string>>();
  o.token = started.body["cache"]["token"];
  auto client = std::move(*cache::CacheClient::Create(o));
  std::string key = started.body["cache"]["prefix"].get<std::string>() + Sha256Hex(good);
  std::string bad = good;
  bad[(2 << 20) + 7] = 'b';
  auto refused = client->Put("datasets", key, bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(cache::HttpStatusOf(refused.error()), 400) << refused.error().message();

  // So the byte is swapped on the cache's disk. Every pull path refuses it and publishes nothing.
  FlipStoredByte(dir_.path() + "/cache", good, (2 << 20) + 7);
  std::string out = dir_.path() + "/out", store = dir_.path() + "/store";
  Run plain = Kumo(alice_, {"pull", "ds", out});
  EXPECT_EQ(plain.rc, 1);
  EXPECT_NE(plain.out.find("big.bin: the cache's bytes do not match the manifest"),
            std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("xxh3"), std::string::npos) << plain.out;
  EXPECT_FALSE(fs::exists(out + "/big.bin"));
  EXPECT_FALSE(fs::exists(out + "/big.bin.kumo-partial"));
  Run full = Kumo(alice_, {"pull", "ds", out, "--verify", "sha256"});
  EXPECT_EQ(full.rc, 1);
  EXPECT_NE(full.out.find("do not match the manifest (3145732 bytes, sha256"), std::string::npos)
      << full.out;
  EXPECT_FALSE(fs::exists(out + "/big.bin"));
  Run stored = Kumo(alice_, {"pull", "ds", dir_.path() + "/out2", "--node-store", store});
  EXPECT_EQ(stored.rc, 1);
  EXPECT_NE(stored.out.find("do not match the manifest"), std::string::npos) << stored.out;
  EXPECT_FALSE(fs::exists(store + "/objects/" + Sha256Hex(good).substr(0, 2) + "/" +
                          Sha256Hex(good)));
  EXPECT_TRUE(fs::is_empty(store + "/tmp"));
  // Nor small.txt's object, though its bytes were right: a pull adopts objects only after all
  // of them were fetched and checked (node_store.h), so a failed one adopts none.
  for (const auto& e : fs::recursive_directory_iterator(store + "/objects"))
    EXPECT_TRUE(e.is_directory()) << e.path();

  FlipStoredByte(dir_.path() + "/cache", good, (2 << 20) + 7);  // restored
  Run fixed = Kumo(alice_, {"pull", "ds", dir_.path() + "/out2", "--node-store", store});
  ASSERT_EQ(fixed.rc, 0) << fixed.out;
  EXPECT_TRUE(testing::ReadFile(dir_.path() + "/out2/big.bin") == good);
  ASSERT_EQ(Kumo(alice_, {"pull", "ds", out, "--verify", "sha256"}).rc, 0);
  EXPECT_TRUE(testing::ReadFile(out + "/big.bin") == good);
  EXPECT_EQ(Kumo(alice_, {"pull", "ds", "--verify", "md5", out}).rc, 2);
}

// A machine crash (stood for by a boot the store did not record: its boot_id rewritten here)
// can leave an object whose bytes never reached the disk. The next pull's Open hashes every
// object, drops the torn one, fetches it again and re-links the tree it tore (node_store.h).
TEST_F(DatasetTest, AStoreFromAnotherBootDropsATornObjectAndThePullFetchesItAgain) {
  const std::string bytes(100000, 'a');
  std::string src = dir_.path() + "/src";
  WriteFile(src + "/a.bin", bytes);
  WriteFile(src + "/b.txt", "bee");
  ASSERT_EQ(Kumo(alice_, {"push", "ds", src, "--project", "team-a"}).rc, 0);
  std::string store = dir_.path() + "/store", out = dir_.path() + "/out";
  Run first = Kumo(alice_, {"pull", "ds", out, "--node-store", store});
  ASSERT_EQ(first.rc, 0) << first.out;
  EXPECT_NE(first.out.find("2 fetched"), std::string::npos) << first.out;

  const std::string sha = Sha256Hex(bytes);
  const std::string object = store + "/objects/" + sha.substr(0, 2) + "/" + sha;
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('z');
  }
  // In the boot the store recorded it trusts its names: nothing is read or fetched.
  Run same = Kumo(alice_, {"pull", "ds", out, "--node-store", store});
  ASSERT_EQ(same.rc, 0) << same.out;
  EXPECT_NE(same.out.find("0 fetched"), std::string::npos) << same.out;

  WriteFile(store + "/boot_id", "another-boot\n");
  Run after = Kumo(alice_, {"pull", "ds", out, "--node-store", store});
  ASSERT_EQ(after.rc, 0) << after.out;
  EXPECT_NE(after.out.find("does not hash to its name"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("1 fetched"), std::string::npos) << after.out;
  EXPECT_TRUE(testing::ReadFile(out + "/a.bin") == bytes);
  EXPECT_EQ(fs::hard_link_count(out + "/a.bin"), 2u);  // the new object's inode: store, out
}

// A manifest from before the fast checksum (or from the Python client) has no xxh3: its pull
// checks SHA-256, and refuses a swapped byte all the same.
TEST_F(DatasetTest, AManifestWithoutXxh3IsCheckedBySha256) {
  std::string src = dir_.path() + "/src";
  std::string good(1 << 20, 'x');
  WriteFile(src + "/a.bin", good);
  ASSERT_EQ(Kumo(alice_, {"push", "ds", src, "--project", "team-a"}).rc, 0);
  Api alice(server_port_, alice_);
  json files =
      json::array({{{"path", "a.bin"}, {"size", good.size()}, {"sha256", Sha256Hex(good)}}});
  Api::Reply v2 = alice.Call("POST", "/v1/datasets/ds/versions", json{{"files", files}}.dump());
  ASSERT_EQ(v2.status, 201) << v2.text;
  EXPECT_FALSE(v2.body.contains("manifest") && v2.body["manifest"]["files"][0].contains("xxh3"));
  FlipStoredByte(dir_.path() + "/cache", good, 12345);
  Run old = Kumo(alice_, {"pull", "ds@2", dir_.path() + "/out"});
  EXPECT_EQ(old.rc, 1);
  EXPECT_NE(old.out.find("a.bin: the cache's bytes do not match the manifest (1048576 bytes, "
                         "sha256"),
            std::string::npos)
      << old.out;
  FlipStoredByte(dir_.path() + "/cache", good, 12345);
  ASSERT_EQ(Kumo(alice_, {"pull", "ds@2", dir_.path() + "/out"}).rc, 0);
  EXPECT_TRUE(testing::ReadFile(dir_.path() + "/out/a.bin") == good);
}

}  // namespace
}  // namespace kumo
