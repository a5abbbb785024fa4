// One run of a client command that talks to the kumo server (kumo dataset, results, cp, rerun):
// its parsed flags, the connection (server and token resolved as client/config.h says), and
// the exit codes and messages every such command shares: 0 ok, 1 the server said no or could
// not be reached ("kumo dataset pull: <why>"), 2 bad usage.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/api_client.h"
#include "client/config.h"

namespace kumo::cli {

inline constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;

struct Invocation {
  std::string prog;  // "kumo dataset push": the prefix of every message
  std::string usage;  // printed after a usage error
  client::ParsedArgs args;
  std::unique_ptr<client::ApiClient> api;

  int Fail(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), msg.c_str());
    return kExitFailed;
  }
  int Usage(const std::string& msg) const {
    std::fprintf(stderr, "%s: %s\n%s", prog.c_str(), msg.c_str(), usage.c_str());
    return kExitUsage;
  }
  // Resolves the server and token (--server, --token, environment, config file); reports and
  // returns false when it cannot.
  bool Connect() {
    client::ConnectionFlags flags;
    if (args.Has("--server")) flags.server = args.Get("--server");
    if (args.Has("--token")) flags.token = args.Get("--token");
    auto config = client::ResolveConfig(flags, client::ProcessEnv());
    if (!config) return Fail(config.error().message()), false;
    if (config->token.empty())
      return Fail("no API token: pass --token, set KUMO_TOKEN or put token: in the config file"),
             false;
    auto a = client::ApiClient::Create(*config);
    if (!a) return Fail(a.error().message()), false;
    api = std::move(*a);
    return true;
  }
  // A 2xx answer; anything else is reported and gives nullopt.
  std::optional<client::ApiResponse> Raw(
      const std::string& method, const std::string& target, const std::string& body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto r = api->Call(method, target, body, headers);
    if (!r) return Fail(r.error().message() + " (server " + api->config().server + ")"), std::nullopt;
    if (!r->ok()) return Fail(r->ErrorMessage()), std::nullopt;
    return *r;
  }
  std::optional<nlohmann::json> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "") {
    auto r = Raw(method, target, body);
    if (!r) return std::nullopt;
    return r->body;
  }
  bool Json() const { return args.Get("--output", "table") == "json"; }
};

}  // namespace kumo::cli
