#include "server/snapshot_handlers.h"

#include "api/dataset_manifest.h"
#include "server/http_json.h"
#include "server/snapshot_store.h"
#include "server/util.h"

namespace kumo::server {
using nlohmann::json;

namespace {

int HttpStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 413;
    default: return 500;
  }
}

}  // namespace

std::optional<http::Response> SnapshotHandlers::Route(const UserRec& user,
                                                      const std::vector<std::string>& p,
                                                      const http::Request& req) {
  // Any authenticated user may upload code; what one sent is theirs alone (snapshot_store.h).
  if (p.empty() || p[0] != "snapshots") return std::nullopt;
  const std::string& m = req.method;
  auto not_allowed = [&] { return ErrorResponse(405, m + " not allowed on " + req.path); };
  if (p.size() == 1) {
    if (m == "GET") return JsonResponse(200, {{"maxBytes", store_.max_bytes()}});
    return m == "POST" ? Create(user, req) : not_allowed();
  }
  if (p.size() == 3 && p[1] == "blobs") {
    if (m != "PUT") return not_allowed();
    if (Status s = store_.PutBlob(user.name, p[2], req.body); !s.ok())
      return ErrorResponse(HttpStatus(s), s.message());
    return JsonResponse(201, {{"sha256", p[2]}, {"bytes", req.body.size()}});
  }
  if (p.size() == 2) {
    if (m != "GET") return not_allowed();
    auto manifest = store_.Get(p[1]);
    // Another user's manifest is as unknown as one that does not exist.
    if (manifest && !user.admin && !store_.RecordedBy(user.name, p[1]))
      manifest = Error(Status::NotFound("snapshot " + p[1] + " not found"));
    if (!manifest) return ErrorResponse(HttpStatus(manifest.error()), manifest.error().message());
    json out = api::ManifestJson(*manifest);
    out["digest"] = p[1];
    return JsonResponse(200, out);
  }
  return std::nullopt;
}

http::Response SnapshotHandlers::Create(const UserRec& user, const http::Request& req) {
  auto manifest = api::ParseManifest(json::parse(req.body, nullptr, false));
  if (!manifest) return ErrorResponse(400, manifest.error().message());
  std::string digest = manifest->Digest();
  json out = {{"digest", digest},
              {"files", manifest->files.size()},
              {"bytes", manifest->TotalBytes()}};
  if (manifest->TotalBytes() > store_.max_bytes()) {
    Status s = store_.Record(user.name, *manifest);  // refuses: the message names the sizes
    return ErrorResponse(413, s.message());
  }
  std::vector<std::string> missing = store_.Missing(user.name, *manifest);
  if (!missing.empty()) {
    out["missing"] = missing;
    return JsonResponse(200, out);
  }
  if (Status s = store_.Record(user.name, *manifest); !s.ok())
    return ErrorResponse(HttpStatus(s), s.message());
  out["missing"] = json::array();
  return JsonResponse(201, out);
}

}  // namespace kumo::server
