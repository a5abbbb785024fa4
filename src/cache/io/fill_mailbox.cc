#include "cache/io/fill_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace kumo::cache {
namespace {

int MakeEventFd() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    std::perror("kumo cache: eventfd for origin fills");
    std::abort();
  }
  return fd;
}

}  // namespace

FillMailbox::FillMailbox() : fd_(MakeEventFd()) {}

FillMailbox::~FillMailbox() { close(fd_); }

void FillMailbox::Post(FillCompletion c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(c));
  }
  uint64_t one = 1;
  (void)!write(fd_, &one, sizeof one);
}

std::vector<FillCompletion> FillMailbox::Take() {
  uint64_t count;
  (void)!read(fd_, &count, sizeof count);  // before taking, so a later Post wakes us again
  std::vector<FillCompletion> taken;
  std::lock_guard<std::mutex> lock(mu_);
  taken.swap(posted_);
  return taken;
}

}  // namespace kumo::cache
