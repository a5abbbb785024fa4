#include "http/http.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <set>

namespace kumo::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string Request::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text) {
  std::string t = text;
  if (t.starts_with("http://")) t = t.substr(7);
  while (!t.empty() && t.back() == '/') t.pop_back();
  auto colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == t.size())
    return Error(Status::InvalidArgument("address \"" + text + "\": expected HOST:PORT"));
  int port = 0;
  for (char c : t.substr(colon + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535)
      return Error(Status::InvalidArgument("address \"" + text + "\": bad port"));
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return Error(Status::InvalidArgument("address \"" + text + "\": bad port"));
  return std::make_pair(t.substr(0, colon), static_cast<uint16_t>(port));
}

namespace {

void SplitTarget(Request& r) {
  auto q = r.target.find('?');
  r.path = PercentDecode(r.target.substr(0, q));
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(r.target).substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    if (!kv.empty())
      r.query[PercentDecode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

void SetTimeout(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string Json(int status, const std::string& message) {
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;
    escaped.push_back(c);
  }
  return "{\"code\":" + std::to_string(status) + ",\"error\":\"" + escaped + "\"}";
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> open_fds;  // guarded by mu
  int active = 0;          // guarded by mu
  std::atomic<bool> stopping{false};

  void AcceptLoop() {
    while (!stopping) {
      tcp::socket socket(io);
      beast::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) {
        if (stopping) break;
        continue;
      }
      int fd = socket.native_handle();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (active >= options.max_connections) {
          bhttp::response<bhttp::string_body> res{bhttp::status::service_unavailable, 11};
          res.set(bhttp::field::content_type, "application/json");
          res.body() = Json(503, "too many connections");
          res.prepare_payload();
          bhttp::write(socket, res, ec);
          continue;
        }
        ++active;
        open_fds.insert(fd);
      }
      std::thread([this, s = std::move(socket), fd]() mutable {
        Serve(s);
        beast::error_code ignored;
        {
          std::lock_guard<std::mutex> lock(mu);
          open_fds.erase(fd);
          s.close(ignored);
          --active;
        }
        cv.notify_all();
      }).detach();
    }
  }

  void Serve(tcp::socket& socket) {
    SetTimeout(socket.native_handle(), options.idle_timeout_s);
    beast::flat_buffer buffer(16 * 1024);
    beast::error_code ec;
    std::string remote;
    {
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    while (!stopping) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(options.max_body_bytes);
      // A signal (SIGCHLD from task shims) may interrupt the blocking read: the parser keeps
      // what it has, so reading on is correct; answering 400 is not.
      do {
        ec = {};
        bhttp::read(socket, buffer, parser, ec);
      } while (ec == asio::error::interrupted);
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) return;
      if (ec) {
        int status = ec == bhttp::error::body_limit ? 413 : 400;
        if (ec == asio::error::would_block || ec == asio::error::try_again ||
            ec == asio::error::timed_out || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted || stopping)
          return;
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        res.set(bhttp::field::content_type, "application/json");
        res.set(bhttp::field::connection, "close");
        res.body() =
            Json(status, status == 413 ? "request body too large" : "bad request: " + ec.message());
        res.prepare_payload();
        bhttp::write(socket, res, ec);
        return;
      }
      auto& req = parser.get();
      Request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      r.remote = remote;
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      r.body = std::move(req.body());
      SplitTarget(r);
      Response out;
      try {
        out = handler(r);
      } catch (const std::exception& e) {
        out = {500, "application/json", Json(500, std::string("internal error: ") + e.what()), {}};
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status),
                                              req.version()};
      res.set(bhttp::field::server, "kumo");
      res.set(bhttp::field::content_type, out.content_type);
      for (auto& [k, v] : out.headers) res.set(k, v);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      if (ec || !res.keep_alive()) return;
    }
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Handler handler) {
  auto server = std::unique_ptr<HttpServer>(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.options = options;
  impl.handler = std::move(handler);
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec)
    return Error(
        Status::InvalidArgument("listen address \"" + options.host + "\": " + ec.message()));
  tcp::endpoint ep(address, options.port);
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(ep, ec);
  if (!ec) impl.acceptor.listen(1024, ec);
  if (ec)
    return Error(Status::FailedPrecondition("listen on " + options.host + ":" +
                                            std::to_string(options.port) + ": " + ec.message()));
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.accept_thread = std::thread([&impl] { impl.AcceptLoop(); });
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::unique_lock<std::mutex> lock(impl_->mu);
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->cv.wait(lock, [&] { return impl_->active == 0; });
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

struct Client::Impl {
  std::string host;
  uint16_t port;
  int timeout_s;
  asio::io_context io;
  std::unique_ptr<tcp::socket> socket;
  beast::flat_buffer buffer;

  Status Connect() {
    socket = std::make_unique<tcp::socket>(io);
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) asio::connect(*socket, results, ec);
    if (ec) {
      socket.reset();
      return Status(
          StatusCode::kFailedPrecondition,
          "cannot reach kumo server at " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    socket->set_option(tcp::no_delay(true), ec);
    SetTimeout(socket->native_handle(), timeout_s);
    buffer.clear();
    return Status::Ok();
  }
};

Client::Client(std::string host, uint16_t port, int timeout_s) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout_s = timeout_s;
}
Client::~Client() = default;

Result<Response> Client::Call(const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!impl_->socket) {
      if (Status s = impl_->Connect(); !s.ok()) return Error(s);
      fresh = true;
    }
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, impl_->host);
    req.set(bhttp::field::user_agent, "kumo");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    bhttp::write(*impl_->socket, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    while (!ec) {
      bhttp::read(*impl_->socket, impl_->buffer, parser, ec);
      if (ec != asio::error::interrupted) break;
      ec = {};
    }
    if (ec) {
      impl_->socket.reset();
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one. Only
      // when nothing was read back, so a request is never applied twice... except a POST whose
      // answer was lost: callers that must not repeat those use a fresh Client.
      if (!fresh && (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                     ec == asio::error::connection_reset || ec == asio::error::broken_pipe))
        continue;
      return Error(Status(StatusCode::kFailedPrecondition, "request to " + impl_->host + ":" +
                                                               std::to_string(impl_->port) +
                                                               " failed: " + ec.message()));
    }
    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[bhttp::field::content_type]);
    out.body = std::move(res.body());
    for (const auto& f : res)
      out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (!res.keep_alive()) impl_->socket.reset();
    return out;
  }
  return Error(Status(StatusCode::kFailedPrecondition, "connection closed by server"));
}

}  // namespace kumo::http
