#include "cli/watch.h"

#include <chrono>
#include <string>
#include <thread>

namespace kumo::cli {
using nlohmann::json;

namespace {

constexpr int kMaxTransportFailures = 30;

Status ErrorOf(const client::ApiResponse& r) { return Status::Unavailable(r.ErrorMessage()); }

}  // namespace

Status FollowEvents(client::ApiClient& api, int64_t since,
                    const std::function<bool(const json& event)>& on_event) {
  int failures = 0;
  for (;;) {
    auto r = api.Call("GET", "/v1/events?since=" + std::to_string(since) +
                                 "&wait=" + std::to_string(kWatchPollSeconds));
    if (!r) {
      if (++failures >= kMaxTransportFailures) return r.error();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    failures = 0;
    if (r->status == 429) {  // the server's watches are all taken: ask again in a moment
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (!r->ok()) return ErrorOf(*r);
    const json& items = r->body.value("items", json::array());
    for (const json& e : items)
      if (!on_event(e)) return Status::Ok();
    since = r->body.value("next", since);
  }
}

Result<int64_t> LatestEventSeq(client::ApiClient& api) {
  auto r = api.Call("GET", "/v1/events?since=latest");
  if (!r) return Error(r.error());
  if (!r->ok()) return Error(ErrorOf(*r));
  return r->body.value("next", int64_t{0});
}

}  // namespace kumo::cli
