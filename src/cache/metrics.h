// Counters for /metrics, written in the Prometheus text format by base/prometheus.h. Each worker
// thread owns one WorkerMetrics and bumps it with relaxed atomics (no sharing on the hot path); a
// scrape sums them. Thread safety: increments from the owning worker, reads from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "cache/protocol/http_parser.h"

namespace kumo::cache {

class ObjectStore;

inline constexpr std::array<int, 22> kStatusCodes = {200, 201, 204, 206, 304, 307, 400, 401,
                                                     403, 404, 405, 408, 411, 413, 416, 417,
                                                     431, 500, 501, 505, 507, 0};
// Upper bounds of the latency histogram in microseconds (then +Inf).
inline constexpr std::array<uint64_t, 16> kLatencyBoundsUs = {
    50,    100,   250,    500,    1000,   2000,    5000,    10000,
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000};

struct WorkerMetrics {
  std::atomic<uint64_t> requests[5][kStatusCodes.size()] = {};  // [Method][code slot]
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0}, hits{0}, misses{0};
  std::atomic<uint64_t> latency_buckets[kLatencyBoundsUs.size() + 1] = {};
  std::atomic<uint64_t> latency_sum_us{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> redirects{0};  // 307 to the Maglev owner

  void Record(Method method, int status, uint64_t latency_us);
};

std::string RenderMetrics(const std::vector<const WorkerMetrics*>& workers,
                          const ObjectStore& store);

}  // namespace kumo::cache
