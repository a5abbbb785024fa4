#include "cache/serve_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

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

TEST(CacheConfig, ErrorsNameTheFileLineAndKey) {
  struct Case {
    std::string text, message;
  };
  std::vector<Case> cases = {
      {"listen: a:1\n\n\ncapacity: lots\n", "config.yaml line 4: capacity: not a size"},
      {"listen: a:1\ncolour: blue\n", "config.yaml line 2: colour: unknown setting"},
      {"workers: -3\n", "config.yaml line 1: workers: not a number"},
      {"verifyReads: maybe\n", "config.yaml line 1: verifyReads: not true or false"},
      {"listen: [a, b]\n", "config.yaml line 1: listen: want a single value"},
      {"maxObject: 1\nmax-object: 2\n", "config.yaml line 2: max-object: set twice (as max-object)"},
      {"- a\n- b\n", "config.yaml line 1: want a mapping of settings (key: value)"},
      {"capacity: 1\nlisten: [a, b\n", "config.yaml line "},  // yaml-cpp's message follows
  };
  for (const Case& c : cases) {
    auto f = ParseConfigFlags(c.text, "config.yaml", kKnown);
    ASSERT_FALSE(f.has_value()) << c.text;
    EXPECT_EQ(f.error().message().rfind(c.message, 0), 0u) << f.error().message();
  }
}

}  // namespace
}  // namespace kumo::cache
