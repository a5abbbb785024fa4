// The API's answers: one JSON object and a newline; errors as {"code": STATUS, "error": ...}
// (docs/api.md "Conventions"). Shared by the handler files of ApiHandlers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "http/http.h"

namespace kumo::server {

inline http::Response JsonResponse(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump() + "\n", {}};
}

inline http::Response ErrorResponse(int status, const std::string& message) {
  return JsonResponse(status, {{"code", status}, {"error", message}});
}

}  // namespace kumo::server
