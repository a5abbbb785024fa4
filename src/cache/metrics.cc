#include "cache/metrics.h"

#include <cstdio>

#include "cache/storage/object_store.h"

namespace kumo::cache {
namespace {

constexpr const char* kMethodNames[5] = {"GET", "HEAD", "PUT", "DELETE", "OTHER"};

size_t CodeSlot(int status) {
  for (size_t i = 0; i + 1 < kStatusCodes.size(); ++i)
    if (kStatusCodes[i] == status) return i;
  return kStatusCodes.size() - 1;  // "other"
}

uint64_t Load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

void WorkerMetrics::Record(Method method, int status, uint64_t latency_us) {
  requests[static_cast<int>(method)][CodeSlot(status)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kLatencyBoundsUs.size() && latency_us > kLatencyBoundsUs[b]) ++b;
  latency_buckets[b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us.fetch_add(latency_us, std::memory_order_relaxed);
}

std::string RenderMetrics(const std::vector<const WorkerMetrics*>& workers,
                          const ObjectStore& store) {
  std::string out;
  char line[256];
  out += "# HELP kumo_cache_requests_total Requests answered, by method and status code.\n";
  out += "# TYPE kumo_cache_requests_total counter\n";
  for (int m = 0; m < 5; ++m) {
    for (size_t c = 0; c < kStatusCodes.size(); ++c) {
      uint64_t n = 0;
      for (const WorkerMetrics* w : workers) n += Load(w->requests[m][c]);
      if (n == 0) continue;
      std::string code = kStatusCodes[c] == 0 ? "other" : std::to_string(kStatusCodes[c]);
      std::snprintf(line, sizeof line,
                    "kumo_cache_requests_total{method=\"%s\",code=\"%s\"} %llu\n", kMethodNames[m],
                    code.c_str(), static_cast<unsigned long long>(n));
      out += line;
    }
  }
  auto counter = [&](const char* name, const char* help, auto field) {
    uint64_t n = 0;
    for (const WorkerMetrics* w : workers) n += Load(w->*field);
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
                  name, static_cast<unsigned long long>(n));
    out += line;
  };
  counter("kumo_cache_received_bytes_total", "Bytes read from clients.", &WorkerMetrics::bytes_in);
  counter("kumo_cache_sent_bytes_total", "Bytes written to clients.", &WorkerMetrics::bytes_out);
  counter("kumo_cache_hits_total", "GET/HEAD of a resident object.", &WorkerMetrics::hits);
  counter("kumo_cache_misses_total", "GET/HEAD of an absent object.", &WorkerMetrics::misses);
  counter("kumo_cache_connections_total", "Connections accepted.",
          &WorkerMetrics::connections_accepted);
  std::snprintf(line, sizeof line,
                "# HELP kumo_cache_evictions_total Objects evicted for room.\n"
                "# TYPE kumo_cache_evictions_total counter\nkumo_cache_evictions_total %llu\n",
                static_cast<unsigned long long>(store.evictions()));
  out += line;
  std::snprintf(line, sizeof line,
                "# TYPE kumo_cache_used_bytes gauge\nkumo_cache_used_bytes %llu\n"
                "# TYPE kumo_cache_capacity_bytes gauge\nkumo_cache_capacity_bytes %llu\n"
                "# TYPE kumo_cache_objects gauge\nkumo_cache_objects %zu\n",
                static_cast<unsigned long long>(store.used_bytes()),
                static_cast<unsigned long long>(store.capacity_bytes()), store.object_count());
  out += line;
  out += "# HELP kumo_cache_request_duration_seconds From request head parsed to response sent.\n";
  out += "# TYPE kumo_cache_request_duration_seconds histogram\n";
  uint64_t cumulative = 0, sum_us = 0;
  for (const WorkerMetrics* w : workers) sum_us += Load(w->latency_sum_us);
  for (size_t b = 0; b <= kLatencyBoundsUs.size(); ++b) {
    for (const WorkerMetrics* w : workers) cumulative += Load(w->latency_buckets[b]);
    if (b < kLatencyBoundsUs.size())
      std::snprintf(line, sizeof line,
                    "kumo_cache_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    static_cast<double>(kLatencyBoundsUs[b]) / 1e6,
                    static_cast<unsigned long long>(cumulative));
    else
      std::snprintf(line, sizeof line,
                    "kumo_cache_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "kumo_cache_request_duration_seconds_sum %.6f\n"
                    "kumo_cache_request_duration_seconds_count %llu\n",
                    static_cast<unsigned long long>(cumulative), static_cast<double>(sum_us) / 1e6,
                    static_cast<unsigned long long>(cumulative));
    out += line;
  }
  return out;
}

}  // namespace kumo::cache
