#include "http/http.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <vector>

namespace kumo::http {
namespace {

std::unique_ptr<HttpServer> Echo(size_t max_body = 1 << 20) {
  HttpServerOptions o;
  o.max_body_bytes = max_body;
  auto s = HttpServer::Start(o, [](const Request& r) {
    std::string q;
    for (auto& [k, v] : r.query) q += k + "=" + v + ";";
    return Response{200, "text/plain", r.method + " " + r.path + " " + q + " " + r.body, {}};
  });
  EXPECT_TRUE(s.has_value());
  return std::move(*s);
}

// A connected socket to the server (-1 on failure); the caller closes it.
int Open(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the server sends on `fd` until it closes; then closes `fd`.
std::string ReadToEnd(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// Sends raw bytes and returns everything the server answers until it closes.
std::string Raw(uint16_t port, const std::string& bytes, bool half_close = true) {
  int fd = Open(port);
  if (fd < 0) return "";
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  if (half_close) shutdown(fd, SHUT_WR);
  return ReadToEnd(fd);
}

// A server that lets a request on only with "Authorization: ok" and counts handler calls.
struct Guarded {
  explicit Guarded(HttpServerOptions o = {}) {
    auto s = HttpServer::Start(
        o,
        [this](const Request& r) {
          ++handled;
          return Response{200, "text/plain", "got " + std::to_string(r.body.size()), {}};
        },
        [](const Request& head) -> std::optional<Response> {
          if (head.Header("authorization") == "ok") return std::nullopt;
          return Response{401, "text/plain", "no", {}};
        });
    EXPECT_TRUE(s.has_value());
    server = std::move(*s);
  }
  std::atomic<int> handled{0};
  std::unique_ptr<HttpServer> server;
};

TEST(HttpTest, KeepAliveRoundTripsWithDecodedPathAndQuery) {
  auto s = Echo();
  Client c("127.0.0.1", s->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.Call("POST", "/v1/a%20b?x=1&y=two%2Fthree", "body");
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /v1/a b x=1;y=two/three; body");
  }
}

TEST(HttpTest, TooLargeBodyIs413AndGarbageIs400) {
  auto s = Echo(16);
  Client c("127.0.0.1", s->port());
  auto r = c.Call("POST", "/x", std::string(100, 'a'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  std::string garbage = Raw(s->port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(garbage.find(" 400 "), std::string::npos) << garbage;
}

TEST(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  auto s = Echo();
  std::string out = Raw(s->port(),
                        "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n");
  auto one = out.find("GET /one"), two = out.find("GET /two");
  ASSERT_NE(one, std::string::npos) << out;
  ASSERT_NE(two, std::string::npos) << out;
  EXPECT_LT(one, two);
}

TEST(HttpTest, AHeadRefusedByTheCheckIsAnsweredAndClosedWithoutReadingTheBody) {
  Guarded g;
  // The body is announced but never sent: the answer cannot depend on reading it.
  std::string out = Raw(g.server->port(),
                        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n",
                        /*half_close=*/false);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 401")) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_EQ(g.handled, 0);
  Client c("127.0.0.1", g.server->port());
  auto ok = c.Call("POST", "/x", "abc", {{"Authorization", "ok"}});
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "got 3");
}

TEST(HttpTest, FramingErrorsAreAnsweredBeforeTheCheck) {
  Guarded g;
  auto status = [&](const std::string& head) {
    std::string out = Raw(g.server->port(), head + "\r\n");
    return out.substr(0, 12);
  };
  EXPECT_EQ(status("GET / HTTP/1.1\r\nAuthorization: ok\r\n"), "HTTP/1.1 400");
  EXPECT_EQ(status("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: ok\r\nAuthorization: no\r\n"),
            "HTTP/1.1 400");
  EXPECT_EQ(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n"),
            "HTTP/1.1 501");
  EXPECT_EQ(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 3\r\n"),
            "HTTP/1.1 400");
  // Beast's parser refuses a coding after chunked itself; the answer is the same.
  EXPECT_EQ(status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                   "Transfer-Encoding: gzip\r\n"),
            "HTTP/1.1 501");
  EXPECT_EQ(g.handled, 0);
  // A chunked body is fine.
  std::string out = Raw(g.server->port(),
                        "POST / HTTP/1.1\r\nHost: h\r\nAuthorization: ok\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_NE(out.find("got 3"), std::string::npos) << out;
}

TEST(HttpTest, TricklingUnauthenticatedConnectionsAreShedForFreshOnes) {
  HttpServerOptions o;
  o.max_unauthenticated_connections = 8;
  o.max_unauthenticated_per_ip = 4;
  Guarded g(o);
  std::vector<int> tricklers;
  for (int i = 0; i < 20; ++i) {
    int fd = Open(g.server->port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "G", 1), 1);
    tricklers.push_back(fd);
  }
  Client c("127.0.0.1", g.server->port());
  auto r = c.Call("GET", "/x", "", {{"Authorization", "ok"}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  // The client's connection shed the oldest of the 4 tricklers that held the per-IP share;
  // it then moved to the authenticated pool. So 17 tricklers were closed, without an answer,
  // and the newest 3 are still waiting for their heads.
  int closed = 0;
  for (int fd : tricklers) {
    pollfd p{fd, POLLIN, 0};
    char byte;
    if (poll(&p, 1, 1000) == 1 && read(fd, &byte, 1) == 0) ++closed;
    ::close(fd);
  }
  EXPECT_EQ(closed, 17);
}

TEST(HttpTest, AHeadOrBodyThatStallsIsClosedAtItsDeadline) {
  HttpServerOptions o;
  o.head_timeout_s = 1;
  o.min_body_bytes_per_s = 1 << 20;
  Guarded g(o);
  // Half a head, then nothing: closed after head_timeout_s with no answer.
  EXPECT_EQ(Raw(g.server->port(), "GET / HTTP/1.1\r\nHo", /*half_close=*/false), "");
  // An authorized head whose body stops after 5 bytes of 100,000: closed, the handler not run.
  EXPECT_EQ(Raw(g.server->port(),
                "POST / HTTP/1.1\r\nHost: h\r\nAuthorization: ok\r\nContent-Length: 100000\r\n"
                "\r\nhello",
                /*half_close=*/false),
            "");
  EXPECT_EQ(g.handled, 0);
}

// A server that accepts and never answers: the client gives up after its timeout (Asio's
// synchronous read retried an SO_RCVTIMEO timeout forever).
TEST(HttpTest, AClientCallToAServerThatNeverAnswersTimesOut) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);  // the kernel completes the handshake; nobody reads
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Client client("127.0.0.1", ntohs(addr.sin_port), /*timeout_s=*/1);
  auto r = client.Call("GET", "/v1/whoami");
  ::close(listener);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
}

TEST(HttpTest, ParseHostPort) {
  auto ok = ParseHostPort("http://127.0.0.1:7080/");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->first, "127.0.0.1");
  EXPECT_EQ(ok->second, 7080);
  EXPECT_FALSE(ParseHostPort("127.0.0.1").has_value());
  EXPECT_FALSE(ParseHostPort("host:99999").has_value());
  EXPECT_FALSE(ParseHostPort("host:12a").has_value());
}

}  // namespace
}  // namespace kumo::http
