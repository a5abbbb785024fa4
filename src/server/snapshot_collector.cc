#include "server/snapshot_collector.h"

#include <cstdio>
#include <set>
#include <string>

#include "server/server_state.h"

namespace kumo::server {

SnapshotCollector::SnapshotCollector(ServerState& state, std::chrono::seconds interval,
                                     std::chrono::seconds grace)
    : state_(state), interval_(interval), grace_(grace) {}

SnapshotCollector::~SnapshotCollector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SnapshotCollector::Start() { thread_ = std::thread([this] { Run(); }); }

Result<SnapshotCollection> SnapshotCollector::CollectOnce() {
  std::set<std::string> named;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    for (const auto& [id, job] : state_.jobs) {
      auto it = job.code_version.find("snapshot");
      if (it != job.code_version.end() && it->is_string()) named.insert(it->get<std::string>());
    }
  }
  auto swept = state_.snapshots->Collect(named, grace_);
  if (!swept) return swept;
  swept->leftovers_removed +=
      StagedTree::RemoveLeftovers(state_.config.data_dir + "/jobs", grace_);
  return swept;
}

void SnapshotCollector::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto swept = CollectOnce();
    if (!swept)
      std::fprintf(stderr, "kumo server: snapshot collection: %s\n",
                   swept.error().message().c_str());
    else if (swept->manifests_removed + swept->blobs_removed + swept->leftovers_removed > 0)
      std::fprintf(stderr,
                   "kumo server: snapshot collection freed %lld bytes: %d manifests, %lld blobs, "
                   "%d leftovers no job named\n",
                   static_cast<long long>(swept->bytes_freed), swept->manifests_removed,
                   static_cast<long long>(swept->blobs_removed), swept->leftovers_removed);
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace kumo::server
