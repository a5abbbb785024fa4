// Watching, as `kubectl get -w` does: `kumo events -w` and `kumo get jobs -w` follow the
// server's event log by long polls (GET /v1/events?since=N&wait=S, docs/api.md), so a change
// is printed as soon as it is recorded, without a polling timer.
#pragma once

#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"

namespace kumo::cli {

// Seconds one long poll may wait on the server (below the client's 30 s read timeout).
inline constexpr int kWatchPollSeconds = 20;

// Calls `on_event` with each event after sequence number `since` that the caller may see, in
// order, until it returns false (then OK). A dropped connection or a restarting server is
// retried once a second; after 30 failures in a row the transport error is returned. An HTTP
// error answer (401, 403, ...) is returned at once as kUnavailable with the server's message.
Status FollowEvents(client::ApiClient& api, int64_t since,
                    const std::function<bool(const nlohmann::json& event)>& on_event);

// The sequence number of the newest event (the `since` that shows only what comes next).
Result<int64_t> LatestEventSeq(client::ApiClient& api);

}  // namespace kumo::cli
