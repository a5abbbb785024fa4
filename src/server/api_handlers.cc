#include "server/api_handlers.h"

#include <chrono>
#include <filesystem>

#include "base/path.h"
#include "base/random.h"
#include "base/sha256.h"
#include "server/history.h"
#include "server/http_json.h"
#include "server/job_datasets.h"
#include "server/job_lifecycle.h"
#include "server/submit_feasibility.h"
#include "server/ui.h"
#include "server/util.h"

namespace kumo::server {
using nlohmann::json;

namespace {

std::optional<http::Response> CheckLocalInputs(const api::JobSpec& spec,
                                               const std::string& submit_dir) {
  bool needs_dir = false;
  for (const auto& g : spec.task_groups) needs_dir |= g.working_dir.empty();
  if (needs_dir && (submit_dir.empty() || submit_dir[0] != '/'))
    return ErrorResponse(400,
                         "spec.taskGroups[].workingDir: not set, and the request has no absolute "
                         "X-Kumo-Submit-Dir header to default to");
  if (!submit_dir.empty() && submit_dir != "/" && !IsCleanAbsolutePath(submit_dir))
    return ErrorResponse(400, "X-Kumo-Submit-Dir: must be an absolute path without empty, \".\" "
                              "or \"..\" segments");
  return std::nullopt;
}

// A seed exactly representable as a JSON number (53 bits).
uint64_t RandomSeed() {
  uint64_t r;
  RandomBytes(&r, sizeof r);
  return r & ((uint64_t{1} << 53) - 1);
}

// priorityClasses of a project body: known class names, none admin-only (only an admin may
// use those, whatever a project says), null or [] for the default.
std::optional<http::Response> ApplyPriorityClasses(const json& v,
                                                   const std::vector<PriorityClass>& known,
                                                   ProjectRec* p) {
  std::vector<std::string> names;
  if (!v.is_null() && !v.is_array())
    return ErrorResponse(400, "priorityClasses: expected a list of class names or null");
  for (size_t i = 0; v.is_array() && i < v.size(); ++i) {
    std::string field = "priorityClasses[" + std::to_string(i) + "]";
    if (!v[i].is_string()) return ErrorResponse(400, field + ": expected a class name");
    const PriorityClass* pc = FindPriorityClass(known, v[i].get<std::string>());
    if (!pc) return ErrorResponse(400, field + ": unknown class \"" + v[i].get<std::string>() + "\"");
    if (pc->admin_only)
      return ErrorResponse(400, field + ": \"" + pc->name + "\" is for admins only");
    names.push_back(pc->name);
  }
  p->priority_classes = std::move(names);
  return std::nullopt;
}

// The fields of a project's PUT/POST body over `p`: weight (> 0), guaranteedGpus and maxGpus
// (GPUs, stored in milli-GPU; maxGpus null: no maximum), priorityClasses. A bad field gives the
// 400 answer.
std::optional<http::Response> ApplyProjectFields(const json& body,
                                                 const std::vector<PriorityClass>& classes,
                                                 ProjectRec* p) {
  auto milli = [](const json& v) { return static_cast<int64_t>(v.get<double>() * 1000 + 0.5); };
  // Stored in milli-GPUs as int64: a bound far above any cluster keeps the conversion exact
  // (1e300 GPUs wrapped to a negative quota).
  constexpr double kMaxGpus = 1e9;
  for (auto& [k, v] : body.items()) {
    if (k == "name") continue;
    if (k == "weight") {
      if (!v.is_number() || v.get<double>() <= 0)
        return ErrorResponse(400, "weight: must be a number > 0");
      p->weight = v.get<double>();
    } else if (k == "guaranteedGpus") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > kMaxGpus)
        return ErrorResponse(400, "guaranteedGpus: must be a number in [0, 1e9]");
      p->guaranteed_gpu_milli = milli(v);
    } else if (k == "maxGpus") {
      if (!v.is_null() && (!v.is_number() || v.get<double>() < 0 || v.get<double>() > kMaxGpus))
        return ErrorResponse(400, "maxGpus: must be a number in [0, 1e9] or null");
      p->max_gpu_milli = v.is_null() ? -1 : milli(v);
    } else if (k == "priorityClasses") {
      if (auto bad = ApplyPriorityClasses(v, classes, p)) return bad;
    } else {
      return ErrorResponse(
          400, k + ": unknown field (known: weight, guaranteedGpus, maxGpus, priorityClasses)");
    }
  }
  return std::nullopt;
}

json ProjectJson(const ProjectRec& p) {
  return {{"name", p.name},
          {"weight", p.weight},
          {"guaranteedGpus", p.guaranteed_gpu_milli / 1000.0},
          {"maxGpus", p.max_gpu_milli < 0 ? json(nullptr) : json(p.max_gpu_milli / 1000.0)},
          {"priorityClasses", p.priority_classes.empty() ? json(nullptr) : json(p.priority_classes)}};
}

// An event as the API shows it (without its object: a job's events are all about the job).
json EventJson(const EventRow& e) {
  return {{"seq", e.seq},
          {"time", e.time},
          {"type", e.type},
          {"reason", e.reason},
          {"message", e.message}};
}

bool IsPublicPath(const std::string& path) {
  return path == "/metrics" || path == "/ui" || path.starts_with("/ui/");
}

http::Response MethodNotAllowed(const http::Request& req) {
  return ErrorResponse(405, req.method + " not allowed on " + req.path);
}

}  // namespace

std::optional<http::Response> ApiHandlers::CheckHead(const http::Request& head) const {
  // The dashboard's pages need no token and /metrics checks its own (a metrics token is not a
  // user's); both are reads, so a body is never theirs to read.
  if (IsPublicPath(head.path))
    return head.method == "GET" ? std::nullopt : std::optional(MethodNotAllowed(head));
  auto user = Authenticate(head);
  if (!user) return ErrorResponse(401, user.error().message());
  return std::nullopt;
}

http::Response ApiHandlers::Handle(const http::Request& req) {
  http::Response r = Serve(req);
  state_.metrics.RecordRequest(req, r.status);
  return r;
}

// Authenticates again, though the head passed CheckHead: the token may have been revoked since.
http::Response ApiHandlers::Serve(const http::Request& req) {
  if (req.path != "/metrics" && IsPublicPath(req.path)) return ServeUi(req);  // a page: no token
  Result<UserRec> user = Authenticate(req);
  if (req.path == "/metrics") return ServeMetrics(state_, user ? &*user : nullptr, req);
  if (!user) return ErrorResponse(401, user.error().message());
  return Route(*user, req);
}

Result<UserRec> ApiHandlers::Authenticate(const http::Request& req) const {
  std::string auth = req.Header("authorization");
  if (!auth.starts_with("Bearer ") || auth.size() <= 7)
    return Error(Status::Unauthenticated("missing bearer token (Authorization: Bearer <token>)"));
  std::string hash = Sha256Hex(auth.substr(7));
  std::lock_guard<std::mutex> lock(state_.mu);
  auto t = state_.tokens.find(hash);
  if (t == state_.tokens.end()) return Error(Status::Unauthenticated("invalid token"));
  if (t->second.expires_at > 0 && state_.clock.NowSeconds() >= t->second.expires_at)
    return Error(Status::Unauthenticated("token expired"));
  return state_.users.at(t->second.user);
}

http::Response ApiHandlers::Route(const UserRec& user, const http::Request& req) {
  std::vector<std::string> p = SplitPath(req.path);
  const std::string& m = req.method;
  if (p.empty() || p[0] != "v1") return ErrorResponse(404, "no such path: " + req.path);
  p.erase(p.begin());
  auto method_not_allowed = [&] { return MethodNotAllowed(req); };
  if (p.size() == 1 && p[0] == "whoami") return WhoAmI(user);
  if (auto r = datasets_.Route(user, p, req)) return *r;
  if (auto r = snapshots_.Route(user, p, req)) return *r;
  if (auto r = results_.Route(user, p, req)) return *r;
  if (p.size() >= 1 && p[0] == "jobs")
    if (auto r = RouteJob(user, p, req)) return *r;
  if (p.size() == 1 && p[0] == "events")
    return m == "GET" ? ListEvents(user, req) : method_not_allowed();
  if (p.size() == 1 && p[0] == "queue")
    return m == "GET" ? Queue(user, req) : method_not_allowed();
  if (p.size() == 1 && p[0] == "top") return m == "GET" ? Top(user) : method_not_allowed();
  if (p.size() == 1 && p[0] == "history") return ServeHistory(state_, user, req);
  if (p.size() == 1 && p[0] == "nodes") return m == "GET" ? ListNodes(user) : method_not_allowed();
  if (p.size() == 3 && p[0] == "nodes")
    return m == "POST" ? NodeAction(user, p[1], p[2]) : method_not_allowed();
  if (p.size() == 1 && p[0] == "projects") {
    if (m == "GET") return ListProjects(user);
    if (m == "POST") {
      json body = json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("name") || !body["name"].is_string())
        return ErrorResponse(400, "body: expected {\"name\": ...}");
      return PutProject(user, body["name"].get<std::string>(), req, true);
    }
    return method_not_allowed();
  }
  if (p.size() == 2 && p[0] == "projects")
    return m == "PATCH" ? PutProject(user, p[1], req, false) : method_not_allowed();
  if (p.size() == 1 && p[0] == "users")
    return m == "POST" ? CreateUser(user, req) : method_not_allowed();
  if (p.size() == 3 && p[0] == "users" && p[2] == "tokens") return UserTokens(user, p[1], req);
  return ErrorResponse(404, "no such path: " + req.path);
}

// /v1/jobs[/ID[/ACTION]]; std::nullopt when the path names nothing here.
std::optional<http::Response> ApiHandlers::RouteJob(const UserRec& user,
                                                    const std::vector<std::string>& p,
                                                    const http::Request& req) {
  const std::string& m = req.method;
  if (p.size() == 1) {
    if (m == "POST") return SubmitJob(user, req);
    if (m == "GET") return ListJobs(user, req);
    return MethodNotAllowed(req);
  }
  auto id = ParseId(p[1]);
  if (!id) return ErrorResponse(404, "job \"" + p[1] + "\" not found");
  bool get = m == "GET";
  if (p.size() == 2) return get ? GetJob(user, *id) : MethodNotAllowed(req);
  if (p.size() != 3) return std::nullopt;
  if (p[2] == "cancel") return m == "POST" ? CancelJob(user, *id) : MethodNotAllowed(req);
  if (p[2] == "events") return get ? JobEvents(user, *id) : MethodNotAllowed(req);
  if (p[2] == "results") return get ? JobResults(user, *id) : MethodNotAllowed(req);
  if (p[2] == "logs") return get ? JobLogs(user, *id, req) : MethodNotAllowed(req);
  return std::nullopt;
}

http::Response ApiHandlers::WhoAmI(const UserRec& user) {
  json projects = json::array();
  for (const auto& p : user.projects) projects.push_back(p);
  return JsonResponse(200, {{"user", user.name}, {"admin", user.admin}, {"projects", projects}});
}

// A submission as read from the request, checked step by step before it becomes a job.
struct ApiHandlers::Submission {
  api::JobSpec spec;
  std::string submit_dir;                    // X-Kumo-Submit-Dir
  json code_version = json::object();        // X-Kumo-Code-Version
  std::string key;                           // Idempotency-Key
  std::optional<int64_t> rerun_of, rerun_seed;  // kumo rerun: the job it repeats, its seed
  std::string snapshot;                      // X-Kumo-Snapshot: the code snapshot's digest
  std::optional<StagedTree> code;            // that snapshot, extracted
};

http::Response ApiHandlers::SubmitJob(const UserRec& user, const http::Request& req) {
  auto arrived = std::chrono::steady_clock::now();
  Submission sub;
  if (auto bad = ReadSubmission(req, &sub)) return *bad;
  if (auto refused = CheckSubmission(user, &sub)) return *refused;
  int64_t id;
  std::future<Status> committed;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    if (auto refused = Admit(user, sub.spec, sub.key)) return *refused;
    auto inserted = InsertJob(user, req.body, &sub);
    if (!inserted) return ErrorResponse(500, inserted.error().message());
    id = *inserted;
    const JobRec& j = state_.jobs.at(id);
    // Written on their own (not with the loop's pending writes) so the 201 waits for exactly
    // this job's commit; the group commit batches concurrent submissions into one fsync.
    committed = state_.store->Write(
        {JobStore::Insert(j),
         JobStore::AddEvent(j.submit_time, id, JobObjectName(id), "Submitted", "Submitted",
                            "by " + user.name + " to project " + j.project)});
  }
  Status s = committed.get();
  std::lock_guard<std::mutex> lock(state_.mu);
  auto it = state_.jobs.find(id);
  if (!s.ok()) {
    if (it != state_.jobs.end() && !it->second.idempotency_key.empty())
      state_.idempotency.erase(IdempotencyScope(user.name, it->second.idempotency_key));
    state_.jobs.erase(id);
    return ErrorResponse(500, "store: " + s.message());
  }
  it->second.durable = true;
  state_.Kick();
  state_.metrics.submissions.Add({{"project", it->second.project}});
  state_.metrics.submit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count());
  return JsonResponse(201, JobJson(it->second, false));
}

std::optional<http::Response> ApiHandlers::ReadSubmission(const http::Request& req,
                                                          Submission* sub) {
  auto spec = api::ParseJobSpec(req.body);
  if (!spec) return ErrorResponse(400, spec.error().message());
  sub->spec = std::move(*spec);
  sub->submit_dir = req.Header("x-kumo-submit-dir");
  json code_version = json::parse(req.Header("x-kumo-code-version"), nullptr, false);
  if (!code_version.is_discarded()) sub->code_version = std::move(code_version);
  sub->key = req.Header("idempotency-key");
  if (sub->key.size() > 128) return ErrorResponse(400, "Idempotency-Key: at most 128 characters");
  if (!req.Header("x-kumo-rerun-of").empty()) {
    sub->rerun_of = ParseId(req.Header("x-kumo-rerun-of"));
    sub->rerun_seed = ParseId(req.Header("x-kumo-seed"));
    if (!sub->rerun_of || !sub->rerun_seed)
      return ErrorResponse(400, "X-Kumo-Rerun-Of and X-Kumo-Seed: decimal integers");
  }
  sub->snapshot = req.Header("x-kumo-snapshot");
  return std::nullopt;
}

std::optional<http::Response> ApiHandlers::CheckSubmission(const UserRec& user, Submission* sub) {
  // Who may submit to the project is asked first: a non-member learns nothing else from the
  // answer (whether the job fits, whether a dataset exists). Admit asks again under the lock
  // that inserts the job, in case the project changed in between.
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    if (auto refused = AdmitMember(user, sub->spec.project)) return *refused;
  }
  if (auto bad = CheckLocalInputs(sub->spec, sub->submit_dir)) return *bad;
  // A mount point inside the data dir would be made by the root shim among the job's own dirs,
  // where the task leaves what links it likes (task_sandbox.h).
  for (size_t i = 0; i < sub->spec.datasets.size(); ++i)
    if (IsAtOrBeneath(sub->spec.datasets[i].mount_path, state_.config.data_dir))
      return ErrorResponse(400, "spec.datasets[" + std::to_string(i) +
                                    "].mountPath: inside the server's data dir");
  if (auto never = NeverFitsMessage(state_, sub->spec)) return ErrorResponse(400, *never);
  if (Status pinned = PinDatasets(state_, sub->spec); !pinned.ok())
    return ErrorResponse(pinned.code() == StatusCode::kInvalidArgument     ? 400
                         : pinned.code() == StatusCode::kPermissionDenied ? 403
                                                                          : 500,
                         pinned.message());
  // The code snapshot the client uploaded: extracted now, moved into the job's dir once it has
  // an id; the tasks run there (snapshot_store.h).
  if (!sub->snapshot.empty()) {
    if (auto refused = AdmitSnapshot(user, *sub)) return *refused;
    auto staged =
        StagedTree::Stage(*state_.snapshots, sub->snapshot, state_.config.data_dir + "/jobs");
    if (!staged)
      return ErrorResponse(staged.error().code() == StatusCode::kIoError ? 500 : 400,
                           "X-Kumo-Snapshot: " + staged.error().message());
    sub->code.emplace(std::move(*staged));
  }
  return std::nullopt;
}

// A job may name a snapshot its submitter recorded, or the one of the job it reruns if the
// submitter may see that job; anyone else's digest is refused as if unknown (a digest shown in
// a job's codeVersion must not open that code to other projects).
std::optional<http::Response> ApiHandlers::AdmitSnapshot(const UserRec& user,
                                                         const Submission& sub) {
  if (user.admin || state_.snapshots->RecordedBy(user.name, sub.snapshot)) return std::nullopt;
  if (sub.rerun_of) {
    std::lock_guard<std::mutex> lock(state_.mu);
    http::Response denied;
    const JobRec* rerun = VisibleJob(user, *sub.rerun_of, &denied);
    if (!rerun) return denied;
    if (rerun->code_version.value("snapshot", "") == sub.snapshot) return std::nullopt;
  }
  return ErrorResponse(403, "X-Kumo-Snapshot: snapshot " + sub.snapshot +
                                " was not uploaded by user \"" + user.name +
                                "\" (upload it with kumo submit, or rerun the job that ran it)");
}

Result<int64_t> ApiHandlers::InsertJob(const UserRec& user, const std::string& body,
                                       Submission* sub) {
  const int64_t id = state_.next_job_id++;
  JobRec j;
  j.id = id;
  j.project = sub->spec.project;
  j.user = user.name;
  j.name = sub->spec.name.empty() ? "job-" + std::to_string(id) : sub->spec.name;
  j.spec_yaml = body;
  j.spec_sha256 = Sha256Hex(body);
  j.submit_dir = sub->submit_dir;
  j.code_version = std::move(sub->code_version);
  if (sub->code) {
    j.submit_dir = state_.JobDir(id) + "/code";
    if (Status moved = sub->code->MoveTo(j.submit_dir); !moved.ok()) return Error(moved);
    j.code_version["snapshot"] = sub->snapshot;
    j.code_version["submitDir"] = sub->submit_dir;
  }
  j.idempotency_key = sub->key;
  j.seed = sub->spec.seed ? *sub->spec.seed : RandomSeed();
  if (sub->rerun_seed) j.seed = *sub->rerun_seed;  // kumo rerun: the seed of the Result it repeats
  if (sub->rerun_of) j.code_version["rerunOf"] = *sub->rerun_of;
  j.submit_time = state_.clock.NowSeconds();
  j.spec = std::move(sub->spec);
  j.reason = "Submitted";
  if (!sub->key.empty()) state_.idempotency[IdempotencyScope(user.name, sub->key)] = id;
  state_.jobs[id] = std::move(j);
  return id;
}

std::optional<http::Response> ApiHandlers::Admit(const UserRec& user, const api::JobSpec& spec,
                                                 const std::string& key) {
  if (auto refused = AdmitMember(user, spec.project)) return refused;
  if (auto refused = AdmitPriorityClass(user, spec)) return refused;
  if (key.empty()) return std::nullopt;
  auto it = state_.idempotency.find(IdempotencyScope(user.name, key));
  if (it == state_.idempotency.end()) return std::nullopt;
  const JobRec& prior = state_.jobs[it->second];
  if (prior.durable) return JsonResponse(200, JobJson(prior, false));
  return ErrorResponse(409, "a submission with this Idempotency-Key is in progress");
}

std::optional<http::Response> ApiHandlers::AdmitMember(const UserRec& user,
                                                       const std::string& project) {
  if (!state_.projects.count(project))
    return ErrorResponse(400, "spec.project: project \"" + project + "\" does not exist");
  if (!MayAccess(user, project))
    return ErrorResponse(
        403, "user \"" + user.name + "\" is not a member of project \"" + project + "\"");
  return std::nullopt;
}

std::optional<http::Response> ApiHandlers::AdmitPriorityClass(const UserRec& user,
                                                              const api::JobSpec& spec) {
  const auto& classes = state_.config.priority_classes;
  const PriorityClass* pc = FindPriorityClass(classes, spec.priority_class);
  if (!pc) {
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c.name;
    return ErrorResponse(400, "spec.priorityClass: unknown class \"" + spec.priority_class +
                                  "\" (known: " + known + ")");
  }
  if (user.admin) return std::nullopt;
  if (pc->admin_only)
    return ErrorResponse(403, "spec.priorityClass: \"" + pc->name + "\" is for admins only");
  const auto& allowed = state_.projects.at(spec.project).priority_classes;
  if (allowed.empty() || std::find(allowed.begin(), allowed.end(), pc->name) != allowed.end())
    return std::nullopt;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return ErrorResponse(403, "spec.priorityClass: project \"" + spec.project + "\" allows only " +
                                list + ", not \"" + pc->name + "\"");
}

json ApiHandlers::JobJson(const JobRec& j, bool detail) const {
  json out = {{"id", j.id},
              {"name", j.name},
              {"project", j.project},
              {"user", j.user},
              {"phase", ToString(j.launching ? JobPhase::kPending : j.phase)},
              {"reason", j.launching ? "Starting" : j.reason},
              {"message", j.launching ? "tasks are starting" : j.message},
              {"priorityClass", j.spec.priority_class},
              {"tasks", j.spec.TotalTasks()},
              {"attempt", j.attempt},
              {"failures", j.failures},
              {"submitTime", j.submit_time},
              {"startTime", j.start_time > 0 && !j.launching ? json(j.start_time) : json(nullptr)},
              {"endTime", j.end_time > 0 ? json(j.end_time) : json(nullptr)}};
  out["gpuMilli"] = j.spec.TotalGpuMilli();
  out["attainedGpuSeconds"] = j.attained_gpu_s;
  if (j.queue_position > 0) out["queuePosition"] = j.queue_position;
  if (j.not_before > 0 && j.phase == JobPhase::kPending) out["notBefore"] = j.not_before;
  if (!detail) return out;
  out["seed"] = j.seed;
  out["specSha256"] = j.spec_sha256;
  out["submitDir"] = j.submit_dir;
  out["codeVersion"] = j.code_version;
  out["spec"] = api::JobSpecToJson(j.spec);
  out["checkpointDir"] = state_.JobDir(j.id) + "/checkpoint";
  if (j.attempt > 0) out["outputDir"] = state_.AttemptDir(j.id, j.attempt) + "/output";
  json tasks = json::array();
  for (const TaskRec& t : j.tasks) {
    if (j.launching) break;  // not started as far as readers know
    json task = TaskJson(j, t);
    task["pid"] = t.handle.pid;
    task["runDir"] = t.handle.run_dir;
    tasks.push_back(std::move(task));
  }
  out["currentTasks"] = tasks;
  return out;
}

http::Response ApiHandlers::ListJobs(const UserRec& user, const http::Request& req) {
  auto q = [&](const char* k) {
    auto it = req.query.find(k);
    return it == req.query.end() ? std::string() : it->second;
  };
  std::string project = q("project"), phase = q("phase");
  bool all_phases = q("all") == "true" || !phase.empty();
  json items = json::array();
  std::lock_guard<std::mutex> lock(state_.mu);
  if (!project.empty() && !MayAccess(user, project))
    return ErrorResponse(
        403, "user \"" + user.name + "\" is not a member of project \"" + project + "\"");
  for (const auto& [id, j] : state_.jobs) {
    if (!j.durable || !MayAccess(user, j.project)) continue;
    if (!project.empty() && j.project != project) continue;
    if (!phase.empty() && ToString(j.launching ? JobPhase::kPending : j.phase) != phase) continue;
    if (IsTerminal(j.phase) && !all_phases && q("recent") == "false") continue;
    items.push_back(JobJson(j, false));
  }
  return JsonResponse(200, {{"items", items}});
}

JobRec* ApiHandlers::VisibleJob(const UserRec& user, int64_t id, http::Response* denied) {
  auto it = state_.jobs.find(id);
  if (it == state_.jobs.end() || !it->second.durable) {
    *denied = ErrorResponse(404, "job " + std::to_string(id) + " not found");
    return nullptr;
  }
  if (!MayAccess(user, it->second.project)) {
    *denied = ErrorResponse(403, "job " + std::to_string(id) + " belongs to project \"" +
                                     it->second.project + "\", which user \"" + user.name +
                                     "\" is not a member of");
    return nullptr;
  }
  return &it->second;
}

http::Response ApiHandlers::GetJob(const UserRec& user, int64_t id) {
  std::lock_guard<std::mutex> lock(state_.mu);
  http::Response denied;
  const JobRec* j = VisibleJob(user, id, &denied);
  return j ? JsonResponse(200, JobJson(*j, true)) : denied;
}

http::Response ApiHandlers::CancelJob(const UserRec& user, int64_t id) {
  std::future<Status> committed;
  json body;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    http::Response denied;
    JobRec* found = VisibleJob(user, id, &denied);
    if (!found) return denied;
    JobRec& j = *found;
    if (IsTerminal(j.phase))
      return ErrorResponse(409, "job " + std::to_string(id) + " already ended (" +
                                    std::string(ToString(j.phase)) + ")");
    if (!j.cancel_requested) {
      j.cancel_requested = true;
      state_.AddEvent(&j, JobObjectName(id), "CancelRequested", "Cancelled", "by " + user.name,
                      state_.clock.NowSeconds());
      state_.SaveJob(j);
    }
    // A barrier: a repeated cancel (a retry, another member) answers only once the first
    // cancel's write has committed too, not at once because it queued nothing of its own.
    committed = state_.Flush(/*barrier=*/true);
    body = JobJson(j, false);
    state_.Kick();
  }
  Status s = committed.get();
  if (!s.ok()) {
    // Not durable: the flag goes, so that a retry queues the write again.
    std::lock_guard<std::mutex> lock(state_.mu);
    if (auto it = state_.jobs.find(id); it != state_.jobs.end()) it->second.cancel_requested = false;
    return ErrorResponse(500, "store: " + s.message());
  }
  return JsonResponse(202, body);
}

std::optional<http::Response> ApiHandlers::AwaitVisibleJob(const UserRec& user, int64_t id) {
  std::future<Status> flushed;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    http::Response denied;
    if (!VisibleJob(user, id, &denied)) return denied;
    flushed = state_.Flush(/*barrier=*/true);
  }
  flushed.wait();  // read your writes: what the loop has recorded so far is in the store
  return std::nullopt;
}

http::Response ApiHandlers::JobEvents(const UserRec& user, int64_t id) {
  if (auto denied = AwaitVisibleJob(user, id)) return *denied;
  auto events = state_.job_store->JobEvents(id);
  if (!events) return ErrorResponse(500, events.error().message());
  json items = json::array();
  for (const EventRow& e : *events) items.push_back(EventJson(e));
  return JsonResponse(200, {{"items", items}});
}

// `wait=S` (at most 60): a long poll. With nothing new to show, the answer waits until an
// event this user may see is recorded, or S seconds passed (then an empty page), so a watcher
// (`kumo events -w`) asks again at once instead of polling on a timer.
http::Response ApiHandlers::ListEvents(const UserRec& user, const http::Request& req) {
  int64_t since = 0;
  if (auto it = req.query.find("since"); it != req.query.end()) {
    if (it->second == "latest") return LatestEvent();
    since = ParseId(it->second).value_or(0);
  }
  double wait_s = 0;
  if (auto it = req.query.find("wait"); it != req.query.end()) {
    auto w = ParseId(it->second);
    if (!w || *w > 60) return ErrorResponse(400, "wait: whole seconds from 0 to 60");
    wait_s = static_cast<double>(*w);
  }
  // A waiter takes a slot for its whole wait; over the budget: 429, and the client retries.
  struct Slot {
    std::atomic<int>* held = nullptr;
    ~Slot() {
      if (held) held->fetch_sub(1);
    }
  } slot;
  if (wait_s > 0) {
    if (long_polls_.fetch_add(1) >= kMaxLongPolls) {
      long_polls_.fetch_sub(1);
      http::Response busy = ErrorResponse(
          429, "wait: " + std::to_string(kMaxLongPolls) + " watches are open; try again");
      busy.headers.push_back({"Retry-After", "1"});
      return busy;
    }
    slot.held = &long_polls_;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  UserRec current = user;
  for (bool first = true;; first = false) {
    // Each wake asks for the token again: one revoked while the poll waited (revoking records
    // an event, which wakes it) ends the poll, as it ends every other request.
    if (!first) {
      Result<UserRec> again = Authenticate(req);
      if (!again) return ErrorResponse(401, again.error().message());
      current = std::move(*again);  // projects and admin as they are now
    }
    std::set<std::string> visible;
    std::future<Status> flushed;
    int64_t seen;
    {
      std::lock_guard<std::mutex> lock(state_.mu);
      for (const auto& [id, j] : state_.jobs)
        if (MayAccess(current, j.project)) visible.insert(JobObjectName(id));
      seen = state_.changes;
      flushed = state_.Flush(/*barrier=*/true);
    }
    flushed.wait();
    auto events = state_.job_store->EventsAfter(since, 1000);
    if (!events) return ErrorResponse(500, events.error().message());
    json items = json::array();
    for (const EventRow& e : *events) {
      since = e.seq;
      if (!current.admin && !visible.count(e.object)) continue;
      json item = EventJson(e);
      item["object"] = e.object;
      items.push_back(std::move(item));
    }
    // `next`: pass it as `since` to continue. It moves past events this user may not see, so a
    // page of only invisible events still makes progress.
    if (!items.empty() || std::chrono::steady_clock::now() >= deadline)
      return JsonResponse(200, {{"items", items}, {"next", since}});
    std::unique_lock<std::mutex> lock(state_.mu);
    state_.changed.wait_until(lock, deadline,
                              [&] { return state_.changes != seen || state_.stopping; });
    if (state_.stopping) return JsonResponse(200, {{"items", items}, {"next", since}});
  }
}

// Where a watcher that just listed the current state starts (`kumo get jobs -w`): no items,
// `next` the newest event's sequence number.
http::Response ApiHandlers::LatestEvent() {
  std::future<Status> flushed;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    flushed = state_.Flush(/*barrier=*/true);
  }
  flushed.wait();
  auto last = state_.job_store->LastEventSeq();
  if (!last) return ErrorResponse(500, last.error().message());
  return JsonResponse(200, {{"items", json::array()}, {"next", *last}});
}

http::Response ApiHandlers::JobResults(const UserRec& user, int64_t id) {
  if (auto denied = AwaitVisibleJob(user, id)) return *denied;
  auto results = state_.job_store->Results(id);
  if (!results) return ErrorResponse(500, results.error().message());
  json items = json::array();
  for (json& r : *results) items.push_back(std::move(r));
  return JsonResponse(200, {{"items", items}});
}

http::Response ApiHandlers::JobLogs(const UserRec& user, int64_t id, const http::Request& req) {
  auto q = [&](const char* k, const std::string& def) {
    auto it = req.query.find(k);
    return it == req.query.end() ? def : it->second;
  };
  std::string stream = q("stream", "stdout");
  if (stream != "stdout" && stream != "stderr")
    return ErrorResponse(400, "stream: stdout or stderr");
  auto task = ParseId(q("task", "0"));
  if (!task) return ErrorResponse(400, "task: expected a rank");
  std::string offset_text = q("offset", "0");
  int64_t offset = 0;
  bool negative = !offset_text.empty() && offset_text[0] == '-';
  auto off = ParseId(negative ? offset_text.substr(1) : offset_text);
  if (!off) return ErrorResponse(400, "offset: expected an integer");
  offset = negative ? -*off : *off;
  int32_t attempt;
  bool running;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    http::Response denied;
    const JobRec* found = VisibleJob(user, id, &denied);
    if (!found) return denied;
    const JobRec& j = *found;
    if (*task >= j.spec.TotalTasks())
      return ErrorResponse(400,
                           "task: job has " + std::to_string(j.spec.TotalTasks()) + " task(s)");
    attempt =
        static_cast<int32_t>(ParseId(q("attempt", std::to_string(j.attempt))).value_or(j.attempt));
    running = !IsTerminal(j.phase);
    if (attempt == 0)
      return JsonResponse(200, {{"data", ""}, {"size", 0}, {"next", 0}, {"done", !running}});
  }
  std::string path =
      state_.AttemptDir(id, attempt) + "/task-" + std::to_string(*task) + "/" + stream;
  int64_t size = 0;
  std::string data = ReadFileRange(path, offset, 1 << 20, &size);
  int64_t start = offset < 0 ? std::max<int64_t>(0, size + offset) : offset;
  return {200,
          "application/json",
          json({{"data", data},
                {"size", size},
                {"next", start + static_cast<int64_t>(data.size())},
                {"attempt", attempt},
                {"done", !running}})
                  .dump(-1, ' ', false, json::error_handler_t::replace) +
              "\n",
          {}};
}

// `limit=N`: only the first N jobs of the queue (a page of the dashboard); `total` counts all.
http::Response ApiHandlers::Queue(const UserRec& user, const http::Request& req) {
  size_t limit = SIZE_MAX;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    auto n = ParseId(it->second);
    if (!n) return ErrorResponse(400, "limit: expected a number of jobs");
    limit = static_cast<size_t>(*n);
  }
  std::lock_guard<std::mutex> lock(state_.mu);
  std::vector<const JobRec*> pending;
  for (const auto& [id, j] : state_.jobs)
    if (j.durable && j.phase == JobPhase::kPending && MayAccess(user, j.project))
      pending.push_back(&j);
  std::stable_sort(pending.begin(), pending.end(), [](const JobRec* a, const JobRec* b) {
    int64_t pa = a->queue_position ? a->queue_position : INT64_MAX;
    int64_t pb = b->queue_position ? b->queue_position : INT64_MAX;
    return pa < pb;
  });
  json items = json::array();
  for (size_t i = 0; i < pending.size() && i < limit; ++i)
    items.push_back(JobJson(*pending[i], false));
  return JsonResponse(200, {{"items", items}, {"total", pending.size()}});
}

http::Response ApiHandlers::Top(const UserRec& user) {
  std::lock_guard<std::mutex> lock(state_.mu);
  std::map<std::string, int64_t> gpu_used, cpu_used, mem_used;
  std::map<std::string, json> per_project;
  for (const auto& [id, j] : state_.jobs) {
    if (!j.durable) continue;
    json& pp = per_project[j.project];
    if (pp.is_null())
      pp = {{"project", j.project},
            {"runningJobs", 0},
            {"pendingJobs", 0},
            {"gpuMilli", 0},
            {"cpuMillis", 0}};
    if (j.phase == JobPhase::kPending) pp["pendingJobs"] = pp["pendingJobs"].get<int64_t>() + 1;
    if (!HasAttempt(j.phase)) continue;
    pp["runningJobs"] = pp["runningJobs"].get<int64_t>() + 1;
    for (const TaskRec& t : j.tasks) {
      if (t.state != TaskState::kRunning) continue;
      const auto& r = j.spec.task_groups[static_cast<size_t>(t.group)].resources;
      int64_t g = 0;
      for (const auto& s : t.gpus) g += s.milli;
      gpu_used[t.node] += g;
      cpu_used[t.node] += r.cpu_millis;
      mem_used[t.node] += r.memory_bytes;
      pp["gpuMilli"] = pp["gpuMilli"].get<int64_t>() + g;
      pp["cpuMillis"] = pp["cpuMillis"].get<int64_t>() + r.cpu_millis;
    }
  }
  json nodes = json::array();
  for (const auto& n : state_.executor->Nodes(state_.inventory.nodes))
    nodes.push_back({{"name", n.name},
                     {"gpus", n.gpus.size()},
                     {"gpuMilliUsed", gpu_used[n.name]},
                     {"cpuMillis", n.allocatable[core::kCpu]},
                     {"cpuMillisUsed", cpu_used[n.name]},
                     {"memoryBytes", n.allocatable[core::kMemory]},
                     {"memoryBytesUsed", mem_used[n.name]}});
  json projects = json::array();
  for (auto& [name, pp] : per_project)
    if (MayAccess(user, name)) projects.push_back(pp);
  return JsonResponse(200, {{"nodes", nodes}, {"projects", projects}});
}

http::Response ApiHandlers::ListNodes(const UserRec& user) {
  (void)user;
  std::lock_guard<std::mutex> lock(state_.mu);
  std::map<std::string, int64_t> gpu_used, tasks;
  for (const auto& [id, j] : state_.jobs)
    for (const TaskRec& t : j.tasks)
      if (t.state == TaskState::kRunning) {
        for (const auto& s : t.gpus) gpu_used[t.node] += s.milli;
        ++tasks[t.node];
      }
  json items = json::array();
  for (const auto& n : state_.executor->Nodes(state_.inventory.nodes)) {
    json gpus = json::array();
    for (const auto& g : n.gpus) gpus.push_back({{"index", g.index}, {"model", g.model}});
    json labels = json::object();
    for (const auto& l : n.labels) labels[l.key] = l.value;
    auto c = state_.cordoned.find(n.name);
    items.push_back({{"name", n.name},
                     {"cpuMillis", n.allocatable[core::kCpu]},
                     {"memoryBytes", n.allocatable[core::kMemory]},
                     {"gpus", gpus},
                     {"gpuMilliUsed", gpu_used[n.name]},
                     {"tasks", tasks[n.name]},
                     {"labels", labels},
                     {"topology", n.topology},
                     {"schedulable", c == state_.cordoned.end()},
                     {"cordonReason", c == state_.cordoned.end() ? "" : c->second}});
  }
  return JsonResponse(200, {{"items", items}});
}

http::Response ApiHandlers::NodeAction(const UserRec& user, const std::string& name,
                                       const std::string& action) {
  if (!user.admin) return ErrorResponse(403, "only an admin may " + action + " nodes");
  if (action != "cordon" && action != "uncordon" && action != "drain")
    return ErrorResponse(404, "node action must be cordon, uncordon or drain");
  std::future<Status> committed;
  int64_t evicted = 0;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    bool known = false;
    for (const auto& n : state_.executor->Nodes(state_.inventory.nodes)) known |= n.name == name;
    if (!known) return ErrorResponse(404, "node \"" + name + "\" not found");
    double now = state_.clock.NowSeconds();
    if (action == "uncordon") {
      state_.cordoned.erase(name);
      state_.pending_writes.push_back(
          {"INSERT OR REPLACE INTO nodes(name, cordoned, reason) VALUES(?1, 0, '')", {name}});
    } else {
      std::string reason =
          action == "drain" ? "drained by " + user.name : "cordoned by " + user.name;
      state_.cordoned[name] = reason;
      state_.pending_writes.push_back(
          {"INSERT OR REPLACE INTO nodes(name, cordoned, reason) VALUES(?1, 1, ?2)",
           {name, reason}});
    }
    state_.AddEvent(nullptr, "node/" + name,
                    action == "uncordon" ? "Uncordoned"
                    : action == "drain"  ? "Drained"
                                         : "Cordoned",
                    "", "by " + user.name, now);
    if (action == "drain") evicted = DrainNode(name, now);
    committed = state_.Flush();
    state_.Kick();
  }
  Status s = committed.get();
  if (!s.ok()) return ErrorResponse(500, "store: " + s.message());
  return JsonResponse(200, {{"node", name}, {"action", action}, {"evictedJobs", evicted}});
}

// Kubernetes-style drain: the node's jobs are evicted (checkpoint signal, grace period) and
// requeued; they start again elsewhere, resuming from their checkpoints.
int64_t ApiHandlers::DrainNode(const std::string& node, double now) {
  int64_t evicted = 0;
  for (auto& [id, j] : state_.jobs) {
    if (j.phase != JobPhase::kRunning) continue;
    bool here = false;
    for (const TaskRec& t : j.tasks) here |= t.node == node && t.state == TaskState::kRunning;
    if (!here) continue;
    BeginTermination(state_, j, AttemptOutcome::kNodeDrained, "node " + node + " is being drained", now, true);
    ++evicted;
  }
  return evicted;
}

http::Response ApiHandlers::ListProjects(const UserRec& user) {
  std::lock_guard<std::mutex> lock(state_.mu);
  std::map<std::string, int64_t> used;
  for (const auto& [id, j] : state_.jobs)
    for (const TaskRec& t : j.tasks)
      if (t.state == TaskState::kRunning)
        for (const auto& s : t.gpus) used[j.project] += s.milli;
  json items = json::array();
  for (const auto& [name, p] : state_.projects) {
    if (!MayAccess(user, name)) continue;
    json item = ProjectJson(p);
    item["gpusInUse"] = used[name] / 1000.0;
    items.push_back(std::move(item));
  }
  return JsonResponse(200, {{"items", items}});
}

http::Response ApiHandlers::PutProject(const UserRec& user, const std::string& name,
                                       const http::Request& req, bool create) {
  if (!user.admin) return ErrorResponse(403, "only an admin may manage projects");
  if (!ValidName(name))
    return ErrorResponse(400, "name: lower-case letters, digits and '-', at most 63");
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return ErrorResponse(400, "body: expected a JSON object");
  std::future<Status> committed;
  json out;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    auto it = state_.projects.find(name);
    if (create && it != state_.projects.end())
      return ErrorResponse(409, "project \"" + name + "\" exists");
    if (!create && it == state_.projects.end())
      return ErrorResponse(404, "project \"" + name + "\" not found");
    ProjectRec p = create ? ProjectRec{name, 1, 0, -1} : it->second;
    if (auto bad = ApplyProjectFields(body, state_.config.priority_classes, &p)) return *bad;
    if (p.max_gpu_milli >= 0 && p.guaranteed_gpu_milli > p.max_gpu_milli)
      return ErrorResponse(400, "guaranteedGpus: larger than maxGpus");
    state_.projects[name] = p;
    double now = state_.clock.NowSeconds();
    state_.pending_writes.push_back(
        {"INSERT INTO projects(name, weight, guaranteed_gpu_milli, max_gpu_milli, created_at, "
         "priority_classes) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(name) DO UPDATE SET "
         "weight=?2, guaranteed_gpu_milli=?3, max_gpu_milli=?4, priority_classes=?6",
         {name, p.weight, p.guaranteed_gpu_milli,
          p.max_gpu_milli < 0 ? store::Value(nullptr) : store::Value(p.max_gpu_milli), now,
          p.priority_classes.empty() ? store::Value(nullptr)
                                     : store::Value(json(p.priority_classes).dump())}});
    state_.AddEvent(nullptr, "project/" + name, create ? "Created" : "Updated", "",
                    "by " + user.name, now);
    committed = state_.Flush();
    out = ProjectJson(p);
    state_.Kick();
  }
  Status s = committed.get();
  if (!s.ok()) return ErrorResponse(500, "store: " + s.message());
  return JsonResponse(create ? 201 : 200, out);
}

http::Response ApiHandlers::CreateUser(const UserRec& user, const http::Request& req) {
  if (!user.admin) return ErrorResponse(403, "only an admin may create users");
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string())
    return ErrorResponse(400,
                         "body: expected {\"name\": ..., \"projects\": [...], \"admin\": false}");
  std::string name = body["name"].get<std::string>();
  if (!ValidName(name))
    return ErrorResponse(400, "name: lower-case letters, digits and '-', at most 63");
  std::set<std::string> projects;
  if (body.contains("projects")) {
    if (!body["projects"].is_array())
      return ErrorResponse(400, "projects: expected a list of names");
    for (const auto& p : body["projects"]) {
      if (!p.is_string()) return ErrorResponse(400, "projects: expected a list of names");
      projects.insert(p.get<std::string>());
    }
  }
  if (body.contains("admin") && !body["admin"].is_boolean())
    return ErrorResponse(400, "admin: expected true or false");
  bool admin = body.value("admin", false);
  std::future<Status> committed;
  std::string token;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    for (const auto& p : projects)
      if (!state_.projects.count(p))
        return ErrorResponse(400, "projects: project \"" + p + "\" does not exist");
    double now = state_.clock.NowSeconds();
    bool exists = state_.users.count(name) > 0;
    if (!exists) {
      state_.users[name] = UserRec{name, admin, {}};
      state_.pending_writes.push_back(
          {"INSERT INTO users(name, admin, created_at) VALUES(?1, ?2, ?3)",
           {name, int64_t{admin}, now}});
    }
    for (const auto& p : projects) {
      state_.users[name].projects.insert(p);
      state_.pending_writes.push_back(
          {"INSERT OR IGNORE INTO memberships(user, project) VALUES(?1, ?2)", {name, p}});
    }
    token = state_.CreateToken(name, now);
    committed = state_.Flush();
  }
  Status s = committed.get();
  if (!s.ok()) return ErrorResponse(500, "store: " + s.message());
  return JsonResponse(201, {{"name", name}, {"token", token}});
}

}  // namespace kumo::server
