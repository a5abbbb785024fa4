// The cache's HTTP/1.1 front end: one event loop (epoll or io_uring) per worker thread, each
// with its own SO_REUSEPORT listening socket (the kernel spreads connections; no accept lock, no
// shared queue). Requests on a connection are answered in order; pipelined requests wait in the
// input buffer until the previous response is sent, so memory per connection stays bounded.
//
// Serving path (one response): bodies below `sendfile_min_bytes` are pread into the buffer that
// already holds the response head and go out in one send (pread + send); larger bodies send the
// head with MSG_MORE and then sendfile from the object's open file (no copy through user space).
// The threshold is a flag so it can be measured; docs/cache.md has the figures.
//
// Routes: PUT/GET/HEAD/DELETE /v1/objects/{bucket}/{key}; GET /metrics and /healthz without
// auth. Every object request is authorised (when auth is on) before the store is touched.
//
// Cluster (when `router` is set and its view has members): after auth, an object whose Maglev
// owner (over "bucket/key", see maglev.h) is another member gets 307 with
// `Location: http://<owner address><target>` and `X-Kumo-Owner: <name>`, before the store is
// touched (a redirect says nothing about whether the object exists). `X-Kumo-No-Redirect: 1`
// serves the request locally whoever owns it.
//
// Read-through (when `origin` is set): a GET that misses locally copies the object from the
// origin directory into the store and serves it (origin.h); only the Maglev owner does that —
// other members still answer 307, and a non-owner serving with X-Kumo-No-Redirect answers 404.
// Verified reads (StoreOptions::verify_reads): a corrupt object reads as a miss (then, with an
// origin, it is fetched again).
//
// I/O (ServerOptions::io): epoll or io_uring, the same HTTP behaviour either way
// (io_worker.h); the caller picks one with io_backend.h's probe.
//
// Thread safety: Start/Stop from one thread; MetricsText from any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "cache/auth/auth.h"
#include "cache/io/io_backend.h"
#include "cache/metrics.h"
#include "cache/protocol/http_parser.h"
#include "cache/routing/maglev.h"
#include "cache/storage/object_store.h"
#include "cache/storage/origin.h"

namespace kumo::cache {

class IoWorker;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port, chosen by the first worker's bind
  int workers = 2;
  uint64_t sendfile_min_bytes = 64 * 1024;
  int header_timeout_s = 10;  // a request head must arrive within this (then 408)
  int body_timeout_s = 30;    // an upload may stall this long between reads
  int idle_timeout_s = 60;    // an idle keep-alive connection is closed after this
  ParserLimits limits;
  // Not owned; must outlive the server. Null: single node, everything is served locally.
  const MaglevRouter* router = nullptr;
  // Not owned; must outlive the server. Null: a miss is a 404.
  Origin* origin = nullptr;
  // kUring requires ProbeUring().usable (Start fails otherwise).
  IoBackend io = IoBackend::kEpoll;
};

class CacheServer {
 public:
  // `store` must outlive the server; `auth` null means --no-auth.
  static Result<std::unique_ptr<CacheServer>> Start(ServerOptions options, ObjectStore* store,
                                                    const Authenticator* auth);
  ~CacheServer();  // Stop()
  uint16_t port() const { return port_; }
  // Wakes every worker, closes all connections (discarding uploads in flight), joins.
  void Stop();
  std::string MetricsText() const;

 private:
  CacheServer() = default;
  std::vector<std::unique_ptr<IoWorker>> workers_;
  std::vector<std::thread> threads_;
  ObjectStore* store_ = nullptr;
  const MaglevRouter* router_ = nullptr;
  const Origin* origin_ = nullptr;
  IoBackend io_ = IoBackend::kEpoll;
  uint16_t port_ = 0;
};

}  // namespace kumo::cache
