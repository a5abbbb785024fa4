#include "http/http.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// Sends raw bytes and returns everything the server answers until it closes.
std::string Raw(uint16_t port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "";
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

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
