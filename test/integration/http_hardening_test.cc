// The control plane's HTTP under attack (issue 12): a trickle (slowloris) attack, large
// unauthenticated bodies, framing that smuggling relies on — against the real `kumo server`.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

const std::string kExamples = KUMO_EXAMPLES_DIR;

// A raw connection to the server on loopback: -1 when the connect failed.
int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // no single write may hang the test
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` (ignoring a peer that closed) and returns the answer's status line.
std::string StatusLine(uint16_t port, const std::string& bytes) {
  int fd = Connect(port);
  if (fd < 0) return "connect failed";
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out.substr(0, out.find("\r\n"));
}

int64_t RssKiB(pid_t pid) {
  std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stoll(status.substr(at + 6));
}

// The file descriptor limit raised to its hard maximum (the attacks hold > 1,024 sockets).
bool RaiseFdLimit(rlim_t needed) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur >= needed;
}

class HttpHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RaiseFdLimit(1200)) << "needs RLIMIT_NOFILE >= 1200 (ulimit -n)";
    server_ = std::make_unique<ServerProcess>(tmp_.path() + "/data",
                                              kExamples + "/inventory-2x4.yaml");
    ASSERT_TRUE(server_->Start()) << ReadFile(tmp_.path() + "/data.log");
    api_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  std::string Head(const std::string& lines) {
    return "GET /v1/whoami HTTP/1.1\r\n" + lines + "Connection: close\r\n\r\n";
  }

  TempDir tmp_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(HttpHardeningTest, ATrickleAttackLeavesAnAuthenticatedRequestServed) {
  constexpr int kAttackers = 1030;
  std::vector<int> attackers;
  for (int i = 0; i < kAttackers; ++i) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    send(fd, "P", 1, MSG_NOSIGNAL);
    attackers.push_back(fd);
  }
  // Three rounds of trickling, one byte per connection per round, an admin request in each.
  const std::string trickle = "OST /v1/jobs HTTP/1.1\r\n";
  for (size_t round = 0; round < 3; ++round) {
    for (int fd : attackers) send(fd, &trickle[round], 1, MSG_NOSIGNAL);
    Api admin(server_->port(), server_->admin_token());  // a fresh connection each time
    auto r = admin.Call("GET", "/v1/whoami");
    EXPECT_EQ(r.status, 200) << "round " << round << ": " << r.text;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (int fd : attackers) close(fd);
}

TEST_F(HttpHardeningTest, UnauthenticatedLargeBodiesAreNotRead) {
  ASSERT_EQ(api_->Call("GET", "/v1/whoami").status, 200);
  int64_t before = RssKiB(server_->pid());
  ASSERT_GT(before, 0);
  const std::string body(1000 * 1000, 'x');
  const std::string head = "POST /v1/jobs HTTP/1.1\r\nHost: kumo\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  std::vector<int> open;
  for (int i = 0; i < 300; ++i) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    send(fd, body.data(), body.size(), MSG_NOSIGNAL);  // fails once the server closed
    open.push_back(fd);
  }
  int64_t after = RssKiB(server_->pid());
  for (int fd : open) close(fd);
  EXPECT_LT(after - before, 100 * 1024) << "RSS " << before << " KiB -> " << after << " KiB";
  EXPECT_EQ(api_->Call("GET", "/v1/whoami").status, 200);  // and it still serves
}

TEST_F(HttpHardeningTest, FramingErrorsAnswerAsRfc9110And9112Say) {
  const std::string auth = "Authorization: Bearer " + server_->admin_token() + "\r\n";
  uint16_t port = server_->port();
  EXPECT_EQ(StatusLine(port, Head("Host: kumo\r\n" + auth)), "HTTP/1.1 200 OK");
  EXPECT_EQ(StatusLine(port, Head("Host: kumo\r\n" + auth + "Authorization: Bearer x\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(port, Head(auth)), "HTTP/1.1 400 Bad Request");  // no Host
  std::string post = "POST /v1/jobs HTTP/1.1\r\nHost: kumo\r\n" + auth;
  EXPECT_EQ(StatusLine(port, post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
            "HTTP/1.1 501 Not Implemented");
  EXPECT_EQ(StatusLine(port, post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                                    "0\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
}

}  // namespace
}  // namespace kumo::testing
