#include "executor/kubernetes/kube_client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "http/timed_stream.h"

namespace kumo::executor::kube {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

http::verb ToBeast(Verb v) {
  switch (v) {
    case Verb::kGet: return http::verb::get;
    case Verb::kPost: return http::verb::post;
    case Verb::kPut: return http::verb::put;
    case Verb::kPatch: return http::verb::patch;
    case Verb::kDelete: return http::verb::delete_;
    case Verb::kStrategicMergePatch: return http::verb::patch;
  }
  return http::verb::get;
}

const char* ContentType(Verb v) {
  switch (v) {
    case Verb::kPatch: return "application/merge-patch+json";
    case Verb::kStrategicMergePatch: return "application/strategic-merge-patch+json";
    default: return "application/json";
  }
}

nlohmann::json ParseBody(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

std::string ErrorText(const KubeResponse& r) {
  if (r.body.is_object() && r.body.value("kind", "") == "Status" && r.body.contains("message"))
    return r.body["message"].get<std::string>() + " (HTTP " + std::to_string(r.status) + ")";
  return "HTTP " + std::to_string(r.status);
}

struct KubeClient::Connection {
  using Timed = kumo::http::TimedStream<tcp::socket>;
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  tcp::socket socket{io};
  // TLS over the timed socket: every read and write of the socket, the TLS handshake's and a
  // record's that stops half-way included, waits at most the call's timeout for it
  // (http/timed_stream.h). The timeout bounds silence, so a long watch that keeps streaming is
  // never cut.
  std::optional<asio::ssl::stream<Timed>> stream;  // made once the socket is connected
  beast::flat_buffer buffer;
  int fd() { return socket.native_handle(); }
  void SetTimeout(int timeout_s) { stream->next_layer().set_timeout(std::chrono::seconds(timeout_s)); }
};

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {}
KubeClient::~KubeClient() = default;

std::string KubeClient::BearerToken() const {
  if (config_.token_file.empty()) return config_.token;
  std::ifstream in(config_.token_file);
  std::string token;
  std::getline(in, token);
  return token;
}

// A TLS context with the CA and the client certificate, in `c->tls`.
Status KubeClient::ConfigureTls(Connection* c) const {
  beast::error_code ec;
  c->tls.set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  if (!config_.insecure_skip_verify) {
    if (config_.ca_pem.empty())
      c->tls.set_default_verify_paths(ec);
    else
      c->tls.add_certificate_authority(asio::buffer(config_.ca_pem), ec);
    if (ec) return Status::InvalidArgument("kubernetes CA: " + ec.message());
  }
  if (!config_.client_cert_pem.empty()) {
    c->tls.use_certificate_chain(asio::buffer(config_.client_cert_pem), ec);
    if (!ec)
      c->tls.use_private_key(asio::buffer(config_.client_key_pem), asio::ssl::context::pem, ec);
    if (ec) return Status::InvalidArgument("kubernetes client certificate: " + ec.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<KubeClient::Connection>> KubeClient::Connect(int timeout_s) {
  auto c = std::make_unique<Connection>();
  if (Status s = ConfigureTls(c.get()); !s.ok()) return Error(s);
  boost::system::error_code ec;
  tcp::resolver resolver(c->io);
  auto endpoints = resolver.resolve(config_.host, config_.port, ec);
  if (!ec) asio::connect(c->socket, endpoints, ec);
  if (ec)
    return Error(Status::Unavailable("kubernetes API " + config_.host + ":" + config_.port + ": " +
                                     ec.message()));
  c->stream.emplace(Connection::Timed(c->socket, c->fd(), std::chrono::seconds(timeout_s)), c->tls);
  if (config_.insecure_skip_verify) {
    c->stream->set_verify_mode(asio::ssl::verify_none);
  } else {
    c->stream->set_verify_mode(asio::ssl::verify_peer);
    c->stream->set_verify_callback(asio::ssl::host_name_verification(config_.host));
  }
  // SNI for names, not for IP addresses (RFC 6066 §3).
  asio::ip::make_address(config_.host, ec);
  if (ec) SSL_set_tlsext_host_name(c->stream->native_handle(), config_.host.c_str());
  ec = {};
  c->stream->handshake(asio::ssl::stream_base::client, ec);
  if (ec) return Error(Status::Unavailable("kubernetes API TLS handshake: " + ec.message()));
  return c;
}

KubeClient::Session::Session() = default;
KubeClient::Session::~Session() = default;

Result<KubeResponse> KubeClient::Call(Verb verb, const std::string& target,
                                      const nlohmann::json* body, int timeout_s) {
  Session one_call;  // a new connection, closed when the call returns
  return Call(one_call, verb, target, body, timeout_s);
}

Result<KubeResponse> KubeClient::Call(Session& session, Verb verb, const std::string& target,
                                      const nlohmann::json* body, int timeout_s) {
  bool reused = session.conn_ != nullptr;
  if (reused) {
    session.conn_->SetTimeout(timeout_s);
  } else {
    auto conn = Connect(timeout_s);
    if (!conn) return Error(conn.error());
    session.conn_ = std::move(*conn);
  }
  bool keep_alive = false;
  auto r = Exchange(*session.conn_, verb, target, body, &keep_alive);
  if (!r || !keep_alive) session.conn_.reset();
  // A kept-alive connection the server closed while it was idle: once more on a new one.
  if (!r && reused) return Call(session, verb, target, body, timeout_s);
  return r;
}

// One request and its response on an open connection; *keep_alive says whether the server
// leaves the connection open for another.
Result<KubeResponse> KubeClient::Exchange(Connection& c, Verb verb, const std::string& target,
                                          const nlohmann::json* body, bool* keep_alive) {
  http::request<http::string_body> req{ToBeast(verb), target, 11};
  req.set(http::field::host, config_.host);
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "kumo");
  if (std::string token = BearerToken(); !token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  if (body) {
    req.set(http::field::content_type, ContentType(verb));
    req.body() = body->dump();
  }
  req.prepare_payload();
  beast::error_code ec;
  http::write(*c.stream, req, ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  if (!ec) http::read(*c.stream, c.buffer, parser, ec);
  if (ec)
    return Error(Status::Unavailable("kubernetes API " + std::string(http::to_string(req.method())) +
                                     " " + target + ": " + ec.message()));
  *keep_alive = parser.keep_alive();
  KubeResponse r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = ParseBody(parser.get().body());
  return r;
}

Result<int> KubeClient::Watch(const std::string& target,
                              const std::function<bool(const nlohmann::json&)>& on_event,
                              int idle_timeout_s) {
  auto conn = Connect(idle_timeout_s);
  if (!conn) return Error(conn.error());
  Connection& c = **conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // CancelWatches ran while this one connected: it cut the watches it saw, not this one.
    if (cancelling_) return Error(Status::Unavailable("kubernetes watch " + target + ": cancelled"));
    watch_fds_.insert(c.fd());
  }
  struct Unregister {
    KubeClient* self;
    int fd;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->watch_fds_.erase(fd);
    }
  } unregister{this, c.fd()};

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, config_.host);
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "kumo");
  if (std::string token = BearerToken(); !token.empty())
    req.set(http::field::authorization, "Bearer " + token);
  beast::error_code ec;
  // Connected with idle_timeout_s: a watch silent that long (no event, no bookmark) is dead.
  http::write(*c.stream, req, ec);
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec) http::read_header(*c.stream, c.buffer, parser, ec);
  if (ec) return Error(Status::Unavailable("kubernetes watch " + target + ": " + ec.message()));
  int status = static_cast<int>(parser.get().result_int());
  std::string pending;  // bytes of an event whose newline has not arrived yet
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    http::read_some(*c.stream, c.buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break;
    pending.append(chunk, sizeof chunk - parser.get().body().size);
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      nlohmann::json event = ParseBody(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      if (status != 200) continue;  // an error status's body is one Status object, not events
      if (!event.is_object() || !on_event(event)) return status;
    }
  }
  if (status != 200) return status;
  bool cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled = cancelling_;
  }
  if (ec && !cancelled)
    return Error(Status::Unavailable("kubernetes watch " + target + ": " + ec.message()));
  return status;
}

void KubeClient::CancelWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelling_ = true;
  for (int fd : watch_fds_) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace kumo::executor::kube
