#include "executor/kubernetes/kube_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <string>

namespace kumo::executor::kube {
namespace {

// A listening socket on 127.0.0.1 and a free port; the kernel completes TCP handshakes for it
// whether or not anyone accepts.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) return;
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { Close(); }
  // Closing resets the connections still waiting to be accepted: a client stuck on one wakes.
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

KubeConfig ConfigFor(uint16_t port) {
  KubeConfig c;
  c.host = "127.0.0.1";
  c.port = std::to_string(port);
  c.insecure_skip_verify = true;  // the handshake never gets as far as a certificate
  c.token = "t";
  return c;
}

// Runs one call with a 1 s timeout and expects it to give up within a bound; if it does not, the
// listener is closed so that the stuck call returns and the test fails instead of hanging.
void ExpectHandshakeTimesOut(Listener& listener) {
  KubeClient client(ConfigFor(listener.port));
  auto call = std::async(std::launch::async, [&] {
    return client.Call(Verb::kGet, "/api/v1/nodes", nullptr, /*timeout_s=*/1);
  });
  if (call.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "the TLS handshake waited with no deadline";
    listener.Close();
  }
  Result<KubeResponse> r = call.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("TLS handshake"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
}

// A server that accepts TCP and never answers the ClientHello.
TEST(KubeClientTest, ATlsHandshakeWithASilentServerTimesOut) {
  Listener listener;
  ASSERT_NE(listener.port, 0);
  ExpectHandshakeTimesOut(listener);
}

// A server that answers the ClientHello with the first bytes of a TLS record and then stops:
// the TLS layer waits for the rest of the record, under the same deadline.
TEST(KubeClientTest, ATlsRecordThatStopsHalfWayTimesOut) {
  Listener listener;
  ASSERT_NE(listener.port, 0);
  std::promise<void> done;
  std::thread server([&, finished = done.get_future()] {
    pollfd p{listener.fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;
    int conn = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return;
    char hello[4096];
    pollfd c{conn, POLLIN, 0};
    if (::poll(&c, 1, 10000) == 1 && ::read(conn, hello, sizeof hello) > 0) {
      // A handshake record (type 22, TLS 1.2) announcing 64 bytes, of which 10 arrive.
      const unsigned char partial[15] = {22, 3, 3, 0, 64, 2, 0, 0, 60, 3, 3, 0, 0, 0, 0};
      (void)::send(conn, partial, sizeof partial, MSG_NOSIGNAL);
    }
    finished.wait_for(std::chrono::seconds(30));
    ::close(conn);
  });
  ExpectHandshakeTimesOut(listener);
  done.set_value();
  server.join();
}

}  // namespace
}  // namespace kumo::executor::kube
