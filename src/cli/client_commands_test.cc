// The CLI's pure parts (flags, config resolution, formatting) and one end-to-end run of the
// client commands against a real `kumo server`.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "client/config.h"
#include "client/format.h"
#include "test/support/temp_dir.h"

namespace kumo::client {
namespace {

using nlohmann::json;
using ::kumo::testing::TempDir;

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// ---- flags ----

const std::vector<FlagDef> kDefs = {{{"--output", "-o"}, true},
                                    {{"--server"}, true},
                                    {{"--follow", "-f"}, false},
                                    {{"--filename"}, true}};

// Parses as a command named "kumo test" would: the args, or the exit code ParseFlags chose.
struct Parsed {
  std::optional<int> exit_code;
  ParsedArgs args;
  std::string err;  // what went to stderr
};

Parsed Parse(const std::vector<std::string>& args) {
  CLI::App app("test", "kumo test");
  Parsed p;
  ::testing::internal::CaptureStderr();
  p.exit_code = ParseArgs(app, args, kDefs, &p.args);
  p.err = ::testing::internal::GetCapturedStderr();
  return p;
}

TEST(ParseArgs, FlagsAnywhereAndAllForms) {
  Parsed p = Parse({"jobs", "-o", "json", "12", "--server=h:1", "-f", "13"});
  ASSERT_EQ(p.exit_code, std::nullopt) << p.err;
  EXPECT_EQ(p.args.positional, (std::vector<std::string>{"jobs", "12", "13"}));
  EXPECT_EQ(p.args.Get("--output"), "json");
  EXPECT_EQ(p.args.Get("--server"), "h:1");
  EXPECT_TRUE(p.args.Has("--follow"));
  EXPECT_FALSE(p.args.Has("--filename"));

  Parsed glued = Parse({"-oyaml"});
  ASSERT_EQ(glued.exit_code, std::nullopt) << glued.err;
  EXPECT_EQ(glued.args.Get("--output"), "yaml");

  Parsed last_wins = Parse({"-o", "json", "--output", "yaml"});
  ASSERT_EQ(last_wins.exit_code, std::nullopt) << last_wins.err;
  EXPECT_EQ(last_wins.args.Get("--output"), "yaml");
}

TEST(ParseArgs, DashIsPositionalAndDoubleDashEndsFlags) {
  Parsed p = Parse({"--filename", "-", "--", "-o", "x"});
  ASSERT_EQ(p.exit_code, std::nullopt) << p.err;
  EXPECT_EQ(p.args.Get("--filename"), "-");
  EXPECT_EQ(p.args.positional, (std::vector<std::string>{"-o", "x"}));
  Parsed stdin_pos = Parse({"-"});
  ASSERT_EQ(stdin_pos.exit_code, std::nullopt) << stdin_pos.err;
  EXPECT_EQ(stdin_pos.args.positional, (std::vector<std::string>{"-"}));
}

TEST(ParseArgs, ErrorsExitTwoNamingTheFlag) {
  Parsed unknown = Parse({"--nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err.rfind("kumo test: ", 0), 0u) << unknown.err;
  EXPECT_NE(unknown.err.find("--nope"), std::string::npos) << unknown.err;
  Parsed missing = Parse({"jobs", "-o"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--output"), std::string::npos) << missing.err;
  EXPECT_EQ(Parse({"--follow=maybe"}).exit_code, 2);
  Parsed off = Parse({"-f", "--follow=false"});
  ASSERT_EQ(off.exit_code, std::nullopt) << off.err;
  EXPECT_FALSE(off.args.Has("--follow"));
}

TEST(ParseArgs, HelpExitsZeroListingTheFlags) {
  CLI::App app("test", "kumo test");
  ParsedArgs args;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(ParseArgs(app, {"--help"}, kDefs, &args), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  for (const char* flag : {"--output", "--server", "--follow", "--filename"})
    EXPECT_NE(out.find(flag), std::string::npos) << flag << "\n" << out;
}

// ---- config resolution ----

TEST(ResolveConfig, DefaultsWhenNothingIsSet) {
  TempDir home;
  auto c = ResolveConfig({}, MapEnv({{"HOME", home.Path("")}}));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->server, "127.0.0.1:7080");
  EXPECT_EQ(c->server_source, "default");
  EXPECT_EQ(c->token, "");
}

// The client speaks plain HTTP: an https:// server is refused, never sent the token in clear.
TEST(ResolveConfig, AnHttpsServerIsRefusedNotDowngraded) {
  TempDir home;
  auto c = ResolveConfig({"https://kumo.example:443", "tok"}, MapEnv({{"HOME", home.Path("")}}));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("https is not supported"), std::string::npos)
      << c.error().message();
  auto plain = ResolveConfig({"http://127.0.0.1:7080/", "tok"}, MapEnv({{"HOME", home.Path("")}}));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->server, "127.0.0.1:7080");
}

TEST(ResolveConfig, FlagsBeatEnvironmentBeatsFile) {
  TempDir d;
  std::string cfg = d.Write("config.yaml", "server: file:3\ntoken: file-token\n");
  std::map<std::string, std::string> env = {
      {"KUMO_CONFIG", cfg}, {"KUMO_SERVER", "env:2"}, {"KUMO_TOKEN", "env-token"}};

  auto flags = ResolveConfig({"flag:1", "flag-token"}, MapEnv(env));
  ASSERT_TRUE(flags.has_value());
  EXPECT_EQ(flags->server, "flag:1");
  EXPECT_EQ(flags->token, "flag-token");
  EXPECT_EQ(flags->token_source, "--token");

  auto from_env = ResolveConfig({}, MapEnv(env));
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(from_env->server, "env:2");
  EXPECT_EQ(from_env->token, "env-token");

  env.erase("KUMO_SERVER");
  env.erase("KUMO_TOKEN");
  auto from_file = ResolveConfig({}, MapEnv(env));
  ASSERT_TRUE(from_file.has_value());
  EXPECT_EQ(from_file->server, "file:3");
  EXPECT_EQ(from_file->token, "file-token");
  EXPECT_EQ(from_file->server_source, cfg);

  // Mixed: the server from a flag, the token from the file.
  auto mixed = ResolveConfig({"flag:1", std::nullopt}, MapEnv(env));
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(mixed->server, "flag:1");
  EXPECT_EQ(mixed->token, "file-token");
}

TEST(ResolveConfig, TokenBeforeTokenFileAndRelativeTokenFiles) {
  TempDir d;
  std::string tf = d.Write("tok", "  from-env-file\n");
  auto both = ResolveConfig(
      {}, MapEnv({{"HOME", d.Path("")}, {"KUMO_TOKEN", "direct"}, {"KUMO_TOKEN_FILE", tf}}));
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->token, "direct");
  auto file = ResolveConfig({}, MapEnv({{"HOME", d.Path("")}, {"KUMO_TOKEN_FILE", tf}}));
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->token, "from-env-file");  // trimmed

  // tokenFile in the config file is relative to the config file's directory.
  std::filesystem::create_directories(d.Path("home/.config/kumo"));
  d.Write("home/.config/kumo/admin.token", "cfg-file-token\n");
  d.Write("home/.config/kumo/config.yaml", "server: http://h:9/\ntokenFile: admin.token\n");
  auto cfg = ResolveConfig({}, MapEnv({{"HOME", d.Path("home")}}));
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->token, "cfg-file-token");
  EXPECT_EQ(cfg->server, "h:9");  // URL habits normalized
}

TEST(ResolveConfig, Errors) {
  TempDir d;
  auto missing = ResolveConfig({}, MapEnv({{"KUMO_CONFIG", d.Path("nope.yaml")}}));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("nope.yaml"), std::string::npos);

  std::string typo = d.Write("typo.yaml", "server: a:1\ntokenfile: x\n");
  auto bad = ResolveConfig({}, MapEnv({{"KUMO_CONFIG", typo}}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            typo + ":2: tokenfile: unknown field (known: server, token, tokenFile)");

  // A broken file does not matter when flags say everything.
  auto flags = ResolveConfig({"a:1", "t"}, MapEnv({{"KUMO_CONFIG", typo}}));
  EXPECT_TRUE(flags.has_value());

  auto no_token_file = ResolveConfig({}, MapEnv({{"KUMO_TOKEN_FILE", d.Path("none")}}));
  ASSERT_FALSE(no_token_file.has_value());
  EXPECT_NE(no_token_file.error().message().find("KUMO_TOKEN_FILE"), std::string::npos);
}

// ---- formatting ----

TEST(FormatAge, KubectlShortAges) {
  EXPECT_EQ(FormatAge(0), "0s");
  EXPECT_EQ(FormatAge(12.9), "12s");
  EXPECT_EQ(FormatAge(59.99), "59s");
  EXPECT_EQ(FormatAge(60), "1m");
  EXPECT_EQ(FormatAge(3599), "59m");
  EXPECT_EQ(FormatAge(3600), "1h");
  EXPECT_EQ(FormatAge(2 * 3600 + 59 * 60), "2h");
  EXPECT_EQ(FormatAge(86400), "1d");
  EXPECT_EQ(FormatAge(400 * 86400.0), "1y");
  EXPECT_EQ(FormatAge(-5), "0s");  // clock skew
  EXPECT_EQ(AgeOf(json(nullptr), 100), "-");
  EXPECT_EQ(AgeOf(json(40.0), 100), "1m");
}

TEST(FormatTable, AlignsColumnsWithoutTrailingSpace) {
  std::string t = FormatTable({"ID", "NAME", "PHASE"},
                              {{"1", "train", "Running"}, {"12", "x", ""}, {"3", "ünï", "Done"}});
  EXPECT_EQ(t,
            "ID   NAME    PHASE\n"
            "1    train   Running\n"
            "12   x\n"
            "3    ünï     Done\n");
  EXPECT_EQ(FormatTable({"A"}, {{"multi\nline"}}), "A\nmulti line\n");
}

TEST(FormatQuantities, GpusAndBytes) {
  EXPECT_EQ(FormatGpus(2000), "2");
  EXPECT_EQ(FormatGpus(500), "0.5");
  EXPECT_EQ(FormatGpus(1250), "1.25");
  EXPECT_EQ(FormatGpus(0), "0");
  EXPECT_EQ(FormatBytes(int64_t{16} << 30), "16Gi");
  EXPECT_EQ(FormatBytes(1536), "1.5Ki");
  EXPECT_EQ(FormatBytes(100), "100");
  EXPECT_EQ(FormatNumber(json(2.0)), "2");
  EXPECT_EQ(FormatNumber(json(0.25)), "0.25");
}

TEST(JsonToYaml, KubectlLayout) {
  json v = {{"items", {{{"id", 1}, {"tags", {"a", "b"}}}, {{"id", 2}, {"tags", json::array()}}}},
            {"meta", {{"ok", true}, {"none", nullptr}, {"x", 0.5}}},
            {"empty", json::object()}};
  EXPECT_EQ(JsonToYaml(v),
            "empty: {}\n"
            "items:\n"
            "- id: 1\n"
            "  tags:\n"
            "  - a\n"
            "  - b\n"
            "- id: 2\n"
            "  tags: []\n"
            "meta:\n"
            "  none: null\n"
            "  ok: true\n"
            "  x: 0.5\n");
  EXPECT_EQ(JsonToYaml(json::array()), "[]\n");
  EXPECT_EQ(JsonToYaml({{"spec", "a: 1\nb:\n  - c\n"}}), "spec: |\n  a: 1\n  b:\n    - c\n");
}

TEST(JsonToYaml, StringsReadBackUnchanged) {
  // Every string must come back as the same string, not as a number, bool, null or structure.
  for (std::string s : {"",
                        "plain",
                        "true",
                        "No",
                        "null",
                        "~",
                        "123",
                        "-1",
                        "1e3",
                        ".5",
                        "0x1F",
                        "+1",
                        " lead",
                        "trail ",
                        "a: b",
                        "a #b",
                        "#c",
                        "- x",
                        "-x",
                        "[x]",
                        "{x}",
                        "*a",
                        "&a",
                        "!t",
                        "|",
                        ">",
                        "'q'",
                        "\"q\"",
                        "%p",
                        "@x",
                        "`x",
                        "x:",
                        "x:y",
                        "tab\there",
                        "cr\r\nlf",
                        "one\ntwo",
                        "one\ntwo\n",
                        "one\n\ntwo\n\n\n",
                        "\nlead newline",
                        "  indented\nblock",
                        "日本語",
                        "ctrl\x01",
                        "http://h:1/p"}) {
    json v = {{"k", s}, {"l", {s}}};
    std::string y = JsonToYaml(v);
    YAML::Node n = YAML::Load(y);
    ASSERT_TRUE(n["k"].IsScalar()) << y;
    EXPECT_EQ(n["k"].as<std::string>(), s) << y;
    // Plain scalars that YAML would resolve to another type are quoted (tag "!" = quoted).
    EXPECT_EQ(n["l"][0].as<std::string>(), s) << y;
    if (s == "true" || s == "123" || s == "null" || s == "~" || s.empty()) {
      EXPECT_EQ(n["k"].Tag(), "!") << y;
    }
  }
}

}  // namespace
}  // namespace kumo::client
