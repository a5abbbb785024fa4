#include "cache/io/io_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kumo::cache {

IoWorker::IoWorker(const ServerOptions& options, const CacheServer* server, ObjectStore* store,
                   const Authenticator* auth, int listen_fd)
    : options_(options),
      handler_(options_, server, store, auth),
      listen_fd_(listen_fd),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

IoWorker::~IoWorker() {
  for (int fd : {listen_fd_, wake_fd_})
    if (fd >= 0) close(fd);
}

void IoWorker::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void IoWorker::Adopt(Conn& c, int fd, uint64_t key) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.fd = fd;
  c.key = key;
  c.last_active_s = handler_.now_s();
  handler_.metrics().connections_accepted.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace kumo::cache
