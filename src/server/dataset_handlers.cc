#include "server/dataset_handlers.h"

#include "api/dataset_manifest.h"
#include "cache/client/client.h"
#include "server/http_json.h"
#include "server/server_state.h"
#include "server/util.h"

namespace kumo::server {
using nlohmann::json;

namespace {

// A body's optional "project" (the dataset's owner) must be a name when present.
std::optional<http::Response> CheckProjectField(const nlohmann::json& body) {
  if (body.contains("project") && !body["project"].is_string())
    return ErrorResponse(400, "project: expected a project name (a string)");
  return std::nullopt;
}

bool MayRead(const UserRec& user, const DatasetRec& d) {
  if (MayAccess(user, d.project)) return true;
  for (const auto& g : d.grants)
    if (user.projects.count(g)) return true;
  return false;
}

json VersionJson(const DatasetVersionRec& v) {
  return {{"version", v.version}, {"digest", v.digest},         {"files", v.files},
          {"bytes", v.bytes},     {"createdBy", v.created_by}, {"createdAt", v.created_at}};
}

json DatasetJson(const DatasetRec& d) {
  return {{"name", d.name},
          {"project", d.project},
          {"grants", d.grants},
          {"createdBy", d.created_by},
          {"createdAt", d.created_at}};
}

// "3" -> 3, "latest" -> 0; nullopt for anything else.
std::optional<int64_t> ParseVersion(const std::string& s) {
  if (s == "latest") return 0;
  auto v = ParseId(s);
  if (!v || *v < 1) return std::nullopt;
  return v;
}

http::Response StoreError(const Status& s) { return ErrorResponse(500, "store: " + s.message()); }

// The dataset `name` when `user` may read it; otherwise the 404/403 answer in *denied.
std::optional<DatasetRec> Readable(DatasetStore& store, const UserRec& user,
                                   const std::string& name, http::Response* denied) {
  auto d = store.Get(name);
  if (!d) {
    *denied = StoreError(d.error());
    return std::nullopt;
  }
  if (!*d) {
    *denied = ErrorResponse(404, "dataset \"" + name + "\" not found");
    return std::nullopt;
  }
  if (!MayRead(user, **d)) {
    *denied = ErrorResponse(403, "user \"" + user.name + "\" may not read dataset \"" + name +
                                     "\" (owned by project \"" + (*d)->project +
                                     "\"; grant it with kumo dataset grant)");
    return std::nullopt;
  }
  return **d;
}

}  // namespace

DatasetHandlers::DatasetHandlers(ServerState& state) : state_(state), store_(*state.store) {}

std::optional<http::Response> DatasetHandlers::Route(const UserRec& user,
                                                     const std::vector<std::string>& p,
                                                     const http::Request& req) {
  const std::string& m = req.method;
  auto not_allowed = [&] { return ErrorResponse(405, m + " not allowed on " + req.path); };
  if (p.size() == 2 && p[0] == "cache" && p[1] == "jwks")
    return m == "GET" ? JsonResponse(200, json::parse(state_.cache_tokens->jwks_text()))
                      : not_allowed();
  if (p.empty() || p[0] != "datasets") return std::nullopt;
  if (p.size() == 1) return m == "GET" ? List(user) : not_allowed();
  const std::string& name = p[1];
  if (!ValidName(name))
    return ErrorResponse(400, "dataset name: lower-case letters, digits and '-', at most 63");
  if (p.size() == 2) return m == "GET" ? Describe(user, name) : not_allowed();
  if (p.size() == 3 && p[2] == "uploads")
    return m == "POST" ? StartUpload(user, name, req) : not_allowed();
  if (p.size() == 3 && p[2] == "versions")
    return m == "POST" ? CreateVersion(user, name, req) : not_allowed();
  if (p.size() == 3 && p[2] == "grants") return m == "POST" ? Grant(user, name, req) : not_allowed();
  if (p.size() == 4 && p[2] == "versions") {
    if (m == "GET") return GetVersion(user, name, p[3]);
    if (m == "DELETE") return RemoveVersion(user, name, p[3], req);
    return not_allowed();
  }
  return std::nullopt;
}

http::Response DatasetHandlers::List(const UserRec& user) {
  auto all = store_.List();
  if (!all) return StoreError(all.error());
  json items = json::array();
  for (const DatasetRec& d : *all) {
    if (!MayRead(user, d)) continue;
    auto versions = store_.Versions(d.name);
    if (!versions) return StoreError(versions.error());
    json item = DatasetJson(d);
    item["versions"] = versions->size();
    item["latest"] = versions->empty() ? json(nullptr) : VersionJson(versions->back());
    items.push_back(std::move(item));
  }
  return JsonResponse(200, {{"items", items}});
}

http::Response DatasetHandlers::Describe(const UserRec& user, const std::string& name) {
  http::Response denied;
  auto d = Readable(store_, user, name, &denied);
  if (!d) return denied;
  auto versions = store_.Versions(name);
  if (!versions) return StoreError(versions.error());
  json out = DatasetJson(*d);
  out["versions"] = json::array();
  for (const auto& v : *versions) out["versions"].push_back(VersionJson(v));
  return JsonResponse(200, out);
}

http::Response DatasetHandlers::GetVersion(const UserRec& user, const std::string& name,
                                           const std::string& version_text) {
  auto version = ParseVersion(version_text);
  if (!version) return ErrorResponse(400, "version: a number >= 1 or \"latest\"");
  http::Response denied;
  auto d = Readable(store_, user, name, &denied);
  if (!d) return denied;
  auto v = store_.Version(name, *version);
  if (!v) return StoreError(v.error());
  if (!*v) return ErrorResponse(404, "dataset \"" + name + "@" + version_text + "\" not found");
  json out = VersionJson(**v);
  out["name"] = name;
  out["project"] = d->project;
  out["manifest"] = json::parse((*v)->manifest);
  auto access = CacheAccess(user.name, d->project, name, /*write=*/false, &denied);
  if (!access) return denied;
  out["cache"] = *access;
  return JsonResponse(200, out);
}

std::optional<std::string> DatasetHandlers::WriteProject(const UserRec& user,
                                                         const std::string& name,
                                                         const std::string& requested,
                                                         std::optional<DatasetRec>* found,
                                                         http::Response* denied) {
  auto got = store_.Get(name);
  if (!got) {
    *denied = StoreError(got.error());
    return std::nullopt;
  }
  *found = std::move(*got);
  const std::optional<DatasetRec>& existing = *found;
  std::string project = requested;
  if (existing) {
    if (!project.empty() && project != existing->project) {
      *denied = ErrorResponse(409, "dataset \"" + name + "\" belongs to project \"" +
                                       existing->project + "\", not \"" + project + "\"");
      return std::nullopt;
    }
    project = existing->project;
  } else if (project.empty()) {
    if (user.projects.size() != 1) {
      *denied = ErrorResponse(400, "project: required (the user is in " +
                                       std::to_string(user.projects.size()) + " projects)");
      return std::nullopt;
    }
    project = *user.projects.begin();
  }
  std::lock_guard<std::mutex> lock(state_.mu);
  if (!state_.projects.count(project)) {
    *denied = ErrorResponse(400, "project: project \"" + project + "\" does not exist");
    return std::nullopt;
  }
  if (!MayAccess(user, project)) {
    *denied = ErrorResponse(403, "user \"" + user.name + "\" may not write dataset \"" + name +
                                     "\" (not a member of project \"" + project + "\")");
    return std::nullopt;
  }
  return project;
}

std::optional<json> DatasetHandlers::CacheAccess(const std::string& principal,
                                                 const std::string& project,
                                                 const std::string& name, bool write,
                                                 http::Response* denied) {
  const ServerConfig& config = state_.config;
  if (config.cache_servers.empty()) {
    *denied = ErrorResponse(503, "this server has no kumo cache for dataset bytes (kumo server "
                                 "--cache HOST:PORT)");
    return std::nullopt;
  }
  std::string prefix = DatasetKeyPrefix(project, name);
  cache::TokenScope scope;
  scope.read = {std::string(kDatasetBucket) + "/" + prefix};
  // A write token stores only content addresses: the cache checks each upload's SHA-256
  // against its key, so a pull may trust the name and verify a fast checksum (datasets.md).
  if (write) {
    scope.write = scope.read;
    scope.sha256_keys = true;
  }
  int64_t now = static_cast<int64_t>(state_.clock.NowSeconds());
  auto token = state_.cache_tokens->Mint(principal, scope, now, config.cache_token_ttl_s);
  if (!token) {
    *denied = ErrorResponse(500, "cache token: " + token.error().message());
    return std::nullopt;
  }
  return json{{"servers", config.cache_servers},
              {"bucket", kDatasetBucket},
              {"prefix", prefix},
              {"token", *token},
              {"expiresAt", now + config.cache_token_ttl_s}};
}

http::Response DatasetHandlers::StartUpload(const UserRec& user, const std::string& name,
                                            const http::Request& req) {
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (!body.is_object()) return ErrorResponse(400, "body: expected {\"project\": ...}");
  if (auto bad = CheckProjectField(body)) return *bad;
  std::string requested = body.value("project", "");
  std::lock_guard<std::mutex> lock(write_mu_);
  std::optional<DatasetRec> existing;
  http::Response denied;
  auto project = WriteProject(user, name, requested, &existing, &denied);
  if (!project) return denied;
  auto access = CacheAccess(user.name, *project, name, /*write=*/true, &denied);
  if (!access) return denied;
  return JsonResponse(200, {{"name", name}, {"project", *project}, {"cache", *access}});
}

Result<std::unique_ptr<cache::CacheClient>> ServerDatasetReader(ServerState& state,
                                                                const std::string& project,
                                                                const std::string& name,
                                                                int64_t ttl_s) {
  cache::TokenScope scope;
  scope.read = {std::string(kDatasetBucket) + "/" + DatasetKeyPrefix(project, name)};
  int64_t now = static_cast<int64_t>(state.clock.NowSeconds());
  auto token = state.cache_tokens->Mint("server", scope, now, ttl_s);
  if (!token) return Error(token.error());
  cache::ClientOptions o;
  o.servers = state.config.cache_servers;
  o.token = *token;
  return cache::CacheClient::Create(o);
}

Status DatasetHandlers::CheckObjectsUploaded(
    const std::string& project, const std::string& name,
    const std::vector<std::pair<std::string, int64_t>>& objects) {
  auto client = ServerDatasetReader(state_, project, name, 600);
  if (!client) return client.error();
  for (const auto& [sha, size] : objects) {
    auto st = (*client)->Stat(kDatasetBucket, DatasetKeyPrefix(project, name) + sha);
    if (!st) {
      if (st.error().code() != StatusCode::kNotFound)
        return Status::Unavailable("kumo cache: " + st.error().message());
      return Status::FailedPrecondition("object " + sha +
                                        " was not uploaded to the cache (push it first)");
    }
    if (static_cast<int64_t>(st->size_bytes) != size)
      return Status::FailedPrecondition("object " + sha + " is " +
                                        std::to_string(st->size_bytes) + " bytes in the cache, " +
                                        "the manifest says " + std::to_string(size));
  }
  return Status::Ok();
}

http::Response DatasetHandlers::CreateVersion(const UserRec& user, const std::string& name,
                                              const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return ErrorResponse(400, "body: expected {\"files\": [...]}");
  if (auto bad = CheckProjectField(body)) return *bad;
  std::string requested = body.value("project", "");
  body.erase("project");
  auto manifest = api::ParseManifest(body);
  if (!manifest) return ErrorResponse(400, manifest.error().message());
  std::lock_guard<std::mutex> lock(write_mu_);
  std::optional<DatasetRec> existing;
  http::Response denied;
  auto project = WriteProject(user, name, requested, &existing, &denied);
  if (!project) return denied;
  std::string digest = manifest->Digest();
  if (existing) {
    auto latest = store_.Version(name, 0);
    if (!latest) return StoreError(latest.error());
    if (*latest && (*latest)->digest == digest) {
      json out = VersionJson(**latest);
      out["name"] = name;
      out["created"] = false;
      return JsonResponse(200, out);
    }
  }
  std::map<std::string, int64_t> objects;
  for (const auto& f : manifest->files) objects[f.sha256] = f.size_bytes;
  if (state_.config.cache_servers.empty())
    return ErrorResponse(503, "this server has no kumo cache for dataset bytes");
  Status uploaded = CheckObjectsUploaded(*project, name, {objects.begin(), objects.end()});
  if (!uploaded.ok())
    return ErrorResponse(uploaded.code() == StatusCode::kUnavailable ? 503 : 409,
                         uploaded.message());
  double now = state_.clock.NowSeconds();
  DatasetVersionRec v{name,
                      existing ? existing->next_version : 1,
                      digest,
                      manifest->Canonical(),
                      static_cast<int64_t>(manifest->files.size()),
                      manifest->TotalBytes(),
                      user.name,
                      now};
  std::vector<store::Statement> writes;
  if (!existing) writes.push_back(DatasetStore::Create({name, *project, user.name, now, 1, {}}));
  for (auto& s : DatasetStore::AddVersion(v)) writes.push_back(std::move(s));
  writes.push_back(JobStore::AddEvent(now, std::nullopt, "dataset/" + name, "VersionCreated", "",
                                      name + "@" + std::to_string(v.version) + " " + digest +
                                          " by " + user.name));
  if (Status s = state_.store->Write(std::move(writes)).get(); !s.ok()) return StoreError(s);
  json out = VersionJson(v);
  out["name"] = name;
  out["project"] = *project;
  out["created"] = true;
  return JsonResponse(201, out);
}

http::Response DatasetHandlers::RemoveVersion(const UserRec& user, const std::string& name,
                                              const std::string& version_text,
                                              const http::Request& req) {
  auto version = ParseVersion(version_text);
  if (!version || *version == 0) return ErrorResponse(400, "version: a number >= 1");
  bool force = req.query.count("force") && req.query.at("force") == "true";
  if (force && !user.admin) return ErrorResponse(403, "only an admin may force a removal");
  std::lock_guard<std::mutex> lock(write_mu_);
  http::Response denied;
  auto d = Readable(store_, user, name, &denied);
  if (!d) return denied;
  if (!MayAccess(user, d->project))
    return ErrorResponse(403, "only project \"" + d->project + "\" may remove versions of \"" +
                                  name + "\"");
  auto v = store_.Version(name, *version);
  if (!v) return StoreError(v.error());
  if (!*v) return ErrorResponse(404, "dataset \"" + name + "@" + version_text + "\" not found");
  auto refs = store_.ResultsReferencing((*v)->digest);
  if (!refs) return StoreError(refs.error());
  if (*refs > 0 && !force)
    return ErrorResponse(409, name + "@" + version_text + " is named by " +
                                  std::to_string(*refs) +
                                  " result(s); an admin may remove it with --force");
  double now = state_.clock.NowSeconds();
  Status s = state_.store
                 ->Write({DatasetStore::RemoveVersion(name, *version),
                          JobStore::AddEvent(now, std::nullopt, "dataset/" + name,
                                             "VersionRemoved", force ? "Forced" : "",
                                             name + "@" + version_text + " by " + user.name)})
                 .get();
  if (!s.ok()) return StoreError(s);
  return JsonResponse(200, {{"name", name}, {"version", *version}, {"removed", true}});
}

http::Response DatasetHandlers::Grant(const UserRec& user, const std::string& name,
                                      const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("project") || !body["project"].is_string())
    return ErrorResponse(400, "body: expected {\"project\": ...}");
  std::string project = body["project"].get<std::string>();
  std::lock_guard<std::mutex> lock(write_mu_);
  http::Response denied;
  auto d = Readable(store_, user, name, &denied);
  if (!d) return denied;
  if (!MayAccess(user, d->project))
    return ErrorResponse(403, "only project \"" + d->project + "\" may grant \"" + name + "\"");
  {
    std::lock_guard<std::mutex> state_lock(state_.mu);
    if (!state_.projects.count(project))
      return ErrorResponse(400, "project: project \"" + project + "\" does not exist");
  }
  double now = state_.clock.NowSeconds();
  Status s = state_.store
                 ->Write({DatasetStore::Grant(name, project),
                          JobStore::AddEvent(now, std::nullopt, "dataset/" + name, "Granted", "",
                                             "read to project " + project + " by " + user.name)})
                 .get();
  if (!s.ok()) return StoreError(s);
  d->grants.insert(project);
  return JsonResponse(200, DatasetJson(*d));
}

}  // namespace kumo::server
