// The epoll backend: level-triggered readiness, then read/send/sendfile syscalls. EPOLLOUT is
// armed only while a response is blocked; reading stops meanwhile (request_handler.h, step 3).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "cache/io/io_worker.h"

namespace kumo::cache {
namespace {

struct EpollConn : Conn {
  bool writable_armed = false;
};

class EpollWorker final : public IoWorker {
 public:
  EpollWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
              const Authenticator* auth, int listen_fd, int epoll_fd)
      : IoWorker(options, server, store, auth, listen_fd), epoll_fd_(epoll_fd) {}
  ~EpollWorker() override {
    for (auto& [fd, c] : conns_) close(fd);
    close(epoll_fd_);
  }

  bool WatchListenerAndWake() { return Watch(listen_fd_) && Watch(wake_fd_); }

  void Run() override {
    epoll_event events[256];
    while (true) {
      int n = epoll_wait(epoll_fd_, events, 256, 1000);
      if (handler_.Tick()) SweepTimeouts();
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd_) return;
        if (fd == listen_fd_) {
          Accept();
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        EpollConn& c = *it->second;
        uint32_t ev = events[i].events;
        if ((ev & EPOLLOUT) && c.response_pending) {
          Drive(c);
        } else if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          OnReadable(c);
        }
        if (c.closing) CloseConn(fd);
      }
    }
  }

 private:
  bool Watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  void Accept() {
    while (true) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or EMFILE: try again on the next wake-up
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<EpollConn>();
      c->fd = fd;
      c->last_active_s = handler_.now_s();
      Watch(fd);
      conns_.emplace(fd, std::move(c));
      handler_.metrics().connections_accepted.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void CloseConn(int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.erase(fd);  // an unfinished PutWriter discards its upload
  }

  void SweepTimeouts() {
    std::vector<int> expired;
    for (auto& [fd, c] : conns_) {
      if (handler_.CheckTimeout(*c)) expired.push_back(fd);
    }
    for (int fd : expired) CloseConn(fd);
  }

  void SetWritable(EpollConn& c, bool on) {
    if (c.writable_armed == on) return;
    c.writable_armed = on;
    epoll_event ev{};
    // While a response is blocked we stop reading, so pipelined input waits in the kernel.
    ev.events = on ? EPOLLOUT : EPOLLIN;
    ev.data.fd = c.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void OnReadable(EpollConn& c) {
    char* data;
    size_t size;
    if (!handler_.InputSpace(c, &data, &size)) {
      c.closing = true;
      return;
    }
    ssize_t n = read(c.fd, data, size);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      c.closing = true;
      return;
    }
    handler_.OnInput(c, static_cast<size_t>(n));
    Drive(c);
  }

  // Answers buffered requests and sends their responses until input runs out or a send blocks.
  void Drive(EpollConn& c) {
    while (!c.closing) {
      if (c.response_pending) {
        SendProgress p = Flush(c);
        if (p == SendProgress::kBlocked) return SetWritable(c, true);
        if (p == SendProgress::kFailed) {
          c.closing = true;
          return;
        }
        handler_.Complete(c);
        continue;
      }
      handler_.Process(c);
      if (!c.response_pending) break;
    }
    if (!c.closing) SetWritable(c, false);
  }

  SendProgress Flush(EpollConn& c) {
    while (c.out_off < c.out.size()) {
      int flags = MSG_NOSIGNAL | (c.file_left > 0 ? MSG_MORE : 0);
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, flags);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return SendProgress::kBlocked;
      if (n <= 0) return SendProgress::kFailed;
      c.out_off += static_cast<size_t>(n);
      handler_.OnSent(c, static_cast<size_t>(n));
    }
    return handler_.SendFileBody(c);
  }

  int epoll_fd_;
  std::unordered_map<int, std::unique_ptr<EpollConn>> conns_;
};

}  // namespace

Result<std::unique_ptr<IoWorker>> MakeEpollWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd) {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    close(listen_fd);
    return Error(
        Status(StatusCode::kInternal, std::string("epoll_create1: ") + std::strerror(errno)));
  }
  auto w = std::make_unique<EpollWorker>(options, server, store, auth, listen_fd, epoll_fd);
  if (!w->WatchListenerAndWake())
    return Error(Status(StatusCode::kInternal, std::string("epoll_ctl: ") + std::strerror(errno)));
  return std::unique_ptr<IoWorker>(std::move(w));
}

}  // namespace kumo::cache
