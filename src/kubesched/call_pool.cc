#include "kubesched/call_pool.h"

#include <atomic>
#include <utility>

namespace kumo::kubesched {

struct CallPool::Batch {
  std::vector<Call> calls;
  std::function<void()> on_done;
  std::atomic<size_t> remaining{0};
};

CallPool::CallPool(int workers) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
}

CallPool::~CallPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void CallPool::Submit(std::vector<Call> calls, std::function<void()> on_done) {
  if (calls.empty()) {
    if (on_done) on_done();
    return;
  }
  auto batch = std::make_shared<Batch>();
  batch->calls = std::move(calls);
  batch->on_done = std::move(on_done);
  batch->remaining = batch->calls.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < batch->calls.size(); ++i) queue_.push_back({batch, i});
    in_flight_ += batch->calls.size();
  }
  cv_.notify_all();
}

size_t CallPool::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

// Each worker keeps one Session for its whole life: the connection stays open between calls.
// Workers leave only once the queue is empty, so the destructor drains it.
void CallPool::Work() {
  executor::kube::KubeClient::Session session;
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.batch->calls[item.index](session);
    bool last = --item.batch->remaining == 0;
    if (last && item.batch->on_done) item.batch->on_done();
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
  }
}

}  // namespace kumo::kubesched
