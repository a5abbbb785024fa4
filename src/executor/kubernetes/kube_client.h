// KubeClient: synchronous HTTPS calls to the Kubernetes API server, and watches.
//
// One TLS connection per call (calls are rare: creating a gang's pods, binding them, deleting
// them); each watch holds its own connection for as long as the server streams it. Requests
// and responses are JSON (nlohmann). The server is verified against the config's CA and host
// name (IP addresses against the certificate's IP SANs) unless insecure_skip_verify.
//
// Watch semantics (Kubernetes API concepts, "Efficient detection of changes"): a watch starts
// at the resourceVersion of a list (or of the last event or BOOKMARK seen) and streams
// newline-delimited JSON events {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}.
// When that resourceVersion is older than the server keeps history for, the server answers
// HTTP 410 Gone, or sends an ERROR event whose object is a Status with code 410; the caller must
// list again (Informer in informer.h does all of this).
//
// Thread safety: Call and Watch may run on several threads at once. CancelWatches, from any
// thread, makes every Watch in progress return (it shuts their sockets down); it is meant for
// shutting down: later watches see their connection cut as a normal end.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "executor/kubernetes/kube_config.h"

namespace kumo::executor::kube {

// kPatch sends a JSON merge patch (RFC 7386); kStrategicMergePatch Kubernetes' strategic merge
// patch, which merges lists by their key (a pod's status.conditions by type).
enum class Verb { kGet, kPost, kPut, kPatch, kDelete, kStrategicMergePatch };

struct KubeResponse {
  int status = 0;       // the HTTP status
  nlohmann::json body;  // the parsed body; null when it was empty or not JSON
  bool ok() const { return status >= 200 && status < 300; }
};

// The message of the Status object a failed call returned, or "HTTP <status>".
std::string ErrorText(const KubeResponse& r);

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request. `target` is the path and query ("/api/v1/nodes?limit=500"). A body is sent as
  // application/json (merge-patch+json for kPatch, strategic-merge-patch+json for
  // kStrategicMergePatch). Any HTTP status is a response; a Status
  // error means there was none (cannot connect, TLS, malformed) within `timeout_s` seconds.
  Result<KubeResponse> Call(Verb verb, const std::string& target,
                            const nlohmann::json* body = nullptr, int timeout_s = 30);

  // One watch request (`target` carries ?watch=1&resourceVersion=...). Each event is passed to
  // on_event; returning false ends the watch. Returns the HTTP status when the stream ended
  // normally (the server's timeoutSeconds, on_event said stop, CancelWatches) — 200, or e.g.
  // 410 when the resourceVersion is too old — and a Status error when the connection broke or
  // nothing arrived for `idle_timeout_s` seconds.
  Result<int> Watch(const std::string& target,
                    const std::function<bool(const nlohmann::json&)>& on_event,
                    int idle_timeout_s = 90);
  void CancelWatches();

 private:
  struct Connection;

 public:
  // One kept-alive connection for a series of calls from ONE thread (HTTP/1.1 persistent
  // connections, RFC 9112 §9.3): Call(session, ...) reuses its TLS connection instead of paying
  // a TCP and TLS handshake per call (the server's RSA signature is most of a small call's cost).
  // Not thread safe: one Session per thread. A reused connection the server closed while idle
  // fails before any answer; the call is then sent once more on a new connection, so a POST may
  // reach the server twice (the second answer is then 409 AlreadyExists).
  class Session {
   public:
    Session();
    ~Session();

   private:
    friend class KubeClient;
    std::unique_ptr<Connection> conn_;
  };
  Result<KubeResponse> Call(Session& session, Verb verb, const std::string& target,
                            const nlohmann::json* body = nullptr, int timeout_s = 30);

 private:
  Result<KubeResponse> Exchange(Connection& c, Verb verb, const std::string& target,
                                const nlohmann::json* body, bool* keep_alive);
  Status ConfigureTls(Connection* c) const;
  Result<std::unique_ptr<Connection>> Connect(int timeout_s);
  std::string BearerToken() const;

  const KubeConfig config_;
  std::mutex mu_;
  std::set<int> watch_fds_;  // sockets of watches in progress; guarded by mu_
  bool cancelling_ = false;  // CancelWatches was called; guarded by mu_
};

}  // namespace kumo::executor::kube
