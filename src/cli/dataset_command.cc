#include "cli/dataset_command.h"

#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/invocation.h"
#include "client/dataset_client.h"
#include "client/format.h"
#include "http/http.h"

namespace kumo::cli {
namespace {

using client::FlagDef;
using nlohmann::json;

constexpr int kOk = kExitOk, kFailed = kExitFailed, kUsage = kExitUsage;

const char kUsageText[] =
    "usage: kumo dataset push NAME DIR [--project P] [--parallel N]\n"
    "       kumo dataset ls [-o table|json]\n"
    "       kumo dataset describe NAME[@VERSION] [-o table|json]\n"
    "       kumo dataset pull NAME[@VERSION] DIR [--parallel N] [--node-store STORE]\n"
    "                                            [--verify fast|sha256]\n"
    "         (VERSION default: latest; with a node store the files are read-only hard links;\n"
    "          --verify sha256 re-checks every object's SHA-256 instead of its XXH3-128)\n"
    "       kumo dataset rm NAME@VERSION [--force]                (--force: admins only)\n"
    "       kumo dataset grant NAME --project P                   (P may read NAME)\n"
    "  common: --server HOST:PORT, --token T (or KUMO_SERVER, KUMO_TOKEN, the config file)\n";

int Parallel(const Invocation& c) { return std::atoi(c.args.Get("--parallel", "8").c_str()); }

std::string Path(const std::string& name) { return "/v1/datasets/" + http::PercentEncode(name); }

void PrintReport(const char* verb, const client::TransferReport& r, double mb_s) {
  std::printf("%s: %llu files (%s), %llu %s (%s), %.1f s, %.1f MB/s\n", verb,
              static_cast<unsigned long long>(r.files),
              client::FormatBytes(static_cast<int64_t>(r.bytes)).c_str(),
              static_cast<unsigned long long>(r.moved_files),
              std::string(verb) == "pushed" ? "sent" : "fetched",
              client::FormatBytes(static_cast<int64_t>(r.moved_bytes)).c_str(), r.seconds, mb_s);
}

int Push(Invocation& c) {
  if (c.args.positional.size() != 2) return c.Usage("push wants NAME DIR");
  client::TransferOptions o;
  o.parallel = Parallel(c);
  if (o.parallel < 1 || o.parallel > 256) return c.Usage("--parallel wants 1..256");
  auto r = client::PushDataset(*c.api, c.args.positional[0], c.args.positional[1],
                               c.args.Get("--project"), o);
  if (!r) return c.Fail(r.error().message());
  const json& v = r->version;
  std::printf("%s@%lld %s%s\n", v.value("name", "").c_str(),
              static_cast<long long>(v.value("version", int64_t{0})),
              v.value("digest", "").c_str(), v.value("created", true) ? "" : " (unchanged)");
  PrintReport("pushed", *r, r->seconds > 0 ? r->moved_bytes / 1e6 / r->seconds : 0);
  return kOk;
}

int Pull(Invocation& c) {
  if (c.args.positional.size() != 2) return c.Usage("pull wants NAME[@VERSION] DIR");
  auto [name, version] = client::SplitNameVersion(c.args.positional[0], "latest");
  client::TransferOptions o;
  o.parallel = Parallel(c);
  o.node_store = c.args.Get("--node-store");
  if (o.parallel < 1 || o.parallel > 256) return c.Usage("--parallel wants 1..256");
  std::string verify = c.args.Get("--verify", "fast");
  if (verify != "fast" && verify != "sha256") return c.Usage("--verify wants fast or sha256");
  o.verify = verify == "sha256" ? client::Verify::kSha256 : client::Verify::kFast;
  auto r = client::PullDataset(*c.api, name, version, c.args.positional[1], o);
  if (!r) return c.Fail(r.error().message());
  std::printf("%s@%lld %s\n", name.c_str(),
              static_cast<long long>(r->version.value("version", int64_t{0})),
              r->version.value("digest", "").c_str());
  PrintReport("pulled", *r, r->seconds > 0 ? r->moved_bytes / 1e6 / r->seconds : 0);
  return kOk;
}

int List(Invocation& c) {
  if (!c.args.positional.empty()) return c.Usage("ls takes no arguments");
  auto r = c.Call("GET", "/v1/datasets");
  if (!r) return kFailed;
  if (c.Json()) return std::printf("%s\n", (*r)["items"].dump(2).c_str()), kOk;
  std::vector<std::vector<std::string>> rows;
  for (const json& d : (*r)["items"]) {
    const json& latest = d["latest"];
    rows.push_back({d["name"], d["project"], latest.is_null() ? "-" : std::to_string(latest["version"].get<int64_t>()),
                    latest.is_null() ? "-" : std::to_string(latest["files"].get<int64_t>()),
                    latest.is_null() ? "-" : client::FormatBytes(latest["bytes"].get<int64_t>()),
                    latest.is_null() ? "-" : latest["digest"].get<std::string>().substr(0, 19)});
  }
  std::fputs(client::FormatTable({"NAME", "PROJECT", "LATEST", "FILES", "SIZE", "DIGEST"}, rows)
                 .c_str(),
             stdout);
  return kOk;
}

int Describe(Invocation& c) {
  if (c.args.positional.size() != 1) return c.Usage("describe wants NAME[@VERSION]");
  auto [name, version] = client::SplitNameVersion(c.args.positional[0], "");
  auto r = c.Call("GET", version.empty() ? Path(name) : Path(name) + "/versions/" + version);
  if (!r) return kFailed;
  if (!version.empty()) r->erase("cache");  // a token is not a description
  if (c.Json()) return std::printf("%s\n", r->dump(2).c_str()), kOk;
  if (!version.empty()) {
    std::printf("Name:     %s@%lld\nProject:  %s\nDigest:   %s\nFiles:    %lld\nSize:     %s\n",
                name.c_str(), static_cast<long long>((*r)["version"].get<int64_t>()),
                (*r)["project"].get<std::string>().c_str(), (*r)["digest"].get<std::string>().c_str(),
                static_cast<long long>((*r)["files"].get<int64_t>()),
                client::FormatBytes((*r)["bytes"].get<int64_t>()).c_str());
    std::vector<std::vector<std::string>> rows;
    for (const json& f : (*r)["manifest"]["files"])
      rows.push_back({f["path"], client::FormatBytes(f["size"].get<int64_t>()), f["sha256"]});
    std::fputs(client::FormatTable({"PATH", "SIZE", "SHA256"}, rows).c_str(), stdout);
    return kOk;
  }
  std::string grants;
  for (const json& g : (*r)["grants"]) grants += (grants.empty() ? "" : ", ") + g.get<std::string>();
  std::printf("Name:     %s\nProject:  %s\nGrants:   %s\n", name.c_str(),
              (*r)["project"].get<std::string>().c_str(), grants.empty() ? "-" : grants.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const json& v : (*r)["versions"])
    rows.push_back({std::to_string(v["version"].get<int64_t>()), v["digest"],
                    std::to_string(v["files"].get<int64_t>()),
                    client::FormatBytes(v["bytes"].get<int64_t>()), v["createdBy"],
                    client::FormatTime(v["createdAt"])});
  std::fputs(
      client::FormatTable({"VERSION", "DIGEST", "FILES", "SIZE", "BY", "CREATED"}, rows).c_str(),
      stdout);
  return kOk;
}

int Remove(Invocation& c) {
  if (c.args.positional.size() != 1) return c.Usage("rm wants NAME@VERSION");
  auto [name, version] = client::SplitNameVersion(c.args.positional[0], "");
  if (version.empty()) return c.Usage("rm wants NAME@VERSION (a version is never implied)");
  std::string target = Path(name) + "/versions/" + version;
  if (c.args.Has("--force")) target += "?force=true";
  if (!c.Call("DELETE", target)) return kFailed;
  std::printf("%s@%s removed\n", name.c_str(), version.c_str());
  return kOk;
}

int Grant(Invocation& c) {
  if (c.args.positional.size() != 1) return c.Usage("grant wants NAME");
  if (!c.args.Has("--project")) return c.Usage("grant wants --project P");
  auto r = c.Call("POST", Path(c.args.positional[0]) + "/grants",
                  json{{"project", c.args.Get("--project")}}.dump());
  if (!r) return kFailed;
  std::printf("project %s may read dataset %s\n", c.args.Get("--project").c_str(),
              c.args.positional[0].c_str());
  return kOk;
}

}  // namespace

int RunDatasetCommand(const std::vector<std::string>& args) {
  using Run = int (*)(Invocation&);
  static const std::map<std::string, Run> kSubcommands = {
      {"push", Push}, {"pull", Pull},     {"ls", List},
      {"describe", Describe}, {"rm", Remove}, {"grant", Grant}};
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsageText, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : kOk;
  }
  auto sub = kSubcommands.find(args[0]);
  if (sub == kSubcommands.end()) {
    std::fprintf(stderr, "kumo dataset: unknown subcommand \"%s\"\n%s", args[0].c_str(),
                 kUsageText);
    return kUsage;
  }
  Invocation c;
  c.prog = "kumo dataset " + args[0];
  c.usage = kUsageText;
  std::vector<FlagDef> defs = {
      {{"--server"}, true, "HOST:PORT of the kumo server"},
      {{"--token"}, true, "API token"},
      {{"--project"}, true, "push: the owner project of a new dataset; grant: who may read"},
      {{"--parallel"}, true, "push, pull: files in flight (default 8)"},
      {{"--output", "-o"}, true, "ls, describe: table or json"},
      {{"--node-store"}, true, "pull: content-addressed store to link from and fetch into"},
      {{"--verify"}, true, "pull: fast (XXH3-128, the default) or sha256"},
      {{"--force"}, false, "rm: remove even when Results name the version (admins)"}};
  CLI::App app(std::string(kUsageText), c.prog);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (auto exit_code = client::ParseArgs(app, rest, defs, &c.args)) return *exit_code;
  std::string out = c.args.Get("--output", "table");
  if (out != "table" && out != "json") return c.Usage("-o wants table or json");
  if (!c.Connect()) return kFailed;
  return sub->second(c);
}

}  // namespace kumo::cli
