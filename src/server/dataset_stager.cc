#include "server/dataset_stager.h"

#include <filesystem>

#include "server/job_datasets.h"
#include "server/server_state.h"

namespace kumo::server {

DatasetStager::DatasetStager(ServerState& state) : state_(state) {
  thread_ = std::thread([this] { Run(); });
}

DatasetStager::~DatasetStager() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

DatasetStager::Verdict DatasetStager::Check(const api::JobSpec& spec) {
  Verdict verdict;
  std::lock_guard<std::mutex> lock(mu_);
  for (const api::DatasetRef& d : spec.datasets) {
    std::error_code ec;
    if (std::filesystem::is_directory(DatasetDir(state_.config.data_dir, d.digest), ec)) continue;
    auto [it, fresh] = fetches_.try_emplace(d.digest);
    FetchState& f = it->second;
    if (!fresh && f.fetch == Fetch::kFailed &&
        std::chrono::steady_clock::now() - f.failed_at >= kRetryAfter) {
      f.fetch = Fetch::kQueued;
      fresh = true;
    }
    if (fresh) {
      queue_.push_back(d);
      cv_.notify_one();
    }
    if (f.fetch == Fetch::kFailed) continue;  // the start tries again and says why
    if (verdict.offer)
      verdict.waiting = "fetching dataset " + d.name + "@" + std::to_string(d.version) + " (" +
                        d.digest + ") from kumo cache into the node store";
    verdict.offer = false;
  }
  return verdict;
}

void DatasetStager::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    api::DatasetRef d = queue_.front();
    queue_.pop_front();
    fetches_[d.digest].fetch = Fetch::kRunning;
    lock.unlock();
    api::JobSpec one;
    one.datasets = {d};
    Status fetched = MaterializeDatasets(state_, one);
    lock.lock();
    if (fetched.ok())
      fetches_.erase(d.digest);  // the tree exists now; a later collection may remove it again
    else
      fetches_[d.digest] = {Fetch::kFailed, std::chrono::steady_clock::now()};
    lock.unlock();
    {
      std::lock_guard<std::mutex> state_lock(state_.mu);
      state_.Kick();  // the jobs reading it may be offered now
    }
    lock.lock();
  }
}

}  // namespace kumo::server
