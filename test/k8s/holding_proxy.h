// Test-only: HoldingProxy, a TCP relay on 127.0.0.1 (a free port) to an upstream port on
// 127.0.0.1 that can hold the connections it accepts: while held, a new connection is accepted
// and then left waiting (nothing read, nothing sent) until Release. The client's TLS handshake
// waits with it. Tests use it to stop a process's NEXT call in flight at a chosen moment while its
// open connections (watches) carry on, e.g. to let the world change between a scheduling pass and
// the binding it decided.
//
// Bytes are relayed unchanged (TLS passes through: the client still verifies the upstream's
// certificate, whose IP SAN 127.0.0.1 matches the proxy's address). The destructor closes every
// socket and joins every thread. Thread safety: all methods from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kumo::testing {

class HoldingProxy {
 public:
  explicit HoldingProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0)
      return;
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~HoldingProxy() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : relays_) t.join();
    ::close(listen_fd_);
  }
  HoldingProxy(const HoldingProxy&) = delete;
  HoldingProxy& operator=(const HoldingProxy&) = delete;

  uint16_t port() const { return port_; }  // 0: could not listen

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      holding_ = false;
    }
    cv_.notify_all();
  }
  // Connections accepted while holding (released or not).
  int held() const { return held_; }

 private:
  static sockaddr_in Loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  void Accept() {
    while (!Stopping()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      bool hold;
      {
        std::lock_guard<std::mutex> lock(mu_);
        hold = holding_;
      }
      if (hold) ++held_;
      relays_.emplace_back([this, client, hold] { Relay(client, hold); });
    }
  }

  // Waits while held, then copies bytes both ways until either side closes or the proxy stops.
  void Relay(int client, bool hold) {
    if (hold) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !holding_ || stopping_; });
    }
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(upstream_port_);
    bool connected = ::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    char buffer[16384];
    while (connected && !Stopping()) {
      pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
      if (::poll(p, 2, 100) < 0) break;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(p[i].fd, buffer, sizeof buffer);
        open = n > 0 && WriteAll(p[1 - i].fd, buffer, static_cast<size_t>(n));
      }
      if (!open) break;
    }
    ::close(upstream);
    ::close(client);
  }
  static bool WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);  // a closed peer is an error, not SIGPIPE
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  const uint16_t upstream_port_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool holding_ = false, stopping_ = false;  // guarded by mu_
  std::atomic<int> held_{0};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // the acceptor's only (joined after it)
};

}  // namespace kumo::testing
