#include "cache/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  std::vector<const WorkerMetrics*> all;
  for (const auto& w : workers_) all.push_back(&w->metrics());
  std::string out = RenderMetrics(all, *store_);
  out +=
      "# HELP kumo_cache_io_backend The socket I/O backend the workers use (1 = in use).\n"
      "# TYPE kumo_cache_io_backend gauge\n";
  for (IoBackend b : {IoBackend::kEpoll, IoBackend::kUring})
    out += std::string("kumo_cache_io_backend{backend=\"") + IoBackendName(b) + "\"} " +
           (b == io_ ? "1" : "0") + "\n";
  out +=
      "# HELP kumo_cache_corrupt_total Objects whose bytes did not match their ETag when "
      "verified (removed).\n"
      "# TYPE kumo_cache_corrupt_total counter\n"
      "kumo_cache_corrupt_total " +
      std::to_string(store_->corrupt_objects()) + "\n";
  if (origin_ != nullptr)
    out +=
        "# HELP kumo_cache_origin_fetches_total Objects copied from --origin on a miss.\n"
        "# TYPE kumo_cache_origin_fetches_total counter\n"
        "kumo_cache_origin_fetches_total " +
        std::to_string(origin_->fetches()) +
        "\n"
        "# HELP kumo_cache_origin_fetched_bytes_total Bytes copied from --origin.\n"
        "# TYPE kumo_cache_origin_fetched_bytes_total counter\n"
        "kumo_cache_origin_fetched_bytes_total " +
        std::to_string(origin_->fetched_bytes()) +
        "\n"
        "# HELP kumo_cache_origin_errors_total Origin copies that failed (no room, I/O).\n"
        "# TYPE kumo_cache_origin_errors_total counter\n"
        "kumo_cache_origin_errors_total " +
        std::to_string(origin_->errors()) + "\n";
  if (router_ != nullptr) {
    std::shared_ptr<const ClusterView> view = router_->Load();
    uint64_t redirects = 0;
    for (const auto& w : workers_)
      redirects += w->metrics().redirects.load(std::memory_order_relaxed);
    size_t members = view && view->table ? view->table->members().size() : 0;
    out +=
        "# HELP kumo_cache_cluster_members Members in the current Maglev table.\n"
        "# TYPE kumo_cache_cluster_members gauge\n"
        "kumo_cache_cluster_members " +
        std::to_string(members) +
        "\n"
        "# HELP kumo_cache_cluster_generation Member lists loaded since start.\n"
        "# TYPE kumo_cache_cluster_generation counter\n"
        "kumo_cache_cluster_generation " +
        std::to_string(view ? view->generation : 0) +
        "\n"
        "# HELP kumo_cache_redirects_total Object requests answered 307 to their owner.\n"
        "# TYPE kumo_cache_redirects_total counter\n"
        "kumo_cache_redirects_total " +
        std::to_string(redirects) + "\n";
  }
  return out;
}

}  // namespace kumo::cache
