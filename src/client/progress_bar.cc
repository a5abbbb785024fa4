#include "client/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "client/format.h"

namespace kumo::client {

ProgressBar::ProgressBar(std::string label, uint64_t total_files, uint64_t total_bytes)
    : ProgressBar(std::move(label), total_files, total_bytes, isatty(STDERR_FILENO) == 1) {}

ProgressBar::ProgressBar(std::string label, uint64_t total_files, uint64_t total_bytes,
                         bool enabled)
    : label_(std::move(label)),
      total_files_(total_files),
      total_bytes_(total_bytes),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  drawer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!finished_) {
      Draw();
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  });
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Add(uint64_t files, uint64_t bytes, uint64_t bytes_moved) {
  files_.fetch_add(files, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  moved_.fetch_add(bytes_moved, std::memory_order_relaxed);
}

double ProgressBar::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (!enabled_) return;
  cv_.notify_all();
  drawer_.join();
  Draw();
  std::fputs("\n", stderr);
}

void ProgressBar::Draw() const {
  uint64_t files = files_.load(), bytes = bytes_.load(), moved = moved_.load();
  double elapsed = ElapsedSeconds();
  double bytes_per_s = elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0;
  std::string eta = "--";
  if (bytes_per_s > 0) {
    long s = static_cast<long>(static_cast<double>(total_bytes_ - std::min(bytes, total_bytes_)) /
                               bytes_per_s);
    eta = std::to_string(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + std::to_string(s % 60);
  }
  constexpr int kWidth = 24;
  double fraction = total_bytes_ > 0   ? static_cast<double>(bytes) / static_cast<double>(total_bytes_)
                    : total_files_ > 0 ? static_cast<double>(files) / static_cast<double>(total_files_)
                                       : 1.0;
  std::string bar(static_cast<size_t>(std::clamp(fraction, 0.0, 1.0) * kWidth), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %llu/%llu files  %s/%s  %.1f MB/s  ETA %s",
               label_.c_str(), bar.c_str(), static_cast<unsigned long long>(files),
               static_cast<unsigned long long>(total_files_),
               FormatBytes(static_cast<int64_t>(bytes)).c_str(),
               FormatBytes(static_cast<int64_t>(total_bytes_)).c_str(),
               elapsed > 0 ? static_cast<double>(moved) / 1e6 / elapsed : 0.0, eta.c_str());
}

}  // namespace kumo::client
