#include "cli/results_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "base/random.h"
#include "cli/invocation.h"
#include "client/format.h"
#include "client/progress_bar.h"
#include "http/http.h"

namespace kumo::cli {
namespace {

namespace fs = std::filesystem;
using client::FlagDef;
using nlohmann::json;

constexpr int kOk = kExitOk, kFailed = kExitFailed;

std::string Text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return client::FormatNumber(v);
  return v.dump();
}

// "sha256:3b1f0c..." -> "3b1f0c9a2e1d" (enough to tell runs apart in a table).
std::string ShortDigest(const json& v) {
  if (!v.is_string()) return "-";
  std::string s = v.get<std::string>();
  return s.substr(s.find(':') + 1, 12);
}

std::optional<int64_t> JobId(const std::string& s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(s);
}

int Results(Invocation& c) {
  if (c.args.positional.size() != 1 || !JobId(c.args.positional[0]))
    return c.Usage("results wants one job ID");
  auto r = c.Call("GET", "/v1/jobs/" + c.args.positional[0] + "/results");
  if (!r) return kFailed;
  if (c.Json()) return std::printf("%s\n", (*r)["items"].dump(2).c_str()), kOk;
  std::vector<std::vector<std::string>> rows;
  for (const json& res : (*r)["items"]) {
    const json& cv = res.value("codeVersion", json::object());
    std::string outputs;
    for (const json& o : res.value("outputs", json::array()))
      outputs += (outputs.empty() ? "" : ",") + Text(o["path"]);
    rows.push_back({Text(res["attempt"]), Text(res["outcome"]), Text(res["seed"]),
                    ShortDigest(cv.value("snapshot", json(nullptr))),
                    res.value("metrics", json(nullptr)).is_null() ? "-" : res["metrics"].dump(),
                    outputs.empty() ? "-" : outputs});
  }
  std::fputs(client::FormatTable({"ATTEMPT", "OUTCOME", "SEED", "SNAPSHOT", "METRICS", "OUTPUTS"},
                                 rows)
                 .c_str(),
             stdout);
  return kOk;
}

// The latest Result of every job in the project, metrics as columns, to compare runs.
int GetResults(Invocation& c) {
  if (c.args.positional.size() != 1) return c.Usage("get results takes no other argument");
  std::string target = "/v1/jobs?all=true";
  if (c.args.Has("--project")) target += "&project=" + http::PercentEncode(c.args.Get("--project"));
  auto jobs = c.Call("GET", target);
  if (!jobs) return kFailed;
  std::vector<json> latest;
  std::set<std::string> metric_names;
  for (const json& j : (*jobs)["items"]) {
    auto r = c.Call("GET", "/v1/jobs/" + std::to_string(j["id"].get<int64_t>()) + "/results");
    if (!r) return kFailed;
    if ((*r)["items"].empty()) continue;
    json res = (*r)["items"].back();
    res["name"] = j["name"];
    res["project"] = j["project"];
    if (res.value("metrics", json(nullptr)).is_object())
      for (auto& [k, v] : res["metrics"].items()) metric_names.insert(k);
    latest.push_back(std::move(res));
  }
  if (c.Json()) return std::printf("%s\n", json(latest).dump(2).c_str()), kOk;
  std::vector<std::string> headers = {"JOB", "NAME", "PROJECT", "OUTCOME", "SEED", "SNAPSHOT"};
  for (const auto& m : metric_names) headers.push_back(m);
  std::vector<std::vector<std::string>> rows;
  for (const json& res : latest) {
    const json& cv = res.value("codeVersion", json::object());
    std::vector<std::string> row = {Text(res["job"]), Text(res["name"]), Text(res["project"]),
                                    Text(res["outcome"]), Text(res["seed"]),
                                    ShortDigest(cv.value("snapshot", json(nullptr)))};
    const json& m = res.value("metrics", json(nullptr));
    for (const auto& name : metric_names)
      row.push_back(m.is_object() && m.contains(name) ? Text(m[name]) : "-");
    rows.push_back(std::move(row));
  }
  std::fputs(client::FormatTable(headers, rows).c_str(), stdout);
  return kOk;
}

// Downloads one output of `size` bytes (as listed) to `dest` through DEST.kumo-partial, in the
// server's pieces, so neither side holds the file.
// Copies output `path` of the attempt `base` names (".../outputs", "?attempt=N" in `attempt_query`)
// to `dest`, piece by piece.
bool FetchOutput(Invocation& c, const std::string& base, const std::string& attempt_query,
                 const std::string& path, int64_t size, const std::string& dest,
                 client::ProgressBar& bar) {
  std::error_code ec;
  if (fs::path(dest).has_parent_path()) fs::create_directories(fs::path(dest).parent_path(), ec);
  std::string partial = dest + ".kumo-partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return c.Fail(partial + ": cannot write"), false;
  std::string encoded;
  for (const auto& seg : fs::path(path)) encoded += "/" + http::PercentEncode(seg.string());
  int64_t offset = 0;
  bool ok = true;
  while (ok && offset < size) {
    auto r = c.Raw("GET", base + encoded + attempt_query + "&offset=" + std::to_string(offset));
    if (!r || r->raw.empty()) {
      if (r) c.Fail(path + ": the file shrank while it was copied");
      ok = false;
      break;
    }
    size_t n = std::min<size_t>(r->raw.size(), static_cast<size_t>(size - offset));
    ok = ::write(fd, r->raw.data(), n) == static_cast<ssize_t>(n);
    if (!ok) c.Fail(partial + ": write failed");
    offset += static_cast<int64_t>(n);
    bar.Add(0, n, n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (ok && ::rename(partial.c_str(), dest.c_str()) != 0) ok = c.Fail(dest + ": rename failed") == 0;
  if (!ok) ::unlink(partial.c_str());
  bar.Add(ok ? 1 : 0, 0, 0);
  return ok;
}

// kumo cp ID[:PATH] DEST. Without PATH every output; PATH names a file or a directory of
// outputs. A single file goes to DEST (or DEST/NAME when DEST is a directory); several keep
// their paths relative to the output directory under DEST.
int Cp(Invocation& c) {
  if (c.args.positional.size() != 2) return c.Usage("cp wants ID[:PATH] DEST");
  std::string src = c.args.positional[0], dest = c.args.positional[1];
  size_t colon = src.find(':');
  std::string id = src.substr(0, colon);
  std::string path = colon == std::string::npos ? "" : src.substr(colon + 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (!JobId(id)) return c.Usage("cp wants ID[:PATH] DEST");
  std::string base = "/v1/jobs/" + id + "/outputs";
  if (c.args.Has("--attempt")) base += "?attempt=" + http::PercentEncode(c.args.Get("--attempt"));
  auto listed = c.Call("GET", base);
  if (!listed) return kFailed;
  base = "/v1/jobs/" + id + "/outputs";
  // Every piece from the attempt listed, even if another starts meanwhile (or --attempt named one).
  const std::string attempt_query =
      "?attempt=" + std::to_string((*listed).value("attempt", int64_t{0}));
  std::vector<std::pair<std::string, int64_t>> files;
  bool exact = false;
  int64_t total = 0;
  for (const json& f : (*listed)["files"]) {
    std::string p = f["path"];
    bool match = path.empty() || p == path || p.starts_with(path + "/");
    if (!match) continue;
    exact |= p == path;
    files.emplace_back(p, f["size"].get<int64_t>());
    total += files.back().second;
  }
  if (files.empty())
    return c.Fail(path.empty() ? "job " + id + " has no outputs"
                               : "job " + id + ": no output \"" + path + "\"");
  client::ProgressBar bar("cp " + src, files.size(), static_cast<uint64_t>(total));
  std::error_code ec;
  for (const auto& [p, size] : files) {
    std::string to = dest + "/" + p;
    if (exact) to = fs::is_directory(dest, ec) ? dest + "/" + fs::path(p).filename().string() : dest;
    if (!FetchOutput(c, base, attempt_query, p, size, to, bar)) return kFailed;
  }
  bar.Finish();
  std::printf("copied %zu file(s), %s, from job %s\n", files.size(),
              client::FormatBytes(total).c_str(), id.c_str());
  return kOk;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RandomBytes(raw.data(), raw.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) out += {kHex[b >> 4], kHex[b & 15]};
  return out;
}

// kumo rerun ID: a new job with the spec, code snapshot and seed of ID's latest Result.
int Rerun(Invocation& c) {
  if (c.args.positional.size() != 1 || !JobId(c.args.positional[0]))
    return c.Usage("rerun wants one job ID");
  const std::string& id = c.args.positional[0];
  auto r = c.Call("GET", "/v1/jobs/" + id + "/results");
  if (!r) return kFailed;
  if ((*r)["items"].empty())
    return c.Fail("job " + id + " has no Result yet (rerun repeats a finished attempt)");
  const json& res = (*r)["items"].back();
  json code = res.value("codeVersion", json::object());
  if (!code.contains("snapshot"))
    return c.Fail("job " + id + " ran without a code snapshot (--no-snapshot): its code cannot "
                  "be repeated");
  std::string snapshot = code["snapshot"], submit_dir = code.value("submitDir", "");
  code.erase("snapshot");
  code.erase("submitDir");
  code.erase("rerunOf");
  auto created = c.Raw("POST", "/v1/jobs", res["spec"].get<std::string>(),
                       {{"Content-Type", "application/yaml"},
                        {"X-Kumo-Submit-Dir", submit_dir},
                        {"X-Kumo-Code-Version", code.dump()},
                        {"X-Kumo-Snapshot", snapshot},
                        {"X-Kumo-Rerun-Of", id},
                        {"X-Kumo-Seed", std::to_string(res["seed"].get<uint64_t>())},
                        {"Idempotency-Key", RandomHex(16)}});
  if (!created) return kFailed;
  if (c.Json()) return std::printf("%s\n", created->body.dump(2).c_str()), kOk;
  std::printf("job %lld submitted (rerun of job %s: snapshot %s, seed %llu)\n",
              static_cast<long long>(created->body["id"].get<int64_t>()), id.c_str(),
              ShortDigest(snapshot).c_str(),
              static_cast<unsigned long long>(res["seed"].get<uint64_t>()));
  return kOk;
}

struct Command {
  const char* usage;
  int (*run)(Invocation&);
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> kCommands = {
      {"results", {"usage: kumo results ID [-o table|json]\n", Results}},
      {"get-results", {"usage: kumo get results [--project P] [-o table|json]\n", GetResults}},
      {"cp", {"usage: kumo cp ID[:PATH] DEST [--attempt N]\n", Cp}},
      {"rerun", {"usage: kumo rerun ID [-o table|json]\n", Rerun}}};
  return kCommands;
}

}  // namespace

bool IsResultsCommand(std::string_view cmd, const std::vector<std::string>& args) {
  if (cmd == "get") return !args.empty() && args[0] == "results";
  return cmd == "results" || cmd == "cp" || cmd == "rerun";
}

int RunResultsCommand(const std::string& cmd, const std::vector<std::string>& args) {
  std::string name = cmd == "get" ? "get-results" : cmd;
  const Command& command = Commands().at(name);
  Invocation c;
  c.prog = cmd == "get" ? "kumo get results" : "kumo " + cmd;
  c.usage = std::string(command.usage) + "Run '" + c.prog + " --help' for its flags.\n";
  std::vector<FlagDef> defs = {{{"--server"}, true, "HOST:PORT of the kumo server"},
                               {{"--token"}, true, "API token"},
                               {{"--output", "-o"}, true, "table or json"},
                               {{"--project"}, true, "get results: only this project's jobs"},
                               {{"--attempt"}, true, "cp: this attempt's outputs (default the latest)"}};
  CLI::App app(command.usage, c.prog);
  if (auto exit_code = client::ParseArgs(app, args, defs, &c.args)) return *exit_code;
  std::string out = c.args.Get("--output", "table");
  if (out != "table" && out != "json") return c.Usage("-o wants table or json");
  if (!c.Connect()) return kFailed;
  return command.run(c);
}

}  // namespace kumo::cli
