// CallPool: the worker threads that carry `kumo kube-scheduler`'s API calls (bindings, status
// patches, events, deletes), each thread with its own kept-alive connection
// (KubeClient::Session), so that a call costs one request on an open TLS connection instead of a
// TCP and TLS handshake (the server's signature is most of a small call's cost).
//
// The scheduling loop submits a pass's calls as one batch and goes on: the next pass may run
// while the batch is in flight (its pods are assumed bound, kube_scheduler.h). When the batch's
// last call has returned, `on_done` runs once, on the worker thread that ran that call — the
// caller learns there that every result of the batch is written.
//
// Calls run in submission order of batches (FIFO), up to `workers` at once. The destructor runs
// every call already submitted, then joins the threads: a gang's bindings are never cut in half
// by a shutdown.
//
// Thread safety: Submit from any thread; a call must not Submit to its own pool and wait.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "executor/kubernetes/kube_client.h"

namespace kumo::kubesched {

class CallPool {
 public:
  using Call = std::function<void(executor::kube::KubeClient::Session&)>;

  // REQUIRES: workers >= 1.
  explicit CallPool(int workers);
  ~CallPool();
  CallPool(const CallPool&) = delete;
  CallPool& operator=(const CallPool&) = delete;

  // Queues `calls`; `on_done` (may be empty) runs once after the last of them returned, also
  // when `calls` is empty (then at once, on this thread).
  void Submit(std::vector<Call> calls, std::function<void()> on_done = {});

  // Calls submitted and not yet returned.
  size_t InFlight() const;

 private:
  struct Batch;
  struct Item {
    std::shared_ptr<Batch> batch;
    size_t index = 0;
  };
  void Work();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  size_t in_flight_ = 0;    // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace kumo::kubesched
