// The epoll backend: level-triggered readiness, then read/send/sendfile syscalls. EPOLLOUT is
// armed only while a response is blocked; reading stops meanwhile (request_handler.h, step 3).
// A connection parked on an origin fill (step 5) watches nothing (EPOLLHUP and EPOLLERR still
// arrive and close it); the handler's fill eventfd resumes it.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cache/io/io_worker.h"

namespace kumo::cache {
namespace {

// What a connection's epoll entry waits for.
enum class Interest { kRead, kWrite, kNothing };

struct EpollConn : Conn {
  Interest interest = Interest::kRead;
};

class EpollWorker final : public IoWorker {
 public:
  EpollWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
              const Authenticator* auth, int listen_fd, int epoll_fd)
      : IoWorker(options, server, store, auth, listen_fd), epoll_fd_(epoll_fd) {}
  ~EpollWorker() override { close(epoll_fd_); }

  bool WatchListenerAndWake() {
    return Watch(listen_fd_) && Watch(wake_fd_) && Watch(handler_.fill_fd());
  }

  void Run() override {
    epoll_event events[256];
    while (true) {
      int n = epoll_wait(epoll_fd_, events, 256, 1000);
      if (handler_.Tick())
        for (uint64_t fd : conns_.Expired(handler_)) CloseConn(static_cast<int>(fd));
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd_) return;
        if (fd == listen_fd_) {
          Accept();
          continue;
        }
        if (fd == handler_.fill_fd()) {
          ResumeFilled();
          continue;
        }
        EpollConn* c = conns_.Find(static_cast<uint64_t>(fd));
        if (c == nullptr) continue;
        uint32_t ev = events[i].events;
        if ((ev & EPOLLOUT) && c->response_pending) {
          Drive(*c);
        } else if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          OnReadable(*c);
        }
        if (c->closing) CloseConn(fd);
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
      Adopt(conns_.Add(static_cast<uint64_t>(fd), std::make_unique<EpollConn>()), fd,
            static_cast<uint64_t>(fd));
      Watch(fd);
    }
  }

  void CloseConn(int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.Erase(static_cast<uint64_t>(fd));
  }

  void SetInterest(EpollConn& c, Interest interest) {
    if (c.interest == interest) return;
    c.interest = interest;
    epoll_event ev{};
    // While a response is blocked or a fill is awaited we stop reading, so pipelined input
    // waits in the kernel.
    ev.events = interest == Interest::kRead    ? uint32_t{EPOLLIN}
                : interest == Interest::kWrite ? uint32_t{EPOLLOUT}
                                               : 0u;
    ev.data.fd = c.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  // Fills landed (request_handler.h, step 5): every connection still parked on one goes on.
  void ResumeFilled() {
    for (const FillCompletion& done : handler_.TakeFills()) {
      EpollConn* c = conns_.Find(done.conn_key);
      if (c == nullptr || !handler_.OnFillDone(*c, done)) continue;
      Drive(*c);
      if (c->closing) CloseConn(c->fd);
    }
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

  // Runs the pump, sending heads right here, until it waits for input or the socket.
  void Drive(EpollConn& c) {
    while (true) {
      switch (handler_.Pump(c)) {
        case PumpStep::kSend:
          if (SendHead(c)) continue;
          return;
        case PumpStep::kWaitWritable:
          return SetInterest(c, Interest::kWrite);
        case PumpStep::kRead:
          return SetInterest(c, Interest::kRead);
        case PumpStep::kWaitFill:
          return SetInterest(c, Interest::kNothing);
        case PumpStep::kClose:
          return;
      }
    }
  }

  // Sends out[out_off..]; false when the socket blocked (EPOLLOUT armed) or failed (closing).
  bool SendHead(EpollConn& c) {
    while (c.out_off < c.out.size()) {
      int flags = MSG_NOSIGNAL | (c.file_left > 0 ? MSG_MORE : 0);
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, flags);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        SetInterest(c, Interest::kWrite);
        return false;
      }
      if (n <= 0) {
        c.closing = true;
        return false;
      }
      c.out_off += static_cast<size_t>(n);
      handler_.OnSent(c, static_cast<size_t>(n));
    }
    return true;
  }

  int epoll_fd_;
  ConnTable<EpollConn> conns_;
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
