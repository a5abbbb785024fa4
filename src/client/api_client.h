// The CLI's connection to a kumo server: bearer token, JSON bodies, errors as text.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/config.h"
#include "base/status.h"
#include "http/http.h"

namespace kumo::client {

struct ApiResponse {
  int status = 0;
  nlohmann::json body;  // parsed JSON; null when the body was not JSON
  std::string raw;

  bool ok() const { return status >= 200 && status < 300; }
  // The server's {"error": ...} text, or the raw body, or "HTTP <status>".
  std::string ErrorMessage() const;
};

class ApiClient {
 public:
  // InvalidArgument when the address is not HOST:PORT (naming where it came from).
  static Result<std::unique_ptr<ApiClient>> Create(const ClientConfig& config, int timeout_s = 30);

  // Transport failures (server down, timeout) are errors; any HTTP answer, 4xx included, is a
  // response for the caller to judge.
  Result<ApiResponse> Call(const std::string& method, const std::string& target,
                           const std::string& body = "",
                           std::vector<std::pair<std::string, std::string>> headers = {});

  const ClientConfig& config() const { return config_; }

 private:
  ApiClient(ClientConfig config, std::unique_ptr<http::Client> http)
      : config_(std::move(config)), http_(std::move(http)) {}
  ClientConfig config_;
  std::unique_ptr<http::Client> http_;
};

}  // namespace kumo::client
