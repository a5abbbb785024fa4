#include "http/http.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>

#include "http/timed_stream.h"

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
    // Every read and write waits at most timeout_s for the socket (timed_stream.h).
    TimedStream<tcp::socket> timed(*impl_->socket, impl_->socket->native_handle(),
                                   std::chrono::seconds(impl_->timeout_s));
    bhttp::write(timed, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1ull << 32);
    while (!ec) {
      bhttp::read(timed, impl_->buffer, parser, ec);
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
