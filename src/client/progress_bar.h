// A progress bar on stderr for transfers of many files (kumo dataset push/pull, kumo cp):
//   push mnist [########................] 1200/10000 files  117Mi/977Mi  85.3 MB/s  ETA 0:10
// Drawn only when stderr is a terminal (a script's log gets the final summary, not 200
// redraws a second), by a thread of its own every 200 ms, so workers only add to counters.
//
// Thread safety: Add may be called from any number of threads; construct and Finish from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace kumo::client {

class ProgressBar {
 public:
  // `enabled` defaults to whether stderr is a terminal.
  ProgressBar(std::string label, uint64_t total_files, uint64_t total_bytes);
  ProgressBar(std::string label, uint64_t total_files, uint64_t total_bytes, bool enabled);
  ~ProgressBar();  // Finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `bytes_moved`: bytes actually sent or received (the rate); `bytes` counts skipped files too.
  void Add(uint64_t files, uint64_t bytes, uint64_t bytes_moved);
  // Draws the last state and ends the line. Idempotent.
  void Finish();
  double ElapsedSeconds() const;

 private:
  void Draw() const;

  std::string label_;
  uint64_t total_files_, total_bytes_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> files_{0}, bytes_{0}, moved_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;  // guarded by mu_
  std::thread drawer_;
};

}  // namespace kumo::client
