// ApiHandlers for a user's tokens: /v1/users/{name}/tokens (docs/api.md).
//
//   POST   rotate: a new token (optionally expiring after ttlSeconds); every other token of
//          the user stops working in the same commit, so a leaked token dies with it.
//   DELETE revoke: every token of the user stops working (the user is locked out until an
//          admin rotates a new one).
// The user themself or an admin may do either. Answered after the change committed: a
// revoked token, once the client heard so, is refused even after kill -9 and a restart.
#include "server/api_handlers.h"
#include "server/http_json.h"

namespace kumo::server {
using nlohmann::json;

namespace {

// ttlSeconds of a rotate body: > 0, or absent/null for a token that never expires. An empty
// body means no fields.
Result<double> ParseTtl(const std::string& text) {
  if (text.empty()) return 0.0;
  json body = json::parse(text, nullptr, false);
  if (!body.is_object()) return Error(Status::InvalidArgument("body: expected a JSON object"));
  for (auto& [k, v] : body.items()) {
    if (k != "ttlSeconds")
      return Error(Status::InvalidArgument(k + ": unknown field (known: ttlSeconds)"));
    if (v.is_null()) continue;
    if (!v.is_number() || v.get<double>() <= 0)
      return Error(Status::InvalidArgument("ttlSeconds: must be a number > 0 or null"));
    return v.get<double>();
  }
  return 0.0;
}

}  // namespace

http::Response ApiHandlers::UserTokens(const UserRec& caller, const std::string& name,
                                       const http::Request& req) {
  bool rotate = req.method == "POST";
  if (!rotate && req.method != "DELETE")
    return ErrorResponse(405, req.method + " not allowed on " + req.path);
  if (!caller.admin && caller.name != name)
    return ErrorResponse(403, "only an admin may manage another user's tokens");
  auto ttl = rotate ? ParseTtl(req.body) : Result<double>(0.0);
  if (!ttl) return ErrorResponse(400, ttl.error().message());
  std::future<Status> committed;
  json out = {{"user", name}};
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    if (!state_.users.count(name)) return ErrorResponse(404, "user \"" + name + "\" not found");
    double now = state_.clock.NowSeconds();
    out["revoked"] = state_.RevokeTokens(name);
    if (rotate) {
      out["token"] = state_.CreateToken(name, now, *ttl);
      out["expiresAt"] = *ttl > 0 ? json(now + *ttl) : json(nullptr);
    }
    state_.AddEvent(nullptr, "user/" + name, rotate ? "TokenRotated" : "TokensRevoked", "",
                    "by " + caller.name, now);
    committed = state_.Flush();
  }
  Status s = committed.get();
  if (!s.ok()) return ErrorResponse(500, "store: " + s.message());
  return JsonResponse(rotate ? 201 : 200, out);
}

}  // namespace kumo::server
