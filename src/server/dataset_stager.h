// Stage-in of pending jobs' datasets, off the scheduling loop's thread.
//
// Fetching a cold dataset version from kumo cache into the node store takes as long as its
// bytes take (minutes for hundreds of GB). Done at start, on the loop's thread, it stopped the
// loop meanwhile: no exits polled, no cancel or deadline acted on, no grace-period SIGKILL, no
// pass. So a pending job whose pinned versions are not all on the node is staged first, on this
// class's thread, and is not offered to the scheduler until they are: it waits with reason
// `StagingDatasets`, as a Slurm job waits with `BurstBufferStageIn` while its burst buffer
// stages in (slurm.conf/burst_buffer.conf: stage-in runs before the job is allocated). The
// start then finds the trees in place (job_datasets.h: a tree that exists is complete).
//
// A fetch that fails is not retried here for kRetryAfter: the job is offered to the scheduler,
// and its start materialises again on the loop's thread, failing the attempt with the dataset
// named (the failure path of job_datasets.h, which the job's retry policy governs).
//
// Thread safety: Check may be called under ServerState::mu (it takes only this class's own
// mutex and stats a directory per dataset): the lock order is ServerState::mu, then mu_. The
// stager thread takes ServerState::mu (MaterializeDatasets' node-store collection; Kick) only
// while not holding mu_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "api/job_spec.h"

namespace kumo::server {

struct ServerState;

class DatasetStager {
 public:
  explicit DatasetStager(ServerState& state);
  ~DatasetStager();  // finishes the fetch in flight, drops the queued ones, joins the thread
  DatasetStager(const DatasetStager&) = delete;
  DatasetStager& operator=(const DatasetStager&) = delete;

  struct Verdict {
    bool offer = true;    // every pinned version is on the node, or staging it failed
    std::string waiting;  // !offer: the sentence for the job's reason message
  };
  // Whether `spec`'s job may be offered to the scheduler now; queues the versions not yet on
  // the node (once each: jobs reading one version share its fetch). REQUIRES: pinned datasets.
  Verdict Check(const api::JobSpec& spec);

 private:
  static constexpr std::chrono::seconds kRetryAfter{60};
  enum class Fetch { kQueued, kRunning, kFailed };
  struct FetchState {
    Fetch fetch = Fetch::kQueued;
    std::chrono::steady_clock::time_point failed_at;  // kFailed: when
  };
  void Run();

  ServerState& state_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<api::DatasetRef> queue_;      // guarded by mu_
  std::map<std::string, FetchState> fetches_;  // by digest; guarded by mu_ (done: erased)
  bool stopping_ = false;                  // guarded by mu_
  std::thread thread_;
};

}  // namespace kumo::server
