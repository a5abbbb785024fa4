#include "client/api_client.h"

namespace kumo::client {

std::string ApiResponse::ErrorMessage() const {
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return body["error"].get<std::string>();
  std::string text = raw;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty() && text.size() < 500) return text + " (HTTP " + std::to_string(status) + ")";
  return "HTTP " + std::to_string(status);
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ClientConfig& config, int timeout_s) {
  auto hp = http::ParseHostPort(config.server);
  if (!hp)
    return Error(Status::InvalidArgument("server address \"" + config.server + "\" (from " +
                                         config.server_source + "): expected HOST:PORT"));
  return std::unique_ptr<ApiClient>(
      new ApiClient(config, std::make_unique<http::Client>(hp->first, hp->second, timeout_s)));
}

Result<ApiResponse> ApiClient::Call(const std::string& method, const std::string& target,
                                    const std::string& body,
                                    std::vector<std::pair<std::string, std::string>> headers) {
  if (!config_.token.empty()) headers.emplace_back("Authorization", "Bearer " + config_.token);
  if (!body.empty() && method != "GET") {
    bool has_type = false;
    for (const auto& [k, v] : headers) has_type |= k == "Content-Type";
    if (!has_type) headers.emplace_back("Content-Type", "application/json");
  }
  auto r = http_->Call(method, target, body, headers);
  if (!r) return Error(r.error());
  ApiResponse out;
  out.status = r->status;
  out.raw = std::move(r->body);
  out.body = nlohmann::json::parse(out.raw, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

}  // namespace kumo::client
