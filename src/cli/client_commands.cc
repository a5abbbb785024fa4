#include "cli/client_commands.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/quantity.h"
#include "base/random.h"
#include "base/yaml_error.h"
#include "client/api_client.h"
#include "client/code_version.h"
#include "client/config.h"
#include "client/format.h"
#include "client/snapshot_client.h"
#include "cli/watch.h"
#include "http/http.h"

namespace kumo::cli {
namespace {

using client::FlagDef;
using nlohmann::json;

constexpr int kOk = 0, kFailed = 1, kUsage = 2;

// Jobs that ended longer ago than this are left out of `kumo get jobs` unless --all: the list
// is for what is going on, and a busy cluster's history would bury it.
constexpr double kRecentJobWindowS = 3600;

const char kConfigFileHelp[] =
    "Flags go anywhere after the command. Config file: $KUMO_CONFIG or "
    "~/.config/kumo/config.yaml with server:, token: or tokenFile:.";

struct Ctx;
using RunFn = int (*)(Ctx&);

struct CommandDef {
  const char* name;
  const char* synopsis;     // "usage: ..." lines
  const char* description;  // what it does, "" when the synopsis says it
  std::vector<FlagDef> flags;
  bool has_output;  // takes -o
  RunFn run;
};

// One invocation: its parsed flags, output format and (lazily) the connection.
struct Ctx {
  const CommandDef* def = nullptr;
  std::string prog;  // "kumo get", the prefix of every message
  client::ParsedArgs args;
  std::string output = "table";
  std::unique_ptr<client::ApiClient> api;

  int Fail(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), msg.c_str());
    return kFailed;
  }
  int Usage(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for its flags.\n", prog.c_str(), msg.c_str(),
                 prog.c_str());
    return kUsage;
  }

  // Resolves the server and token on first use; reports and returns false when it cannot.
  bool Connect() {
    if (api) return true;
    client::ConnectionFlags flags;
    if (args.Has("--server")) flags.server = args.Get("--server");
    if (args.Has("--token")) flags.token = args.Get("--token");
    auto config = client::ResolveConfig(flags, client::ProcessEnv());
    if (!config) {
      Fail(config.error().message());
      return false;
    }
    if (config->token.empty()) {
      Fail(
          "no API token: pass --token, set KUMO_TOKEN or KUMO_TOKEN_FILE, or put token: or "
          "tokenFile: in ~/.config/kumo/config.yaml (a server's admin token is in "
          "<data-dir>/admin.token)");
      return false;
    }
    auto a = client::ApiClient::Create(*config);
    if (!a) {
      Fail(a.error().message());
      return false;
    }
    api = std::move(*a);
    return true;
  }

  std::string TransportHint() const {
    const auto& src = api->config().server_source;
    if (src == "default")
      return " (no server configured, so the default was tried: pass --server, set KUMO_SERVER "
             "or put server: in ~/.config/kumo/config.yaml)";
    return " (server address from " + src + ")";
  }

  // The server's answer, any status. Transport failures are reported and give nullopt.
  std::optional<client::ApiResponse> Raw(
      const std::string& method, const std::string& target, const std::string& body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    if (!Connect()) return std::nullopt;
    auto r = api->Call(method, target, body, headers);
    if (!r) {
      Fail(r.error().message() + TransportHint());
      return std::nullopt;
    }
    return *r;
  }

  // An error answer as text: `what` (e.g. "job 12") is prefixed unless the server's message
  // already names it.
  std::string Explain(const client::ApiResponse& r, const std::string& what) const {
    std::string msg = r.ErrorMessage();
    if (r.status == 401) msg += " (token from " + api->config().token_source + ")";
    if (!what.empty() && msg.find(what) == std::string::npos) msg = what + ": " + msg;
    return msg;
  }

  // A successful answer's JSON; anything else is reported and gives nullopt.
  std::optional<json> Call(const std::string& method, const std::string& target,
                           const std::string& what = "", const std::string& body = "") {
    auto r = Raw(method, target, body);
    if (!r) return std::nullopt;
    if (!r->ok()) {
      Fail(Explain(*r, what));
      return std::nullopt;
    }
    return r->body;
  }

  // -o json / -o yaml print `v` as is; -o table prints what `table` makes of it.
  void Print(const json& v, const std::function<std::string()>& table) const {
    std::string text;
    if (output == "json")
      text = v.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    else if (output == "yaml")
      text = client::JsonToYaml(v);
    else
      text = table();
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
};

// ---- Small helpers ----

std::string Str(const json& obj, const char* key, const std::string& empty = "-") {
  if (!obj.is_object() || !obj.contains(key)) return empty;
  const json& v = obj[key];
  if (v.is_null()) return empty;
  if (v.is_string()) return v.get<std::string>().empty() ? empty : v.get<std::string>();
  return client::FormatNumber(v);
}

int64_t Int(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return 0;
  return static_cast<int64_t>(obj[key].get<double>());
}

const json& Items(const json& v) {
  static const json kEmpty = json::array();
  if (v.is_object() && v.contains("items") && v["items"].is_array()) return v["items"];
  return kEmpty;
}

std::optional<int64_t> ParseJobId(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(s);
}

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool Terminal(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Cancelled";
}

std::string TaskGpus(const json& gpus) {
  if (!gpus.is_array() || gpus.empty()) return "-";
  std::string out;
  for (const auto& g : gpus) {
    if (!out.empty()) out += ",";
    out += Str(g, "index");
    // A share of one GPU shows its size: "0(0.5)".
    if (int64_t m = Int(g, "milli"); m > 0 && m < 1000) out += "(" + client::FormatGpus(m) + ")";
  }
  return out;
}

std::string CodeVersionText(const json& cv) {
  if (!cv.is_object() || cv.empty()) return "-";
  if (!cv.contains("gitCommit")) return "not a git checkout (dir " + Str(cv, "dir") + ")";
  std::string s = "git " + Str(cv, "gitCommit");
  if (cv.value("gitDirty", false)) {
    std::string diff = Str(cv, "gitDiffSha256", "");
    s +=
        diff.empty() ? " + uncommitted files" : " + uncommitted changes (diff sha256 " + diff + ")";
  }
  return s + " in " + Str(cv, "dir");
}

std::string Datasets(const json& datasets) {
  if (!datasets.is_array() || datasets.empty()) return "-";
  std::string out;
  for (const auto& d : datasets) {
    if (!out.empty()) out += ", ";
    out += Str(d, "name", "");
    if (std::string v = Str(d, "version", ""); !v.empty() && out.find('@') == std::string::npos)
      out += "@" + v;
    if (std::string p = Str(d, "path", ""); !p.empty()) out += " at " + p;
  }
  return out;
}

// kubectl-describe-like "Label:  value" lines with aligned values and indented tables.
class Describer {
 public:
  void Field(const std::string& label, const std::string& value, int indent = 0) {
    std::string head = std::string(static_cast<size_t>(indent), ' ') + label + ":";
    if (head.size() < 18)
      head.append(18 - head.size(), ' ');
    else
      head += " ";
    out_ += head + value + "\n";
  }
  void Section(const std::string& title, int indent = 0) {
    out_ += std::string(static_cast<size_t>(indent), ' ') + title + ":\n";
  }
  void Table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows, int indent) {
    std::string pad(static_cast<size_t>(indent), ' ');
    if (rows.empty()) {
      out_ += pad + "<none>\n";
      return;
    }
    std::istringstream lines(client::FormatTable(headers, rows));
    for (std::string line; std::getline(lines, line);) out_ += pad + line + "\n";
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// ---- submit ----

// 32 hex digits (128 bits): a fresh idempotency key per submit.
std::string RandomKey() {
  unsigned char bytes[16];
  RandomBytes(bytes, sizeof bytes);
  std::string key;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    key += buf;
  }
  return key;
}

int Submit(Ctx& c) {
  std::string file = c.args.Get("--filename");
  if (file.empty() && c.args.positional.size() == 1)
    file = c.args.positional[0];
  else if (!c.args.positional.empty())
    return c.Usage("unexpected argument \"" + c.args.positional[0] + "\"");
  if (file.empty()) return c.Usage("-f FILE is required (-f - reads standard input)");
  std::string label = file == "-" ? "<stdin>" : file;
  std::string yaml;
  if (file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    yaml = ss.str();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return c.Fail(file + ": cannot read: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    yaml = ss.str();
  }
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  if (ec) return c.Fail("cannot determine the current directory: " + ec.message());
  json code_version = client::CodeVersion(cwd);
  // One key for every try below, so a submission whose answer was lost is not made twice.
  std::string key = RandomKey();
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/yaml"},
      {"X-Kumo-Submit-Dir", cwd},
      {"X-Kumo-Code-Version", code_version.dump(-1, ' ', true, json::error_handler_t::replace)},
      {"Idempotency-Key", key}};
  if (!c.Connect()) return kFailed;
  if (!c.args.Has("--no-snapshot")) {
    auto snapshot = client::UploadSnapshot(*c.api, cwd);
    if (!snapshot) return c.Fail(snapshot.error().message());
    for (const auto& s : snapshot->skipped)
      std::fprintf(stderr, "%s: not in the snapshot (symlink, special file or .git): %s\n",
                   c.prog.c_str(), s.c_str());
    headers.emplace_back("X-Kumo-Snapshot", snapshot->digest);
  }
  Result<client::ApiResponse> r = Error(Status(StatusCode::kInternal, "not tried"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
    r = c.api->Call("POST", "/v1/jobs", yaml, headers);
    if (r) break;
  }
  if (!r) return c.Fail(r.error().message() + c.TransportHint());
  if (!r->ok()) {
    // 400s name the line and field ("line 8: spec..."); with the file: "job.yaml:8: spec...".
    if (r->status == 400)
      return c.Fail(InYamlFile(label, Status::InvalidArgument(r->ErrorMessage())).message());
    return c.Fail(c.Explain(*r, ""));
  }
  c.Print(r->body, [&] { return "job " + Str(r->body, "id") + " submitted\n"; });
  return kOk;
}

// ---- get ----

std::string JobsTable(const std::vector<json>& jobs, double now) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& j : jobs)
    rows.push_back({Str(j, "id"), Str(j, "name"), Str(j, "project"), Str(j, "user"),
                    Str(j, "phase"), Str(j, "reason"), client::FormatGpus(Int(j, "gpuMilli")),
                    Str(j, "tasks"), Str(j, "attempt"), client::AgeOf(j["submitTime"], now)});
  return client::FormatTable(
      {"ID", "NAME", "PROJECT", "USER", "PHASE", "REASON", "GPUS", "TASKS", "ATTEMPT", "AGE"},
      rows);
}

// A node's topology domains, outermost first: "spine-0/leaf-1".
std::string Topology(const json& domains) {
  if (!domains.is_array() || domains.empty()) return "-";
  std::string out;
  for (const auto& d : domains)
    out += (out.empty() ? "" : "/") + (d.is_string() ? d.get<std::string>() : d.dump());
  return out;
}

std::string NodeStatus(const json& n) {
  if (n.value("schedulable", true)) return "Schedulable";
  return Str(n, "cordonReason", "").starts_with("drained") ? "Drained" : "Cordoned";
}

int WatchJobs(Ctx& c, const std::vector<json>& listed, int64_t since);

int GetJobs(Ctx& c, const std::vector<std::string>& names) {
  double now = SystemClock().NowSeconds();
  bool watch = c.args.Has("--watch");
  int64_t since = 0;
  if (watch) {
    if (!names.empty()) return c.Usage("-w watches the job list: give no job IDs");
    if (!c.Connect()) return kFailed;
    auto latest = LatestEventSeq(*c.api);  // before listing: no change falls between the two
    if (!latest) return c.Fail(latest.error().message() + c.TransportHint());
    since = *latest;
  }
  if (!names.empty()) {
    // Named jobs: each fetched directly, so a missing one is an error (exit 1), as in kubectl.
    std::vector<json> jobs;
    for (const auto& name : names) {
      auto id = ParseJobId(name);
      if (!id) return c.Usage("job ID must be a number, got \"" + name + "\"");
      auto j = c.Call("GET", "/v1/jobs/" + name, "job " + name);
      if (!j) return kFailed;
      jobs.push_back(*j);
    }
    json out = jobs.size() == 1 ? jobs[0] : json{{"items", jobs}};
    c.Print(out, [&] { return JobsTable(jobs, now); });
    return kOk;
  }
  std::string target = "/v1/jobs?all=true";
  if (c.args.Has("--project")) target += "&project=" + http::PercentEncode(c.args.Get("--project"));
  if (c.args.Has("--phase")) target += "&phase=" + http::PercentEncode(c.args.Get("--phase"));
  auto v = c.Call("GET", target);
  if (!v) return kFailed;
  bool all = c.args.Has("--all") || c.args.Has("--phase");
  std::vector<json> jobs;
  for (const auto& j : Items(*v)) {
    bool old = Terminal(Str(j, "phase")) && j.contains("endTime") && j["endTime"].is_number() &&
               now - j["endTime"].get<double>() > kRecentJobWindowS;
    if (all || !old) jobs.push_back(j);
  }
  if (watch) return WatchJobs(c, jobs, since);
  c.Print(json{{"items", jobs}}, [&] {
    if (jobs.empty()) return std::string("No jobs found.\n");
    return JobsTable(jobs, now);
  });
  return kOk;
}

// A job's row (or JSON line with -o json) whenever an event shows it changed, as `kubectl get
// -w` prints; runs until interrupted, or until the server stays unreachable for ~30 s.
int WatchJobs(Ctx& c, const std::vector<json>& listed, int64_t since) {
  std::map<int64_t, std::string> shown;  // job id -> the phase/reason/attempt last printed
  auto print = [&](const json& j, bool header) {
    std::string state = Str(j, "phase") + "/" + Str(j, "reason") + "/" + Str(j, "attempt");
    std::string& last = shown[Int(j, "id")];
    if (last == state) return;
    last = state;
    std::string text = c.output == "json"
                           ? j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"
                           : JobsTable({j}, SystemClock().NowSeconds());
    if (c.output != "json" && !header) text = text.substr(text.find('\n') + 1);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  bool header = true;
  if (listed.empty() && c.output != "json") std::fprintf(stderr, "No jobs found.\n");
  for (const json& j : listed) print(j, std::exchange(header, false));
  Status s = FollowEvents(*c.api, since, [&](const json& e) {
    std::string object = Str(e, "object", "");
    if (!object.starts_with("job/")) return true;
    std::string id = object.substr(4);
    // A start shows as Pending/Starting until it has committed: wait that moment out (bounded).
    std::optional<client::ApiResponse> r;
    for (int i = 0; i < 100; ++i) {
      r = c.Raw("GET", "/v1/jobs/" + id);
      if (!r || !r->ok() || Str(r->body, "reason") != "Starting") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (r && r->ok()) print(r->body, std::exchange(header, false));
    return true;
  });
  return c.Fail(s.message());
}

int GetNodes(Ctx& c, const std::vector<std::string>& names) {
  auto v = c.Call("GET", "/v1/nodes");
  if (!v) return kFailed;
  std::vector<json> nodes;
  for (const auto& n : Items(*v))
    if (names.empty() || std::find(names.begin(), names.end(), Str(n, "name")) != names.end())
      nodes.push_back(n);
  for (const auto& name : names) {
    bool found = false;
    for (const auto& n : nodes) found |= Str(n, "name") == name;
    if (!found) return c.Fail("node \"" + name + "\" not found");
  }
  json out = names.size() == 1 ? nodes[0] : json{{"items", nodes}};
  c.Print(out, [&] {
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : nodes) {
      std::set<std::string> models;
      for (const auto& g : n.value("gpus", json::array())) models.insert(Str(g, "model"));
      std::string model;
      for (const auto& m : models) model += (model.empty() ? "" : ",") + m;
      rows.push_back(
          {Str(n, "name"), NodeStatus(n), std::to_string(n.value("gpus", json::array()).size()),
           client::FormatGpus(Int(n, "gpuMilliUsed")), client::FormatGpus(Int(n, "cpuMillis")),
           client::FormatBytes(Int(n, "memoryBytes")), Str(n, "tasks"), model.empty() ? "-" : model,
           Topology(n.value("topology", json::array()))});
    }
    return client::FormatTable(
        {"NAME", "STATUS", "GPUS", "GPUS-USED", "CPU", "MEMORY", "TASKS", "GPU-MODEL", "TOPOLOGY"},
        rows);
  });
  return kOk;
}

std::string ProjectsTable(const std::vector<json>& projects) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : projects)
    rows.push_back({Str(p, "name"), Str(p, "weight"), Str(p, "guaranteedGpus"),
                    Str(p, "maxGpus", "unlimited"), Str(p, "gpusInUse", "0")});
  return client::FormatTable({"NAME", "WEIGHT", "GUARANTEED-GPUS", "MAX-GPUS", "GPUS-IN-USE"},
                             rows);
}

int GetProjects(Ctx& c, const std::vector<std::string>& names) {
  auto v = c.Call("GET", "/v1/projects");
  if (!v) return kFailed;
  std::vector<json> projects;
  for (const auto& p : Items(*v))
    if (names.empty() || std::find(names.begin(), names.end(), Str(p, "name")) != names.end())
      projects.push_back(p);
  for (const auto& name : names) {
    bool found = false;
    for (const auto& p : projects) found |= Str(p, "name") == name;
    if (!found) return c.Fail("project \"" + name + "\" not found (or not yours)");
  }
  json out = names.size() == 1 ? projects[0] : json{{"items", projects}};
  c.Print(out, [&] { return ProjectsTable(projects); });
  return kOk;
}

int Get(Ctx& c) {
  if (c.args.positional.empty())
    return c.Usage("which resource? jobs, nodes or projects (e.g. 'kumo get jobs')");
  std::string what = c.args.positional[0];
  std::vector<std::string> names(c.args.positional.begin() + 1, c.args.positional.end());
  if (what == "jobs" || what == "job") return GetJobs(c, names);
  if (what == "nodes" || what == "node" || what == "no") return GetNodes(c, names);
  if (what == "projects" || what == "project" || what == "proj") return GetProjects(c, names);
  return c.Usage("unknown resource \"" + what + "\" (known: jobs, nodes, projects)");
}

// ---- describe ----

// One attempt's Result under "Results": how it ended, what it ran and what it left.
void DescribeResult(Describer& d, const json& r) {
  std::string reason = Str(r, "reason", "");
  d.Field("Attempt " + Str(r, "attempt"),
          Str(r, "outcome") + (reason.empty() ? "" : " (" + reason + ")"), 2);
  std::string duration = "-";
  if (r.contains("startTime") && r["startTime"].is_number() && r.contains("endTime") &&
      r["endTime"].is_number() && r["startTime"].get<double>() > 0)
    duration = client::FormatAge(r["endTime"].get<double>() - r["startTime"].get<double>());
  d.Field("Started", client::FormatTime(r.value("startTime", json())), 4);
  d.Field("Ended", client::FormatTime(r.value("endTime", json())) + " (ran " + duration + ")", 4);
  d.Field("Spec SHA256", Str(r, "specSha256"), 4);
  d.Field("Code Version", CodeVersionText(r.value("codeVersion", json::object())), 4);
  d.Field("Seed", Str(r, "seed"), 4);
  d.Field("Datasets", Datasets(r.value("datasets", json::array())), 4);
  d.Field("Output Dir", Str(r, "outputDir"), 4);
  std::string outputs;
  for (const auto& o : r.value("outputs", json::array())) {
    if (!outputs.empty()) outputs += ", ";
    outputs += Str(o, "path") + (o.value("exists", false)
                                     ? " (" + client::FormatBytes(Int(o, "bytes")) + ")"
                                     : " (missing)");
  }
  d.Field("Outputs", outputs.empty() ? "-" : outputs, 4);
  std::vector<std::vector<std::string>> trows;
  for (const auto& t : r.value("tasks", json::array()))
    trows.push_back({Str(t, "rank"), Str(t, "group"), Str(t, "node"),
                     TaskGpus(t.value("gpus", json::array())), Str(t, "state"),
                     Str(t, "exitCode"), Int(t, "signal") ? Str(t, "signal") : "-"});
  d.Table({"RANK", "GROUP", "NODE", "GPUS", "STATE", "EXIT", "SIGNAL"}, trows, 4);
}

std::string DescribeJob(const json& j, const json& events, const json& results, double now) {
  Describer d;
  std::string name = Str(j, "name", "");
  d.Field("Job", Str(j, "id") + (name.empty() ? "" : " (" + name + ")"));
  d.Field("Project", Str(j, "project"));
  d.Field("User", Str(j, "user"));
  d.Field("Priority Class", Str(j, "priorityClass"));
  d.Field("Phase", Str(j, "phase"));
  d.Field("Reason", Str(j, "reason"));
  d.Field("Message", Str(j, "message"));
  d.Field("Attempt", Str(j, "attempt") + " (" + Str(j, "failures", "0") + " failed)");
  if (j.contains("queuePosition")) d.Field("Queue Position", Str(j, "queuePosition"));
  if (j.contains("notBefore"))
    d.Field("Retry After", client::FormatTime(j["notBefore"]) + " (in " +
                               client::FormatAge(j["notBefore"].get<double>() - now) + ")");
  auto when = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number()) return std::string("-");
    return client::FormatTime(j[key]) + " (" + client::AgeOf(j[key], now) + " ago)";
  };
  d.Field("Submitted", when("submitTime"));
  d.Field("Started", when("startTime"));
  d.Field("Ended", when("endTime"));
  d.Field("GPUs", client::FormatGpus(Int(j, "gpuMilli")) + " over " + Str(j, "tasks") + " task(s)");
  d.Field("Seed", Str(j, "seed"));
  d.Field("Spec SHA256", Str(j, "specSha256"));
  d.Field("Code Version", CodeVersionText(j.value("codeVersion", json::object())));
  d.Field("Submit Dir", Str(j, "submitDir"));
  d.Field("Output Dir", Str(j, "outputDir"));
  d.Field("Checkpoint Dir", Str(j, "checkpointDir"));
  json spec = j.contains("spec") && j["spec"].is_object() ? j["spec"].value("spec", json::object())
                                                          : json::object();
  d.Field("Datasets", Datasets(spec.value("datasets", json::array())));

  d.Section("Tasks (current attempt)");
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : j.value("currentTasks", json::array()))
    rows.push_back({Str(t, "rank"), Str(t, "group"), Str(t, "replica"), Str(t, "node"),
                    TaskGpus(t.value("gpus", json::array())), Str(t, "state"),
                    Str(t, "state") == "running" ? "-" : Str(t, "exitCode"), Str(t, "pid")});
  d.Table({"RANK", "GROUP", "REPLICA", "NODE", "GPUS", "STATE", "EXIT", "PID"}, rows, 2);

  d.Section("Results");
  if (!results.is_array() || results.empty()) d.Table({}, {}, 2);
  for (const auto& r : results.is_array() ? results : json::array()) DescribeResult(d, r);

  d.Section("Events");
  std::vector<std::vector<std::string>> erows;
  for (const auto& e : events.is_array() ? events : json::array())
    erows.push_back({client::AgeOf(e.value("time", json()), now), Str(e, "type"), Str(e, "reason"),
                     Str(e, "message")});
  d.Table({"AGE", "TYPE", "REASON", "MESSAGE"}, erows, 2);
  return d.str();
}

int Describe(Ctx& c) {
  auto& pos = c.args.positional;
  // "describe job 12", "describe jobs 12" and plain "describe 12".
  if (!pos.empty() && (pos[0] == "job" || pos[0] == "jobs")) pos.erase(pos.begin());
  if (pos.empty()) return c.Usage("which job? 'kumo describe job ID'");
  if (pos.size() > 1 || !ParseJobId(pos[0]))
    return c.Usage("expected one job ID (a number), got \"" + pos.back() + "\"");
  std::string id = pos[0];
  auto j = c.Call("GET", "/v1/jobs/" + id, "job " + id);
  if (!j) return kFailed;
  auto ev = c.Call("GET", "/v1/jobs/" + id + "/events", "job " + id + " events");
  if (!ev) return kFailed;
  auto res = c.Call("GET", "/v1/jobs/" + id + "/results", "job " + id + " results");
  if (!res) return kFailed;
  json out = {{"job", *j}, {"events", Items(*ev)}, {"results", Items(*res)}};
  c.Print(out, [&] { return DescribeJob(*j, Items(*ev), Items(*res), SystemClock().NowSeconds()); });
  return kOk;
}

// ---- logs ----

int Logs(Ctx& c) {
  if (c.args.positional.size() != 1 || !ParseJobId(c.args.positional[0]))
    return c.Usage("expected one job ID: 'kumo logs ID [-f] [--task N] [--stderr]'");
  std::string id = c.args.positional[0];
  std::string task = c.args.Get("--task", "0");
  if (!ParseJobId(task)) return c.Usage("--task: expected a task rank (0, 1, ...)");
  std::string pinned = c.args.Get("--attempt");
  if (!pinned.empty() && !ParseJobId(pinned)) return c.Usage("--attempt: expected a number");
  bool follow = c.args.Has("--follow");
  std::string stream = c.args.Has("--stderr") ? "stderr" : "stdout";
  FILE* out = stdout;
  int64_t offset = 0, attempt = -1;
  int transport_failures = 0;
  if (!c.Connect()) return kFailed;
  for (;;) {
    std::string target = "/v1/jobs/" + id + "/logs?task=" + task + "&stream=" + stream +
                         "&offset=" + std::to_string(offset);
    if (!pinned.empty()) target += "&attempt=" + pinned;
    auto r = c.api->Call("GET", target);
    if (!r) {
      // While following, ride out a server restart (it adopts running tasks); give up after
      // about half a minute of failures.
      if (follow && ++transport_failures < 30) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      return c.Fail(r.error().message() + c.TransportHint());
    }
    transport_failures = 0;
    if (!r->ok()) return c.Fail(c.Explain(*r, "job " + id));
    const json& b = r->body;
    int64_t got_attempt = Int(b, "attempt");
    if (attempt >= 0 && got_attempt != attempt) {
      // The job was retried: a new attempt writes new files, so start those from the top.
      if (attempt > 0)
        std::fprintf(stderr, "%s: attempt %lld started\n", c.prog.c_str(),
                     static_cast<long long>(got_attempt));
      attempt = got_attempt;
      offset = 0;
      continue;
    }
    attempt = got_attempt;
    std::string data = b.value("data", "");
    if (!data.empty()) {
      std::fwrite(data.data(), 1, data.size(), out);
      std::fflush(out);
    }
    offset = Int(b, "next");
    bool more = offset < Int(b, "size");
    if (more) continue;  // the server sends at most 1 MiB at a time
    if (!follow || (b.value("done", false) && data.empty())) break;
    // done with data read: one more round to drain what was written meanwhile.
    if (data.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return kOk;
}

// ---- events ----

std::string EventsTable(const std::vector<json>& events, bool header) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : events)
    rows.push_back({Str(e, "seq"), client::FormatTime(e["time"]), Str(e, "object"), Str(e, "type"),
                    Str(e, "reason"), Str(e, "message")});
  std::string text =
      client::FormatTable({"SEQ", "TIME", "OBJECT", "TYPE", "REASON", "MESSAGE"}, rows);
  return header ? text : text.substr(text.find('\n') + 1);
}

// The event log since --since (default: all of it that the caller may see); -w then follows it.
int Events(Ctx& c) {
  if (!c.args.positional.empty()) return c.Usage("takes no arguments");
  std::string since_text = c.args.Get("--since", "0");
  auto since = ParseJobId(since_text);
  if (!since) return c.Usage("--since: expected an event sequence number");
  std::vector<json> events;
  for (;;) {  // the server pages by 1000
    auto v = c.Call("GET", "/v1/events?since=" + std::to_string(*since));
    if (!v) return kFailed;
    if (Items(*v).empty()) break;
    for (const auto& e : Items(*v)) events.push_back(e);
    *since = Int(*v, "next");
  }
  if (!c.args.Has("--watch")) {
    c.Print(json{{"items", events}}, [&] { return EventsTable(events, true); });
    return kOk;
  }
  bool header = true;
  auto print = [&](const std::vector<json>& page) {
    std::string text;
    if (c.output == "json")
      for (const auto& e : page)
        text += e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    else
      text = EventsTable(page, std::exchange(header, false));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  if (!events.empty()) print(events);
  Status s = FollowEvents(*c.api, *since, [&](const json& e) {
    print({e});
    return true;
  });
  return c.Fail(s.message());
}

// ---- cancel ----

int Cancel(Ctx& c) {
  if (c.args.positional.empty()) return c.Usage("which job? 'kumo cancel ID [ID...]'");
  for (const auto& id : c.args.positional)
    if (!ParseJobId(id)) return c.Usage("job ID must be a number, got \"" + id + "\"");
  int rc = kOk;
  json all = json::array();
  for (const auto& id : c.args.positional) {
    auto j = c.Call("POST", "/v1/jobs/" + id + "/cancel", "job " + id);
    if (!j) {
      rc = kFailed;  // go on with the others, as `kubectl delete a b` does
      continue;
    }
    all.push_back(*j);
    if (c.output == "table") std::printf("job %s cancel requested\n", id.c_str());
  }
  if (c.output != "table") c.Print(all.size() == 1 ? all[0] : json{{"items", all}}, nullptr);
  return rc;
}

// ---- queue ----

int Queue(Ctx& c) {
  if (!c.args.positional.empty())
    return c.Usage("unexpected argument \"" + c.args.positional[0] + "\"");
  auto v = c.Call("GET", "/v1/queue");
  if (!v) return kFailed;
  std::vector<json> jobs;
  for (const auto& j : Items(*v))
    if (!c.args.Has("--project") || Str(j, "project") == c.args.Get("--project")) jobs.push_back(j);
  double now = SystemClock().NowSeconds();
  c.Print(json{{"items", jobs}}, [&] {
    if (jobs.empty()) return std::string("No pending jobs.\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : jobs)
      rows.push_back({Str(j, "queuePosition"), Str(j, "id"), Str(j, "name"), Str(j, "project"),
                      Str(j, "priorityClass"), client::FormatGpus(Int(j, "gpuMilli")),
                      client::AgeOf(j.value("submitTime", json()), now), Str(j, "reason"),
                      Str(j, "message")});
    return client::FormatTable(
        {"POSITION", "JOB", "NAME", "PROJECT", "PRIORITY", "GPUS", "AGE", "REASON", "MESSAGE"},
        rows);
  });
  return kOk;
}

// ---- top ----

std::string Percent(int64_t used, int64_t total) {
  if (total <= 0) return "-";
  return std::to_string(static_cast<int64_t>(
             std::llround(100.0 * static_cast<double>(used) / static_cast<double>(total)))) +
         "%";
}

int Top(Ctx& c) {
  if (!c.args.positional.empty())
    return c.Usage("unexpected argument \"" + c.args.positional[0] + "\"");
  auto v = c.Call("GET", "/v1/top");
  if (!v) return kFailed;
  c.Print(*v, [&] {
    std::vector<std::vector<std::string>> nrows, prows;
    int64_t gpus = 0, used = 0;
    for (const auto& n : v->value("nodes", json::array())) {
      int64_t g = Int(n, "gpus") * 1000, u = Int(n, "gpuMilliUsed");
      gpus += g;
      used += u;
      nrows.push_back({Str(n, "name"), client::FormatGpus(g), client::FormatGpus(u), Percent(u, g),
                       client::FormatGpus(Int(n, "cpuMillisUsed")),
                       Percent(Int(n, "cpuMillisUsed"), Int(n, "cpuMillis")),
                       client::FormatBytes(Int(n, "memoryBytesUsed")),
                       Percent(Int(n, "memoryBytesUsed"), Int(n, "memoryBytes"))});
    }
    nrows.push_back({"(total)", client::FormatGpus(gpus), client::FormatGpus(used),
                     Percent(used, gpus), "", "", "", ""});
    for (const auto& p : v->value("projects", json::array()))
      prows.push_back({Str(p, "project"), Str(p, "runningJobs"), Str(p, "pendingJobs"),
                       client::FormatGpus(Int(p, "gpuMilli")), Percent(Int(p, "gpuMilli"), gpus),
                       client::FormatGpus(Int(p, "cpuMillis"))});
    return client::FormatTable(
               {"NODE", "GPUS", "GPUS-USED", "GPU%", "CPU-USED", "CPU%", "MEMORY-USED", "MEMORY%"},
               nrows) +
           "\n" +
           client::FormatTable(
               {"PROJECT", "RUNNING", "PENDING", "GPUS-USED", "CLUSTER-GPU%", "CPU-USED"}, prows);
  });
  return kOk;
}

// ---- project ----

int Project(Ctx& c) {
  auto& pos = c.args.positional;
  if (pos.size() != 2 || (pos[0] != "create" && pos[0] != "set"))
    return c.Usage("expected 'kumo project create NAME [...]' or 'kumo project set NAME ...'");
  bool create = pos[0] == "create";
  const std::string& name = pos[1];
  json body = json::object();
  if (create) body["name"] = name;
  struct NumFlag {
    const char* flag;
    const char* field;
  };
  for (NumFlag f : {NumFlag{"--weight", "weight"}, NumFlag{"--guaranteed-gpus", "guaranteedGpus"},
                    NumFlag{"--max-gpus", "maxGpus"}}) {
    if (!c.args.Has(f.flag)) continue;
    std::string text = c.args.Get(f.flag);
    if (std::string(f.field) == "maxGpus" && (text == "none" || text == "unlimited")) {
      body[f.field] = nullptr;
      continue;
    }
    auto n = ParseNumber(text);
    if (!n) return c.Usage(std::string(f.flag) + ": expected a number, got \"" + text + "\"");
    body[f.field] = *n;
  }
  if (c.args.Has("--priority-classes")) {
    std::string list = c.args.Get("--priority-classes");
    json classes = json::array();
    for (size_t i = 0; list != "default" && i <= list.size();) {
      size_t j = std::min(list.find(',', i), list.size());
      if (j > i) classes.push_back(list.substr(i, j - i));
      i = j + 1;
    }
    body["priorityClasses"] = classes;
  }
  if (!create && body.empty())
    return c.Usage(
        "nothing to set: give --weight, --guaranteed-gpus, --max-gpus or --priority-classes");
  auto r = create ? c.Call("POST", "/v1/projects", "project \"" + name + "\"", body.dump())
                  : c.Call("PATCH", "/v1/projects/" + http::PercentEncode(name),
                           "project \"" + name + "\"", body.dump());
  if (!r) return kFailed;
  c.Print(*r, [&] { return "project " + name + (create ? " created\n" : " updated\n"); });
  return kOk;
}

// ---- node ----

int Node(Ctx& c) {
  auto& pos = c.args.positional;
  if (pos.size() != 2 || (pos[0] != "cordon" && pos[0] != "uncordon" && pos[0] != "drain"))
    return c.Usage("expected 'kumo node cordon|uncordon|drain NAME'");
  const std::string& action = pos[0];
  const std::string& name = pos[1];
  auto r = c.Call("POST", "/v1/nodes/" + http::PercentEncode(name) + "/" + action,
                  "node \"" + name + "\"");
  if (!r) return kFailed;
  c.Print(*r, [&] {
    std::string done = action == "drain" ? "drained" : action + "ed";
    std::string s = "node " + name + " " + done;
    if (action == "drain") s += " (" + Str(*r, "evictedJobs", "0") + " job(s) evicted)";
    return s + "\n";
  });
  return kOk;
}

// ---- user ----

// kumo user token rotate|revoke [NAME] [--ttl DURATION]: NAME defaults to the caller.
int UserToken(Ctx& c) {
  auto& pos = c.args.positional;
  if (pos.size() < 2 || pos.size() > 3 || (pos[1] != "rotate" && pos[1] != "revoke"))
    return c.Usage("expected 'kumo user token rotate|revoke [NAME] [--ttl DURATION]'");
  bool rotate = pos[1] == "rotate";
  json body = json::object();
  if (c.args.Has("--ttl")) {
    if (!rotate) return c.Usage("--ttl: only with rotate");
    auto ttl = ParseDurationSeconds(c.args.Get("--ttl"));
    if (!ttl || *ttl <= 0)
      return c.Usage("--ttl: expected a duration > 0 such as 90m or 7d, got \"" +
                     c.args.Get("--ttl") + "\"");
    body["ttlSeconds"] = *ttl;
  }
  std::string name;
  if (pos.size() == 3) {
    name = pos[2];
  } else {
    auto me = c.Call("GET", "/v1/whoami");
    if (!me) return kFailed;
    name = Str(*me, "user");
  }
  auto r = c.Call(rotate ? "POST" : "DELETE", "/v1/users/" + http::PercentEncode(name) + "/tokens",
                  "user \"" + name + "\"", rotate ? body.dump() : "");
  if (!r) return kFailed;
  // rotate: only the new token on stdout (TOKEN=$(kumo user token rotate)); shown only once.
  c.Print(*r, [&] {
    return rotate ? Str(*r, "token") + "\n"
                  : "revoked " + Str(*r, "revoked", "0") + " token(s) of " + name + "\n";
  });
  return kOk;
}

int User(Ctx& c) {
  auto& pos = c.args.positional;
  if (!pos.empty() && pos[0] == "token") return UserToken(c);
  if (pos.size() != 2 || pos[0] != "create")
    return c.Usage("expected 'kumo user create NAME --projects a,b [--admin]' or "
                   "'kumo user token rotate|revoke [NAME] [--ttl DURATION]'");
  // A first token never expires (POST /v1/users takes no TTL): say so rather than drop the flag.
  if (c.args.Has("--ttl"))
    return c.Usage("--ttl: only with 'user token rotate' (a created user's first token does not "
                   "expire; rotate it with --ttl to give it one)");
  json projects = json::array();
  std::string list = c.args.Get("--projects");
  size_t i = 0;
  while (i <= list.size() && !list.empty()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    if (j > i) projects.push_back(list.substr(i, j - i));
    i = j + 1;
  }
  json body = {{"name", pos[1]}, {"projects", projects}, {"admin", c.args.Has("--admin")}};
  auto r = c.Call("POST", "/v1/users", "user \"" + pos[1] + "\"", body.dump());
  if (!r) return kFailed;
  // Only the token on stdout, so TOKEN=$(kumo user create ...) works; it is shown only once.
  c.Print(*r, [&] { return Str(*r, "token") + "\n"; });
  return kOk;
}

// ---- whoami ----

int WhoAmI(Ctx& c) {
  if (!c.args.positional.empty())
    return c.Usage("unexpected argument \"" + c.args.positional[0] + "\"");
  auto r = c.Call("GET", "/v1/whoami");
  if (!r) return kFailed;
  c.Print(*r, [&] {
    std::string projects;
    for (const auto& p : r->value("projects", json::array()))
      projects += (projects.empty() ? "" : ",") + p.get<std::string>();
    return client::FormatTable(
        {"USER", "ADMIN", "PROJECTS", "SERVER"},
        {{Str(*r, "user"), r->value("admin", false) ? "true" : "false",
          projects.empty() ? (r->value("admin", false) ? "(all)" : "-") : projects,
          c.api->config().server}});
  });
  return kOk;
}

// ---- the table of commands ----

const std::vector<CommandDef>& Commands() {
  static const std::vector<CommandDef> kCommands = {
      {"submit",
       "usage: kumo submit -f FILE [--no-snapshot] [-o table|json|yaml]\n",
       "The submit directory (the current one) is uploaded as an immutable code snapshot and the "
       "tasks run in a copy of it (git: tracked and untracked files, .gitignore honoured); its "
       "git commit/diff are recorded with the job.",
       {{{"--filename", "-f"}, true, "the job spec (YAML); - reads standard input"},
        {{"--no-snapshot"}, false, "run in the submit directory itself, as it is at start"}},
       true,
       Submit},
      {"get",
       "usage: kumo get jobs [ID...] [--project P] [--phase PHASE] [--all] [-w] [-o FMT]\n"
       "       kumo get nodes [NAME...] [-o FMT]\n"
       "       kumo get projects [NAME...] [-o FMT]\n",
       "",
       {{{"--project"}, true, "only this project's jobs"},
        {{"--phase"}, true, "only jobs in this phase (Pending, Running, Succeeded, ...)"},
        {{"--all", "-A"}, false, "also jobs that ended more than an hour ago"},
        {{"--watch", "-w"}, false, "then print each job again whenever it changes (until ^C)"}},
       true,
       Get},
      {"events",
       "usage: kumo events [--since SEQ] [-w] [-o FMT]\n",
       "The event log (jobs, nodes, projects) that you may see, oldest first.",
       {{{"--since"}, true, "only events after this sequence number"},
        {{"--watch", "-w"}, false, "then print new events as they happen (until ^C)"}},
       true,
       Events},
      {"describe",
       "usage: kumo describe job ID [-o FMT]\n",
       "Everything about a job: phase and why, attempts, tasks with nodes and GPUs, each "
       "attempt's\nresult with its provenance (spec hash, code version, seed, datasets), and "
       "its events.",
       {},
       true,
       Describe},
      {"logs",
       "usage: kumo logs ID [-f] [--task N] [--stderr] [--attempt N]\n",
       "",
       {{{"--follow", "-f"}, false, "keep printing as the job writes, until it ends"},
        {{"--task"}, true, "the task's rank (default 0)"},
        {{"--stderr"}, false, "standard error instead of standard output"},
        {{"--attempt"}, true, "an earlier attempt (default: the current one)"}},
       false,
       Logs},
      {"cancel", "usage: kumo cancel ID [ID...]\n", "", {}, true, Cancel},
      {"queue",
       "usage: kumo queue [--project P] [-o FMT]\n",
       "Pending jobs in the order the scheduler will consider them, with why each waits.",
       {{{"--project"}, true, "only this project's jobs"}},
       true,
       Queue},
      {"top",
       "usage: kumo top [-o FMT]\n",
       "GPU, CPU and memory use per node and per project.",
       {},
       true,
       Top},
      {"project",
       "usage: kumo project create NAME [--weight W] [--guaranteed-gpus N] [--max-gpus N]\n"
       "                           [--priority-classes a,b]\n"
       "       kumo project set NAME [--weight W] [--guaranteed-gpus N] [--max-gpus N|none]\n"
       "                           [--priority-classes a,b|default]\n",
       "",
       {{{"--weight"}, true, "fair-share weight (> 0, default 1)"},
        {{"--guaranteed-gpus"}, true, "GPUs the project gets before others borrow (default 0)"},
        {{"--max-gpus"}, true, "cap on the project's GPUs; none: no cap (default)"},
        {{"--priority-classes"},
         true,
         "classes members may submit with (comma-separated); default: all but admin-only ones"}},
       true,
       Project},
      {"node",
       "usage: kumo node cordon|uncordon|drain NAME\n",
       "cordon: no new tasks; drain: cordon and evict running jobs (checkpoint signal, requeue).",
       {},
       true,
       Node},
      {"user",
       "usage: kumo user create NAME --projects a,b [--admin]\n"
       "       kumo user token rotate [NAME] [--ttl DURATION]\n"
       "       kumo user token revoke [NAME]\n",
       "create and rotate print the new token (only once); rotate and revoke end every other "
       "token of the user (NAME: yourself by default; another user's: admins only).",
       {{{"--projects"}, true, "projects the user may submit to (comma-separated)"},
        {{"--admin"}, false, "may manage projects, users and nodes"},
        {{"--ttl"}, true, "rotate: the new token expires after this long (90m, 7d; default never)"}},
       true,
       User},
      {"whoami", "usage: kumo whoami [-o FMT]\n", "", {}, true, WhoAmI},
  };
  return kCommands;
}

// CLI11's help with the command's synopsis and description ("usage: kumo get jobs [ID...] ...") in
// place of the generic "Usage: kumo get [OPTIONS] [args...]".
class SynopsisFormatter : public CLI::Formatter {
 public:
  explicit SynopsisFormatter(std::string synopsis) : synopsis_(std::move(synopsis)) {}
  std::string make_usage(const CLI::App*, std::string) const override { return synopsis_; }

 private:
  std::string synopsis_;
};

// The command's own flags, then the ones every command takes.
std::vector<FlagDef> FlagsOf(const CommandDef& d) {
  std::vector<FlagDef> flags = d.flags;
  flags.push_back({{"--server"},
                   true,
                   "kumo server HOST:PORT (else $KUMO_SERVER, the config file, 127.0.0.1:7080)"});
  flags.push_back(
      {{"--token"}, true, "API token (else $KUMO_TOKEN, $KUMO_TOKEN_FILE, the config file)"});
  if (d.has_output) flags.push_back({{"--output", "-o"}, true, "table (default), json or yaml"});
  return flags;
}

}  // namespace

bool IsClientCommand(std::string_view cmd) {
  for (const auto& d : Commands())
    if (cmd == d.name) return true;
  return false;
}

int RunClientCommand(const std::string& cmd, const std::vector<std::string>& args) {
  const CommandDef* def = nullptr;
  for (const auto& d : Commands())
    if (cmd == d.name) def = &d;
  if (def == nullptr) {
    std::fprintf(stderr, "kumo: unknown command \"%s\"\n", cmd.c_str());
    return kUsage;
  }
  Ctx c;
  c.def = def;
  c.prog = "kumo " + cmd;
  std::string synopsis = def->synopsis;
  if (*def->description != '\0') synopsis += std::string("\n") + def->description + "\n";
  CLI::App app("", c.prog);
  app.formatter(std::make_shared<SynopsisFormatter>(synopsis));
  app.footer(kConfigFileHelp);
  if (std::optional<int> exit_code = client::ParseArgs(app, args, FlagsOf(*def), &c.args))
    return *exit_code;
  c.output = c.args.Get("--output", "table");
  if (c.output == "wide") c.output = "table";  // kubectl habit; the tables are already wide
  if (c.output != "table" && c.output != "json" && c.output != "yaml")
    return c.Usage("-o: expected table, json or yaml, got \"" + c.output + "\"");
  return def->run(c);
}

}  // namespace kumo::cli
