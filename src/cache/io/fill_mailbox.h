// Where origin fill threads (storage/origin.h) leave the outcome of a read-through copy for the
// I/O worker whose connection is parked on it. Post appends under a mutex and bumps an eventfd;
// the worker watches fd() with its backend (epoll or a ring poll) and, when it is readable, Takes
// the batch and resumes each connection still waiting for that ticket.
//
// The worker owns the mailbox through a shared_ptr and every pending fill callback holds
// another, so a copy that lands after its worker stopped posts into a mailbox nobody reads,
// never into freed memory.
//
// Thread safety: Post from any thread; fd() and Take on the worker's thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "cache/storage/object_store.h"

namespace kumo::cache {

struct FillCompletion {
  uint64_t conn_key = 0;  // the backend's ConnTable key of the parked connection
  uint64_t ticket = 0;    // Conn::fill_ticket when it parked: a closed and reused key does not match
  StoreStatus status;
};

class FillMailbox {
 public:
  FillMailbox();  // aborts if no eventfd can be made (resource exhaustion at start-up)
  ~FillMailbox();
  FillMailbox(const FillMailbox&) = delete;
  FillMailbox& operator=(const FillMailbox&) = delete;

  int fd() const { return fd_; }  // readable while completions wait
  void Post(FillCompletion c);
  // Everything posted so far, oldest first; clears the eventfd.
  std::vector<FillCompletion> Take();

 private:
  const int fd_;
  std::mutex mu_;
  std::vector<FillCompletion> posted_;  // guarded by mu_
};

}  // namespace kumo::cache
