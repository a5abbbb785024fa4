// One cache worker thread: a listening socket (SO_REUSEPORT, its own), the connections it
// accepted, and one I/O backend driving them through a RequestHandler. What every backend does
// the same way lives here and in RequestHandler::Pump (the response pump): accepting a
// connection, the connection table, the timeout sweep, closing what is left. The backends differ
// only in how reads, sends and waits are submitted: epoll_worker.cc (readiness + syscalls),
// uring_worker.cc (io_uring submissions). Both follow request_handler.h's contract, so the HTTP
// behaviour is the same; the cache server tests run every test against both.
//
// Thread safety: Run on the worker's own thread; Wake and metrics() from any thread.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cache/io/io_backend.h"
#include "cache/protocol/request_handler.h"

namespace kumo::cache {

class IoWorker {
 public:
  virtual ~IoWorker();  // closes the listener (the backend's ConnTable closes the connections)
  // Serves until Wake(). Connections are closed by the destructor at the latest.
  virtual void Run() = 0;
  void Wake();
  const WorkerMetrics& metrics() const { return handler_.metrics(); }

 protected:
  // Takes ownership of `listen_fd` (bound, listening, non-blocking).
  IoWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
           const Authenticator* auth, int listen_fd);
  // A connection just accepted on `fd`, kept under `key` in the backend's ConnTable:
  // TCP_NODELAY, its idle clock started, counted.
  void Adopt(Conn& c, int fd, uint64_t key);

  const ServerOptions options_;  // before handler_, which refers to it
  RequestHandler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Wake() writes it, the loop watches it
};

// A backend's connections by key (the epoll worker's fd, the uring worker's id). Every socket
// still open is closed when the table goes. `C` derives from Conn.
template <typename C>
class ConnTable {
 public:
  ConnTable() = default;
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;
  ~ConnTable() {
    for (auto& [key, c] : conns_) close(c->fd);
  }

  C& Add(uint64_t key, std::unique_ptr<C> c) {
    return *conns_.emplace(key, std::move(c)).first->second;
  }
  C* Find(uint64_t key) {
    auto it = conns_.find(key);
    return it == conns_.end() ? nullptr : it->second.get();
  }
  // REQUIRES: the caller closed the socket. An unfinished PutWriter discards its upload.
  void Erase(uint64_t key) { conns_.erase(key); }
  bool empty() const { return conns_.empty(); }
  std::vector<uint64_t> Keys() const {
    std::vector<uint64_t> keys;
    for (auto& [key, c] : conns_) keys.push_back(key);
    return keys;
  }
  // The open connections RequestHandler::CheckTimeout says to close (a 408 is sent already).
  std::vector<uint64_t> Expired(RequestHandler& handler) {
    std::vector<uint64_t> expired;
    for (auto& [key, c] : conns_)
      if (!c->closing && handler.CheckTimeout(*c)) expired.push_back(key);
    return expired;
  }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<C>> conns_;
};

// Both fail only on resource exhaustion (ring or epoll instance); `server` serves /metrics.
Result<std::unique_ptr<IoWorker>> MakeEpollWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd);
Result<std::unique_ptr<IoWorker>> MakeUringWorker(const ServerOptions& options,
                                                  const CacheServer* server, ObjectStore* store,
                                                  const Authenticator* auth, int listen_fd);

}  // namespace kumo::cache
