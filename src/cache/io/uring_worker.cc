// The io_uring backend: the same request_handler.h contract as epoll_worker.cc, with the
// socket I/O submitted to a ring instead of done as syscalls after readiness.
//
//   - accept: one multishot IORING_OP_ACCEPT (Linux 5.19; a kernel that refuses it with EINVAL
//     gets a single-shot accept re-armed after each connection);
//   - input: one plain IORING_OP_RECV into the connection's own 64 KiB buffer, submitted only
//     while no response is pending (so, as with epoll, pipelined input waits in the kernel);
//   - output: IORING_OP_SEND of the head, or of head + body when the body was pread into the
//     same buffer (below --sendfile-min), with MSG_MORE when a file body follows;
//   - a file body: io_uring has no sendfile, so sendfile(2) runs on the non-blocking socket
//     and, when it would block, an IORING_OP_POLL_ADD(POLLOUT) says when to go on. (splice
//     file -> pipe -> socket through the ring is the other way; not measured yet.)
//   - waits: io_uring_submit_and_wait_timeout, one enter per loop for every submission and
//     the 1 s tick that drives the timeouts.
//
// A connection's buffers belong to the kernel while an operation on it is in flight, so a
// closing connection cancels its operations and is freed only once every completion is in.
#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "cache/io/io_worker.h"

namespace kumo::cache {
namespace {

constexpr unsigned kRingEntries = 1024;

// user_data = connection id << 3 | operation.
enum Op : uint64_t {
  kIgnore = 0,
  kAccept = 1,
  kWake = 2,
  kRecv = 3,
  kSend = 4,
  kPollOut = 5,
  kFilled = 6,  // the handler's fill eventfd is readable (request_handler.h, step 5)
};
constexpr uint64_t Tag(uint64_t id, Op op) { return id << 3 | op; }

struct UringConn : Conn {
  uint64_t id = 0;
  int inflight = 0;  // operations submitted whose completion has not arrived
  bool cancelled = false;
};

class UringWorker final : public IoWorker {
 public:
  UringWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
              const Authenticator* auth, int listen_fd)
      : IoWorker(options, server, store, auth, listen_fd) {}
  ~UringWorker() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
  }

  Status Init() {
    // Only this worker's thread submits and reaps, so the kernel may run completion work when
    // the thread waits rather than interrupting it (SINGLE_ISSUER + DEFER_TASKRUN, Linux 6.1;
    // COOP_TASKRUN, 5.19). The ring starts disabled because Run's thread, not this one, is its
    // issuer (it enables it). An older kernel refuses the flags: then a plain ring.
    io_uring_params params{};
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                   IORING_SETUP_R_DISABLED;
    int rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    if (rc == -EINVAL) {
      params = {};
      rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    }
    disabled_until_run_ = rc >= 0 && (params.flags & IORING_SETUP_R_DISABLED);
    if (rc < 0)
      return Status(StatusCode::kInternal,
                    std::string("io_uring_queue_init: ") + std::strerror(-rc));
    ring_ready_ = true;
    return Status::Ok();
  }

  void Run() override {
    if (disabled_until_run_)  // liburing 2.3 declares io_uring_enable_rings but does not export it
      syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    ArmAccept();
    io_uring_prep_poll_add(Sqe(), wake_fd_, POLLIN);
    last_sqe_->user_data = Tag(0, kWake);
    ArmFilled();
    while (!stopping_) WaitAndDispatch();
    // Stop: cancel everything and wait for the kernel to hand back every buffer.
    if (accept_armed_) {
      io_uring_prep_cancel_fd(Sqe(), listen_fd_, IORING_ASYNC_CANCEL_ALL);
      last_sqe_->user_data = Tag(0, kIgnore);
    }
    for (uint64_t id : conns_.Keys()) BeginClose(*conns_.Find(id));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((!conns_.empty() || accept_armed_) && std::chrono::steady_clock::now() < deadline)
      WaitAndDispatch();
  }

 private:
  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {  // the submission queue is full: hand it to the kernel
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    last_sqe_ = sqe;
    return sqe;
  }

  void WaitAndDispatch() {
    __kernel_timespec one_second{1, 0};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &one_second, nullptr);
    bool new_second = handler_.Tick();  // as with epoll: after the wait, before the events
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      OnCompletion(cqe->user_data, cqe->res, cqe->flags);
    }
    io_uring_cq_advance(&ring_, seen);
    if (new_second && !stopping_)
      for (uint64_t id : conns_.Expired(handler_)) BeginClose(*conns_.Find(id));
  }

  void ArmAccept() {
    if (multishot_accept_)
      io_uring_prep_multishot_accept(Sqe(), listen_fd_, nullptr, nullptr,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
      io_uring_prep_accept(Sqe(), listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    last_sqe_->user_data = Tag(0, kAccept);
    accept_armed_ = true;
  }

  void OnCompletion(uint64_t user_data, int res, unsigned flags) {
    Op op = static_cast<Op>(user_data & 7);
    if (op == kIgnore) return;
    if (op == kWake) {
      stopping_ = true;
      return;
    }
    if (op == kAccept) return OnAccept(res, flags);
    if (op == kFilled) return ResumeFilled();
    UringConn* found = conns_.Find(user_data >> 3);
    if (found == nullptr) return;
    UringConn& c = *found;
    --c.inflight;
    if (c.closing) return BeginClose(c);  // frees it once nothing is in flight
    if (res == -EINTR || res == -EAGAIN) return Resubmit(c, op);
    switch (op) {
      case kRecv:
        if (res <= 0) return BeginClose(c);
        handler_.OnInput(c, static_cast<size_t>(res));
        return Advance(c);
      case kSend:
        if (res <= 0) return BeginClose(c);
        c.out_off += static_cast<size_t>(res);
        handler_.OnSent(c, static_cast<size_t>(res));
        return Advance(c);
      default:  // kPollOut: the socket has room for more of the file
        return Advance(c);
    }
  }

  void ArmFilled() {
    io_uring_prep_poll_add(Sqe(), handler_.fill_fd(), POLLIN);
    last_sqe_->user_data = Tag(0, kFilled);
  }

  // Every connection still parked on a fill that landed goes on; a parked connection has no
  // operation in flight, so Advance may submit its next one.
  void ResumeFilled() {
    for (const FillCompletion& done : handler_.TakeFills()) {
      UringConn* c = conns_.Find(done.conn_key);
      if (c == nullptr || c->closing || !handler_.OnFillDone(*c, done)) continue;
      Advance(*c);
    }
    if (!stopping_) ArmFilled();
  }

  void OnAccept(int res, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) accept_armed_ = false;
    if (res == -EINVAL && multishot_accept_) {
      std::fprintf(stderr, "kumo cache: multishot accept refused (Linux < 5.19?); single-shot\n");
      multishot_accept_ = false;
    } else if (res >= 0 && stopping_) {
      close(res);  // accepted while the stop cancels the accept: never served
    } else if (res >= 0) {
      uint64_t id = next_id_++;
      UringConn& c = conns_.Add(id, std::make_unique<UringConn>());
      c.id = id;
      Adopt(c, res, id);
      Advance(c);
    }
    // EMFILE and friends end a multishot accept: re-arm, as epoll would retry on its next wake.
    if (!accept_armed_ && !stopping_) ArmAccept();
  }

  void Resubmit(UringConn& c, Op op) {
    if (op == kRecv) return SubmitRecv(c);
    if (op == kSend) return SubmitSend(c);
    return SubmitPollOut(c);
  }

  // Runs the pump and submits what it waits for: one operation in flight, or the close.
  void Advance(UringConn& c) {
    switch (handler_.Pump(c)) {
      case PumpStep::kSend:
        return SubmitSend(c);
      case PumpStep::kWaitWritable:
        return SubmitPollOut(c);
      case PumpStep::kRead:
        return SubmitRecv(c);
      case PumpStep::kClose:
        return BeginClose(c);
      case PumpStep::kWaitFill:
        return;  // ResumeFilled advances it
    }
  }

  void SubmitRecv(UringConn& c) {
    char* data;
    size_t size;
    if (!handler_.InputSpace(c, &data, &size)) return BeginClose(c);
    io_uring_prep_recv(Sqe(), c.fd, data, size, 0);
    last_sqe_->user_data = Tag(c.id, kRecv);
    ++c.inflight;
  }

  void SubmitSend(UringConn& c) {
    int flags = MSG_NOSIGNAL | (c.file_left > 0 ? MSG_MORE : 0);
    io_uring_prep_send(Sqe(), c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, flags);
    last_sqe_->user_data = Tag(c.id, kSend);
    ++c.inflight;
  }

  void SubmitPollOut(UringConn& c) {
    io_uring_prep_poll_add(Sqe(), c.fd, POLLOUT);
    last_sqe_->user_data = Tag(c.id, kPollOut);
    ++c.inflight;
  }

  // Cancels what is in flight; closes and frees the connection once nothing is. The caller
  // must not touch `c` afterwards.
  void BeginClose(UringConn& c) {
    c.closing = true;
    if (c.inflight > 0) {
      if (!c.cancelled) {
        io_uring_prep_cancel_fd(Sqe(), c.fd, IORING_ASYNC_CANCEL_ALL);
        last_sqe_->user_data = Tag(0, kIgnore);
        c.cancelled = true;
      }
      return;
    }
    close(c.fd);
    conns_.Erase(c.id);
  }

  io_uring ring_{};
  bool ring_ready_ = false;
  bool disabled_until_run_ = false;
  io_uring_sqe* last_sqe_ = nullptr;
  bool multishot_accept_ = true;
  bool accept_armed_ = false;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  ConnTable<UringConn> conns_;
};

}  // namespace

Result<std::unique_ptr<IoWorker>> MakeUringWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd) {
  auto w = std::make_unique<UringWorker>(options, server, store, auth, listen_fd);
  if (Status s = w->Init(); !s.ok()) return Error(s);
  return std::unique_ptr<IoWorker>(std::move(w));
}

}  // namespace kumo::cache
