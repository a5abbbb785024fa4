#include "cache/io/io_worker.h"

#include <sys/eventfd.h>
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

}  // namespace kumo::cache
