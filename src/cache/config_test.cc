#include "cache/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cache/cache_command.h"
#include "cache/test_process.h"

namespace kumo::cache {
namespace {

const std::vector<ConfigFlag> kKnown = {
    {"listen", ConfigValueKind::kString},   {"capacity", ConfigValueKind::kSize},
    {"max-object", ConfigValueKind::kSize}, {"workers", ConfigValueKind::kCount},
    {"verify-reads", ConfigValueKind::kBool}, {"no-auth", ConfigValueKind::kBool},
    {"auth-secret-file", ConfigValueKind::kString}, {"jwks", ConfigValueKind::kString},
};

TEST(CacheConfig, KeysMapToFlagNames) {
  EXPECT_EQ(ConfigKeyToFlag("maxObject"), "max-object");
  EXPECT_EQ(ConfigKeyToFlag("authSecretFile"), "auth-secret-file");
  EXPECT_EQ(ConfigKeyToFlag("jwks"), "jwks");
  EXPECT_EQ(ConfigKeyToFlag("sendfile-min"), "sendfile-min");
}

TEST(CacheConfig, ParsesEveryKind) {
  auto f = ParseConfigFlags(
      "# comment\nlisten: 127.0.0.1:0\ncapacity: 50GiB\nmaxObject: 1024\nworkers: 4\n"
      "verifyReads: true\nnoAuth: false\nauthSecretFile: /s\njwks: /etc/jwks.json\n",
      "c.yaml", kKnown);
  ASSERT_TRUE(f.has_value()) << f.error().message();
  std::map<std::string, std::string> want = {
      {"listen", "127.0.0.1:0"}, {"capacity", "50GiB"},          {"max-object", "1024"},
      {"workers", "4"},          {"verify-reads", "true"},       {"auth-secret-file", "/s"},
      {"jwks", "/etc/jwks.json"}};
  EXPECT_EQ(*f, want);  // a false boolean is left out: the flags are presence-based
  EXPECT_TRUE(ParseConfigFlags("", "c.yaml", kKnown)->empty());
}

// Sizes are Kubernetes quantities (base/quantity.h): Gi = 2^30, G = 10^9.
TEST(CacheConfig, SizesAreKubernetesQuantities) {
  EXPECT_EQ(ParseByteSize("50Gi"), uint64_t{50} << 30);
  EXPECT_EQ(ParseByteSize("64Ki"), 65536u);
  EXPECT_EQ(ParseByteSize("1.5Mi"), uint64_t{3} << 19);
  EXPECT_EQ(ParseByteSize("2k"), 2000u);
  EXPECT_EQ(ParseByteSize("1024"), 1024u);
  EXPECT_EQ(ParseByteSize("0"), 0u);
  for (const char* bad : {"", "B", "GiB", "lots", "-1Gi", "1.5", "1KB", "1 Gi", "16EiB"}) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseByteSize(bad), std::nullopt) << bad;
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << bad;
  }
}

// The cache's sizes before the one grammar: "50GiB" keeps its value, a bare "50G" now means 10^9s;
// both still parse, with a warning on stderr (once per spelling per process, so these spellings
// appear in no other test).
TEST(CacheConfig, OldSizeSpellingsWarn) {
  struct Old {
    const char* text;
    uint64_t bytes;
    const char* warning;
  };
  const Old cases[] = {
      {"7GiB", uint64_t{7} << 30, "is deprecated: write 7Gi (the same size)"},
      {"3KiB", 3072, "is deprecated: write 3Ki (the same size)"},
      {"5MiB", uint64_t{5} << 20, "is deprecated: write 5Mi (the same size)"},
      {"2TiB", uint64_t{2} << 40, "is deprecated: write 2Ti (the same size)"},
      {"10B", 10, "is deprecated: write 10 (the same size)"},
      {"9G", 9'000'000'000,
       "now means 9000000000 bytes (powers of 1000, as in Kubernetes); write 9Gi for the size it "
       "meant before"},
      {"64K", 64'000, "now means 64000 bytes"},
      {"3M", 3'000'000, "write 3Mi for the size it meant before"},
      {"1T", 1'000'000'000'000, "now means 1000000000000 bytes"},
  };
  for (const Old& o : cases) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseByteSize(o.text), o.bytes) << o.text;
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.rfind("kumo cache: size \"" + std::string(o.text) + "\" ", 0), 0u) << err;
    EXPECT_NE(err.find(o.warning), std::string::npos) << err;
    // A config file is checked and then read again: one warning is enough.
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseByteSize(o.text), o.bytes) << o.text;
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << o.text;
  }
}

TEST(CacheConfig, ErrorsNameTheFileLineAndKey) {
  struct Case {
    std::string text, message;
  };
  std::vector<Case> cases = {
      {"listen: a:1\n\n\ncapacity: lots\n", "config.yaml:4: capacity: not a size"},
      {"listen: a:1\ncolour: blue\n", "config.yaml:2: colour: unknown setting"},
      {"workers: -3\n", "config.yaml:1: workers: not a number"},
      {"verifyReads: maybe\n", "config.yaml:1: verifyReads: not true or false"},
      {"listen: [a, b]\n", "config.yaml:1: listen: want a single value"},
      {"maxObject: 1\nmax-object: 2\n", "config.yaml:2: max-object: set twice (as max-object)"},
      {"- a\n- b\n", "config.yaml:1: want a mapping of settings (key: value)"},
      {"capacity: 1\nlisten: [a, b\n", "config.yaml:3: invalid YAML: "},  // yaml-cpp's words follow
  };
  for (const Case& c : cases) {
    auto f = ParseConfigFlags(c.text, "config.yaml", kKnown);
    ASSERT_FALSE(f.has_value()) << c.text;
    EXPECT_EQ(f.error().message().rfind(c.message, 0), 0u) << f.error().message();
  }
}

// The real binary: a bad file exits 2 naming line and key; flags override the file.
TEST(CacheConfig, ServeRefusesABadFileWithExitCode2) {
  std::string dir = test_process::MakeTempDir("kumo-cache-config");
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir + "/config.yaml") << "dir: " << dir << "/cache\nnoAuth: true\n\n"
                                      << "capacity: not-a-size\n";
  test_process::SpawnOptions o;
  o.stdout_path = dir + "/serve.out";  // stderr too
  int rc = test_process::RunToExit({KUMO_BINARY, "cache", "serve", "--config", dir + "/config.yaml"}, o);
  std::string out = test_process::ReadAll(o.stdout_path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find(dir + "/config.yaml:4: capacity: not a size"), std::string::npos) << out;
  // The command line's --capacity wins over the file's, but the file is still checked first.
  std::ofstream(dir + "/config.yaml") << "capacity: 1MiB\nworkers: 0\n";
  rc = test_process::RunToExit({KUMO_BINARY, "cache", "serve", "--config", dir + "/config.yaml",
                                "--dir", dir + "/cache", "--no-auth"},
                               o);
  out = test_process::ReadAll(o.stdout_path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--workers wants 1..256"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kumo::cache
