#include "cache/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/prometheus.h"
#include "cache/io/io_worker.h"

namespace kumo::cache {

Result<std::unique_ptr<CacheServer>> CacheServer::Start(ServerOptions options, ObjectStore* store,
                                                        const Authenticator* auth) {
  std::unique_ptr<CacheServer> server(new CacheServer());
  server->store_ = store;
  server->router_ = options.router;
  server->origin_ = options.origin;
  server->io_ = options.io;
  in_addr addr{};
  if (inet_pton(AF_INET, options.host.c_str(), &addr) != 1)
    return Error(Status::InvalidArgument("--listen wants an IPv4 address: " + options.host));
  uint16_t port = options.port;
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = addr;
    sa.sin_port = htons(port);
    if (bind(listen_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(listen_fd, 4096) != 0) {
      std::string why = std::strerror(errno);
      close(listen_fd);
      return Error(Status::FailedPrecondition("listen on " + options.host + ":" +
                                              std::to_string(port) + ": " + why));
    }
    if (port == 0) {  // the other workers join the port the kernel picked
      socklen_t len = sizeof sa;
      getsockname(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len);
      port = ntohs(sa.sin_port);
    }
    Result<std::unique_ptr<IoWorker>> w =
        options.io == IoBackend::kUring
            ? MakeUringWorker(options, server.get(), store, auth, listen_fd)
            : MakeEpollWorker(options, server.get(), store, auth, listen_fd);
    if (!w) return Error(w.error());
    server->workers_.push_back(std::move(*w));
  }
  server->port_ = port;
  for (auto& w : server->workers_) server->threads_.emplace_back([wp = w.get()] { wp->Run(); });
  return server;
}

CacheServer::~CacheServer() { Stop(); }

void CacheServer::Stop() {
  for (auto& w : workers_) w->Wake();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  workers_.clear();
}

std::string CacheServer::MetricsText() const {
  using prometheus::Type;
  std::vector<const WorkerMetrics*> all;
  for (const auto& w : workers_) all.push_back(&w->metrics());
  std::string out = RenderMetrics(all, *store_);
  prometheus::TextWriter w;
  auto one = [&](const char* name, Type type, const char* help, double value) {
    w.Family(name, type, help);
    w.Sample(name, {}, value);
  };
  w.Family("kumo_cache_io_backend", Type::kGauge,
           "The socket I/O backend the workers use (1 = in use).");
  for (IoBackend b : {IoBackend::kEpoll, IoBackend::kUring})
    w.Sample("kumo_cache_io_backend", {{"backend", IoBackendName(b)}}, b == io_ ? 1 : 0);
  one("kumo_cache_corrupt_total", Type::kCounter,
      "Objects whose bytes did not match their ETag when verified (removed).",
      static_cast<double>(store_->corrupt_objects()));
  if (origin_ != nullptr) {
    one("kumo_cache_origin_fetches_total", Type::kCounter, "Objects copied from --origin on a miss.",
        static_cast<double>(origin_->fetches()));
    one("kumo_cache_origin_fetched_bytes_total", Type::kCounter, "Bytes copied from --origin.",
        static_cast<double>(origin_->fetched_bytes()));
    one("kumo_cache_origin_errors_total", Type::kCounter,
        "Origin copies that failed (no room, I/O).", static_cast<double>(origin_->errors()));
  }
  if (router_ != nullptr) {
    std::shared_ptr<const ClusterView> view = router_->Load();
    uint64_t redirects = 0;
    for (const auto& worker : workers_)
      redirects += worker->metrics().redirects.load(std::memory_order_relaxed);
    size_t members = view && view->table ? view->table->members().size() : 0;
    one("kumo_cache_cluster_members", Type::kGauge, "Members in the current Maglev table.",
        static_cast<double>(members));
    one("kumo_cache_cluster_generation", Type::kCounter, "Member lists loaded since start.",
        static_cast<double>(view ? view->generation : 0));
    one("kumo_cache_redirects_total", Type::kCounter,
        "Object requests answered 307 to their owner.", static_cast<double>(redirects));
  }
  return out + w.Take();
}

}  // namespace kumo::cache
