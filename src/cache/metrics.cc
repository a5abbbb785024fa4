#include "cache/metrics.h"

#include "base/prometheus.h"
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
  using prometheus::Type;
  prometheus::TextWriter w;
  w.Family("kumo_cache_requests_total", Type::kCounter,
           "Requests answered, by method and status code.");
  for (int m = 0; m < 5; ++m) {
    for (size_t c = 0; c < kStatusCodes.size(); ++c) {
      uint64_t n = 0;
      for (const WorkerMetrics* wm : workers) n += Load(wm->requests[m][c]);
      if (n == 0) continue;
      std::string code = kStatusCodes[c] == 0 ? "other" : std::to_string(kStatusCodes[c]);
      w.Sample("kumo_cache_requests_total", {{"method", kMethodNames[m]}, {"code", code}},
               static_cast<double>(n));
    }
  }
  auto counter = [&](const char* name, const char* help, auto field) {
    uint64_t n = 0;
    for (const WorkerMetrics* wm : workers) n += Load(wm->*field);
    w.Family(name, Type::kCounter, help);
    w.Sample(name, {}, static_cast<double>(n));
  };
  counter("kumo_cache_received_bytes_total", "Bytes read from clients.", &WorkerMetrics::bytes_in);
  counter("kumo_cache_sent_bytes_total", "Bytes written to clients.", &WorkerMetrics::bytes_out);
  counter("kumo_cache_hits_total", "GET/HEAD of a resident object.", &WorkerMetrics::hits);
  counter("kumo_cache_misses_total", "GET/HEAD of an absent object.", &WorkerMetrics::misses);
  counter("kumo_cache_connections_total", "Connections accepted.",
          &WorkerMetrics::connections_accepted);
  auto one = [&](const char* name, Type type, const char* help, double value) {
    w.Family(name, type, help);
    w.Sample(name, {}, value);
  };
  one("kumo_cache_evictions_total", Type::kCounter, "Objects evicted for room.",
      static_cast<double>(store.evictions()));
  one("kumo_cache_used_bytes", Type::kGauge, "Bytes of resident objects.",
      static_cast<double>(store.used_bytes()));
  one("kumo_cache_capacity_bytes", Type::kGauge, "Bytes the store may hold.",
      static_cast<double>(store.capacity_bytes()));
  one("kumo_cache_objects", Type::kGauge, "Resident objects.",
      static_cast<double>(store.object_count()));
  // The workers' buckets are in microseconds; the exposition's unit is the second.
  prometheus::HistogramValue latency;
  for (uint64_t bound_us : kLatencyBoundsUs)
    latency.bounds.push_back(static_cast<double>(bound_us) / 1e6);
  latency.counts.assign(kLatencyBoundsUs.size() + 1, 0);
  uint64_t sum_us = 0;
  for (const WorkerMetrics* wm : workers) {
    sum_us += Load(wm->latency_sum_us);
    for (size_t b = 0; b <= kLatencyBoundsUs.size(); ++b)
      latency.counts[b] += Load(wm->latency_buckets[b]);
  }
  latency.sum = static_cast<double>(sum_us) / 1e6;
  w.Family("kumo_cache_request_duration_seconds", Type::kHistogram,
           "From request head parsed to response sent.");
  w.Histogram("kumo_cache_request_duration_seconds", {}, latency);
  return w.Take();
}

}  // namespace kumo::cache
