#include "server/result_handlers.h"

#include <algorithm>
#include <filesystem>

#include "api/dataset_manifest.h"
#include "server/http_json.h"
#include "server/server_state.h"
#include "server/task_file.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;
using nlohmann::json;

std::optional<http::Response> ResultHandlers::Route(const UserRec& user,
                                                    const std::vector<std::string>& p,
                                                    const http::Request& req) {
  if (p.size() < 3 || p[0] != "jobs" || p[2] != "outputs") return std::nullopt;
  if (req.method != "GET") return ErrorResponse(405, req.method + " not allowed on " + req.path);
  auto id = ParseId(p[1]);
  if (!id) return ErrorResponse(404, "job \"" + p[1] + "\" not found");
  int32_t attempt = 0;
  http::Response denied;
  auto dir = OutputDir(user, *id, req, &attempt, &denied);
  if (!dir) return denied;
  if (p.size() == 3) return List(*dir, attempt);
  std::string path;
  for (size_t i = 3; i < p.size(); ++i) path += (i > 3 ? "/" : "") + p[i];
  return Read(*dir, path, req);
}

std::optional<std::string> ResultHandlers::OutputDir(const UserRec& user, int64_t id,
                                                     const http::Request& req, int32_t* attempt,
                                                     http::Response* denied) {
  std::lock_guard<std::mutex> lock(state_.mu);
  auto it = state_.jobs.find(id);
  if (it == state_.jobs.end() || !it->second.durable) {
    *denied = ErrorResponse(404, "job " + std::to_string(id) + " not found");
    return std::nullopt;
  }
  if (!MayAccess(user, it->second.project)) {
    *denied = ErrorResponse(403, "user \"" + user.name + "\" may not see job " +
                                     std::to_string(id));
    return std::nullopt;
  }
  *attempt = it->second.attempt;
  if (auto a = req.query.find("attempt"); a != req.query.end()) {
    auto n = ParseId(a->second);
    if (!n || *n < 1 || *n > it->second.attempt) {
      *denied = ErrorResponse(400, "attempt: 1.." + std::to_string(it->second.attempt));
      return std::nullopt;
    }
    *attempt = static_cast<int32_t>(*n);
  }
  if (*attempt == 0) {
    *denied = ErrorResponse(404, "job " + std::to_string(id) + " has not started: no outputs");
    return std::nullopt;
  }
  return state_.AttemptDir(id, *attempt) + "/output";
}

http::Response ResultHandlers::List(const std::string& dir, int32_t attempt) {
  json files = json::array();
  for (const TaskFileEntry& f : ListTaskFiles(dir))  // follows none of the task's links
    files.push_back({{"path", f.path}, {"size", f.size_bytes}});
  std::sort(files.begin(), files.end(),
            [](const json& a, const json& b) { return a["path"] < b["path"]; });
  return JsonResponse(200, {{"attempt", attempt}, {"files", files}});
}

http::Response ResultHandlers::Read(const std::string& dir, const std::string& path,
                                    const http::Request& req) {
  if (Status s = api::ValidateManifestPath(path); !s.ok())
    return ErrorResponse(400, "path: " + s.message());
  int64_t offset = 0;
  if (auto o = req.query.find("offset"); o != req.query.end()) {
    auto n = ParseId(o->second);
    if (!n) return ErrorResponse(400, "offset: an integer >= 0");
    offset = *n;
  }
  // The task wrote the dir: TaskFile follows none of its links and never blocks on a FIFO.
  std::optional<TaskFile> file = TaskFile::Open(dir, path);
  if (!file) return ErrorResponse(404, "output \"" + path + "\" not found");
  const int64_t size = static_cast<int64_t>(file->size_bytes());
  int64_t length = std::max<int64_t>(0, std::min(kOutputChunkBytes, size - offset));
  auto body = file->Read(static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  if (!body) return ErrorResponse(500, "output \"" + path + "\": " + body.error().message());
  return {200, "application/octet-stream", std::move(*body), {{"X-Kumo-Size", std::to_string(size)}}};
}

}  // namespace kumo::server
