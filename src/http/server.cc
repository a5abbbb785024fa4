// HttpServer: the event-driven server of http.h. One Connection object per socket, all its
// steps on its own strand; handlers on a thread pool; the ConnectionBudget under `mu` decides
// which connections to shed.
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <map>

#include "http/connection_budget.h"
#include "http/http.h"
#include "http/request_head.h"

namespace kumo::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kHeadLimitBytes = 16 * 1024;
// The read buffer holds at most the head plus what arrived with it; the body is moved out of
// it into the request as it is parsed, so this is the per-connection bound before auth.
constexpr size_t kReadBufferBytes = kHeadLimitBytes + 4 * 1024;

class Connection;

// Everything the connections share; HttpServer::Impl is this (a private name of http.h that
// the connections could not spell).
struct Shared {
  HttpServerOptions options;
  Handler handler;
  HeadCheck check_head;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  ConnectionBudget budget{{}};                           // guarded by mu
  std::map<uint64_t, std::weak_ptr<Connection>> live;    // guarded by mu
  uint64_t next_id = 1;                                  // guarded by mu

  // Declared after what connections touch when they are destroyed: the io_context, destroyed
  // first, destroys the handlers that still own connections.
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<asio::thread_pool> workers;
  std::vector<std::thread> io_threads;

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // The connection's head was authorized. false: the authenticated pool is full.
  bool Promote(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    return budget.Promote(id);
  }
  void Release(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    budget.Release(id);
    live.erase(id);
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shared& server, tcp::socket socket, uint64_t id, std::string remote)
      : server_(server), stream_(std::move(socket)), id_(id), remote_(std::move(remote)) {}
  ~Connection() { server_.Release(id_); }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHead(); });
  }
  // From any thread: closes the socket; pending operations end with operation_aborted.
  void Close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  void ReadHead();
  void OnHead(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void Dispatch();
  void Send(Response out, bool keep_alive);
  void OnSent(beast::error_code ec, bool keep_alive);
  // Reports a read error as its answer (or none, when the client went away) and closes.
  void Fail(beast::error_code ec);

  Shared& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kReadBufferBytes};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  Request request_;
  const uint64_t id_;
  const std::string remote_;
  bool authenticated_ = false;
  std::chrono::steady_clock::time_point body_start_;
};

void Connection::ReadHead() {
  parser_.emplace();
  parser_->header_limit(kHeadLimitBytes);
  // No body limit yet: a Content-Length over it would fail the head before the check, and an
  // unauthenticated client must learn nothing but 401. OnHead sets it.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // A connection that has shown a token may idle between requests; one that has not must
  // deliver a whole head promptly (a slowloris client is closed, not waited for).
  stream_.expires_after(std::chrono::seconds(authenticated_ ? server_.options.idle_timeout_s
                                                            : server_.options.head_timeout_s));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             self->OnHead(ec);
                           });
}

void Connection::OnHead(beast::error_code ec) {
  if (ec) return Fail(ec);
  const RequestHead& head = parser_->get().base();
  if (auto refused = CheckFraming(head)) return Send(std::move(*refused), false);
  request_ = ToRequest(head, remote_);
  if (server_.check_head) {
    std::optional<Response> refused;
    try {
      refused = server_.check_head(request_);
    } catch (const std::exception& e) {
      refused = ErrorAnswer(500, std::string("internal error: ") + e.what());
    }
    if (refused) return Send(std::move(*refused), false);
  }
  if (!authenticated_) {
    if (!server_.Promote(id_)) return Send(ErrorAnswer(503, "too many connections"), false);
    authenticated_ = true;
  }
  auto declared = parser_->content_length();
  if (declared && *declared > server_.options.max_body_bytes)
    return Send(ErrorAnswer(413, "request body too large"), false);
  parser_->body_limit(server_.options.max_body_bytes);  // for a chunked body
  body_start_ = std::chrono::steady_clock::now();
  ReadBody();
}

// The body in pieces, each read's deadline set so the average rate since the head stays at
// least min_body_bytes_per_s after a grace of head_timeout_s. Example (grace 10 s, 16 KiB/s):
// 160 KiB received must have arrived by 20 s, so the next byte is due by then.
void Connection::ReadBody() {
  if (parser_->is_done()) return Dispatch();
  const auto& options = server_.options;
  auto received = static_cast<double>(parser_->get().body().size());
  auto allowance = std::chrono::duration<double>(
      options.head_timeout_s + received / static_cast<double>(options.min_body_bytes_per_s));
  stream_.expires_at(body_start_ +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(allowance));
  bhttp::async_read_some(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                           self->OnBody(ec);
                         });
}

void Connection::OnBody(beast::error_code ec) {
  if (ec) return Fail(ec);
  ReadBody();
}

void Connection::Dispatch() {
  stream_.expires_never();  // the handler may take its time; the answer gets a deadline
  request_.body = std::move(parser_->get().body());
  bool keep_alive = parser_->get().keep_alive();
  asio::post(*server_.workers, [self = shared_from_this(), keep_alive] {
    Response out;
    try {
      out = self->server_.handler(self->request_);
    } catch (const std::exception& e) {
      out = ErrorAnswer(500, std::string("internal error: ") + e.what());
    }
    asio::post(self->stream_.get_executor(), [self, out = std::move(out), keep_alive]() mutable {
      self->Send(std::move(out), keep_alive);
    });
  });
}

void Connection::Send(Response out, bool keep_alive) {
  unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  response_ = bhttp::response<bhttp::string_body>(static_cast<bhttp::status>(out.status), version);
  response_.set(bhttp::field::server, "kumo");
  response_.set(bhttp::field::content_type, out.content_type);
  for (auto& [k, v] : out.headers) response_.set(k, v);
  response_.keep_alive(keep_alive && !server_.stopping);
  response_.body() = std::move(out.body);
  response_.prepare_payload();
  stream_.expires_after(std::chrono::seconds(server_.options.idle_timeout_s));
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this(), keep = response_.keep_alive()](
                         beast::error_code ec, size_t) { self->OnSent(ec, keep); });
}

void Connection::OnSent(beast::error_code ec, bool keep_alive) {
  if (!ec && keep_alive) return ReadHead();
  // Closing with unread input would reset the connection and could destroy the answer before
  // the client reads it: half-close, so the client sees the answer and then the end.
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

void Connection::Fail(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::bad_descriptor || server_.stopping)
    return stream_.close();
  // A timed-out tcp_stream has closed its socket already: nothing can be answered (nginx, on
  // client_header_timeout, closes too).
  if (ec == beast::error::timeout) return;
  if (ec == bhttp::error::header_limit)
    return Send(ErrorAnswer(431, "request head larger than 16 KiB"), false);
  if (ec == bhttp::error::body_limit) return Send(ErrorAnswer(413, "request body too large"), false);
  if (ec == bhttp::error::bad_transfer_encoding)
    return Send(ErrorAnswer(501, "transfer coding not implemented (only chunked)"), false);
  Send(ErrorAnswer(400, "bad request: " + ec.message()), false);
}

std::string RemoteIp(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct HttpServer::Impl : Shared {};

void Shared::Accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Shared::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors, most likely: try again shortly rather than spin.
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
    timer->async_wait([this, timer](beast::error_code) { Accept(); });
    return;
  }
  std::string remote = RemoteIp(socket);
  std::string ip = remote.substr(0, remote.rfind(':'));
  std::shared_ptr<Connection> shed;
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t id = next_id++;
    conn = std::make_shared<Connection>(*this, std::move(socket), id, remote);
    if (auto victim = budget.Admit(id, ip)) {
      if (auto it = live.find(*victim); it != live.end()) shed = it->second.lock();
      live.erase(*victim);
    }
    live[id] = conn;
  }
  if (shed) shed->Close();
  conn->Start();
  Accept();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Handler handler,
                                                      HeadCheck check_head) {
  auto server = std::unique_ptr<HttpServer>(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.options = options;
  impl.handler = std::move(handler);
  impl.check_head = std::move(check_head);
  impl.budget = ConnectionBudget({options.max_unauthenticated_connections,
                                  options.max_unauthenticated_per_ip, options.max_connections});
  if (!impl.check_head) impl.check_head = [](const Request&) { return std::optional<Response>(); };
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec)
    return Error(
        Status::InvalidArgument("listen address \"" + options.host + "\": " + ec.message()));
  tcp::endpoint ep(address, options.port);
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(ep, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(Status::FailedPrecondition("listen on " + options.host + ":" +
                                            std::to_string(options.port) + ": " + ec.message()));
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.workers = std::make_unique<asio::thread_pool>(std::max(1, options.worker_threads));
  impl.Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i)
    impl.io_threads.emplace_back([&impl] { impl.io.run(); });
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  Impl& impl = *impl_;
  asio::post(impl.io, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    for (auto& [id, weak] : impl.live)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open) c->Close();
  open.clear();
  impl.workers->join();  // handlers finish; their answers go to closed sockets
  for (auto& t : impl.io_threads) t.join();  // run() returns once no operation is left
}

}  // namespace kumo::http
