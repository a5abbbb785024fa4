// One cache worker thread: a listening socket (SO_REUSEPORT, its own), the connections it
// accepted, and one I/O backend driving them through a RequestHandler. The backends differ only
// in how reads, sends and waits are submitted: epoll_worker.cc (readiness + syscalls),
// uring_worker.cc (io_uring submissions). Both follow request_handler.h's contract, so the HTTP
// behaviour is the same; server_test.cc runs every test against both.
//
// Thread safety: Run on the worker's own thread; Wake and metrics() from any thread.
#pragma once

#include <memory>

#include "cache/io/io_backend.h"
#include "cache/protocol/request_handler.h"

namespace kumo::cache {

class IoWorker {
 public:
  virtual ~IoWorker();  // closes the listener and every connection
  // Serves until Wake(). Connections are closed by the destructor at the latest.
  virtual void Run() = 0;
  void Wake();
  const WorkerMetrics& metrics() const { return handler_.metrics(); }

 protected:
  // Takes ownership of `listen_fd` (bound, listening, non-blocking).
  IoWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
           const Authenticator* auth, int listen_fd);
  const ServerOptions options_;  // before handler_, which refers to it
  RequestHandler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Wake() writes it, the loop watches it
};

// Both fail only on resource exhaustion (ring or epoll instance); `server` serves /metrics.
Result<std::unique_ptr<IoWorker>> MakeEpollWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd);
Result<std::unique_ptr<IoWorker>> MakeUringWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd);

}  // namespace kumo::cache
