// Minimal HTTP/1.1 server and client for kumo's control-plane API (Boost.Beast underneath).
//
// The server runs one thread per connection: handlers may block (the API waits for the store's
// group commit before answering 201), and a control plane has tens to hundreds of clients, not
// tens of thousands. Bounds: header block 16 KiB, body `max_body_bytes` (413 beyond), an idle
// connection is closed after `idle_timeout_s`, at most `max_connections` at once (503 beyond).
// Keep-alive per HTTP/1.1; requests on one connection are answered in order.
//
// Thread safety: the handler is called concurrently from connection threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  size_t max_body_bytes = 1 << 20;
  int idle_timeout_s = 60;
  int max_connections = 1024;
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Handler handler);
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
