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
// task that fills the dir cannot stall the loop. The loop walks with ServerState::mu released
// (Due under mu, the walks without it, Record under mu again): API requests never wait on a
// job's directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kumo::server {

constexpr size_t kMaxCheckpointEntries = 4096;

// The newest modification time (seconds since the epoch) of a regular file under `dir`, among
// the first `max_entries` entries of a walk that does not follow symbolic links; nullopt when
// there is none (or `dir` does not exist).
std::optional<double> NewestFileTime(const std::string& dir,
                                     size_t max_entries = kMaxCheckpointEntries);

// The loop's view of its running jobs' checkpoint dirs. Each dir is walked again at most every
// kRescanSeconds: a save is seen up to that late, which CheckpointWaitSeconds allows for.
// Not thread-safe: the scheduling loop's thread alone uses it.
class CheckpointWatch {
 public:
  static constexpr double kRescanSeconds = 5;

  // One walk to make: the job's dir, and what it found (set by the caller).
  struct Walk {
    int64_t id = 0;
    std::string dir;
    double newest = -1;  // seconds since the epoch; -1: no file
  };

  // The jobs to watch now (running jobs that checkpoint: id -> checkpoint dir); what was known
  // of any other job is dropped, so a job that runs again is walked at once.
  void Track(const std::map<int64_t, std::string>& dirs);
  // The dirs due a walk at `now` (the loop's clock, seconds since the epoch): never walked, or
  // last walked kRescanSeconds ago (or in the future: the clock went back).
  std::vector<Walk> Due(double now) const;
  // Takes the walks' findings, made at `now`; walks of jobs no longer tracked are ignored.
  void Record(const std::vector<Walk>& walks, double now);
  // When job `id` last wrote a file under its dir (seconds since the epoch; -1: never, or not
  // walked yet).
  double LastWrite(int64_t id) const;

 private:
  struct Seen {
    std::string dir;
    bool walked = false;
    double walked_at = 0;
    double last_write = -1;
  };
  std::map<int64_t, Seen> seen_;
};

}  // namespace kumo::server
