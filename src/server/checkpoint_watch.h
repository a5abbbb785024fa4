// When a job last wrote its checkpoint, as the server sees it.
//
// The signal is the one a job already gives: it saves into KUMO_CHECKPOINT_DIR (the job's
// checkpoint dir, kept across attempts), so the newest modification time of a regular file
// under that dir is when it last saved. No SDK call or protocol is needed, and the same reading
// tells the requeue message what a restart resumes from (job_lifecycle.cc). A job that writes a
// checkpoint in place, over minutes, shows as saving until its last write -- the moment its
// state is complete, which is what a preemption must wait for.
//
// The dir belongs to the task's uid: symbolic links are not followed (a task cannot make the
// server stat files outside it), and a walk visits at most kMaxCheckpointEntries entries, so a
// task that fills the dir cannot stall the loop, which reads it under ServerState::mu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kumo::server {

constexpr size_t kMaxCheckpointEntries = 4096;

// The newest modification time (seconds since the epoch) of a regular file under `dir`, among
// the first `max_entries` entries of a walk that does not follow symbolic links; nullopt when
// there is none (or `dir` does not exist).
std::optional<double> NewestFileTime(const std::string& dir,
                                     size_t max_entries = kMaxCheckpointEntries);

// The loop's view of its running jobs' checkpoint dirs. Each dir is walked again at most every
// kRescanSeconds: a save is seen up to that late, which CheckpointWaitSeconds allows for.
// Not thread-safe: the loop uses it under ServerState::mu.
class CheckpointWatch {
 public:
  static constexpr double kRescanSeconds = 5;

  // When job `id` last wrote a file under `dir` (seconds since the epoch; -1: never).
  // `now`: the loop's clock, seconds since the epoch.
  double LastWrite(int64_t id, const std::string& dir, double now);
  // Drops what is known of job `id` (it stopped running).
  void Forget(int64_t id) { seen_.erase(id); }

 private:
  struct Seen {
    double scanned_at = 0;
    double last_write = -1;
  };
  std::map<int64_t, Seen> seen_;
};

}  // namespace kumo::server
