// Minimal HTTP/1.1 server and client for kumo's control-plane API (Boost.Beast underneath).
//
// The server is event-driven: a few I/O threads (Asio) hold every connection, so thousands of
// idle or slow clients cost a socket and a few KiB each, not a thread; handlers, which may
// block (the API waits for the store's group commit before answering 201), run on a separate
// pool of worker threads. Each request goes through these steps, and no step reads more than
// the one before allowed:
//   1. the head, at most 16 KiB, must arrive whole within `head_timeout_s` (a client that
//      trickles it is closed);
//   2. its framing is checked (request_head.h: Host, Authorization, Transfer-Encoding);
//   3. the HeadCheck decides from the head alone whether the request may go on — the token
//      check — and its refusal (401) is answered and the connection closed without reading
//      the body;
//   4. the body, at most `max_body_bytes` (413 beyond), must keep arriving at an average of
//      `min_body_bytes_per_s` after a grace of `head_timeout_s` (else it is closed);
//   5. the handler runs on a worker; its answer is written; keep-alive per HTTP/1.1, requests
//      on one connection answered in order.
// Which connections are kept when there are too many: connection_budget.h (unauthenticated
// connections are shed oldest first; authenticated ones have their own budget, 503 beyond).
//
// Thread safety: the handler is called concurrently from the worker threads; the HeadCheck
// from the I/O threads (it must not block for long).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace kumo::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: "/v1/jobs?project=a"
  std::string path;                            // percent-decoded path: "/v1/jobs"
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote;  // "127.0.0.1:53422"

  // Header value by lower-case name, "" when absent.
  std::string Header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Handler = std::function<Response(const Request&)>;
// Called with a request's head (its `body` empty): std::nullopt lets the request go on, a
// Response refuses it (answered, then the connection is closed, the body never read).
using HeadCheck = std::function<std::optional<Response>(const Request& head)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  size_t max_body_bytes = 1 << 20;
  int head_timeout_s = 10;               // a whole request head must arrive within this
  int idle_timeout_s = 60;               // an authenticated keep-alive connection may idle
  size_t min_body_bytes_per_s = 16 << 10;  // average body rate after head_timeout_s of grace
  size_t max_unauthenticated_connections = 512;
  size_t max_unauthenticated_per_ip = 256;
  size_t max_connections = 1024;  // authenticated connections (503 beyond)
  int io_threads = 2;
  // Handlers running at once; more requests wait their turn. Submissions block on the store's
  // group commit, and the more wait together the more one fsync covers: as many workers as the
  // busiest benchmark has clients (bench/server.sh: 32), with room.
  int worker_threads = 64;
};

class HttpServer {
 public:
  // `check_head` null: every head may go on (and counts as authenticated).
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Handler handler,
                                                   HeadCheck check_head = nullptr);
  ~HttpServer();  // Stop()
  uint16_t port() const { return port_; }
  // Stops accepting, closes every connection, joins the threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

// A blocking keep-alive client for one server (reconnects when the server closed the
// connection). Not thread-safe: one per thread.
class Client {
 public:
  Client(std::string host, uint16_t port, int timeout_s = 30);
  ~Client();
  Result<Response> Call(const std::string& method, const std::string& target,
                        const std::string& body = "",
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "host:port" -> parts; the port must be given.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text);
std::string PercentDecode(std::string_view s);
std::string PercentEncode(std::string_view s);

}  // namespace kumo::http
