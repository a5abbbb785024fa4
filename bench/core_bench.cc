// One scheduling pass over a generated cluster; prints one JSON object.
// Usage: core_bench --nodes N [--pending-pods P] [--seed S] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/scheduler.h"
#include "workload/synthetic.h"

int main(int argc, char** argv) {
  int64_t nodes = 10000, pending = -1, repeat = 5;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int64_t v = std::atoll(argv[i + 1]);
    if (a == "--nodes")
      nodes = v;
    else if (a == "--pending-pods")
      pending = v;
    else if (a == "--seed")
      seed = static_cast<uint64_t>(v);
    else if (a == "--repeat")
      repeat = v;
    else {
      std::fprintf(stderr, "core_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (pending < 0) pending = 2 * nodes;
  kumo::workload::ClusterShape shape;
  shape.nodes = static_cast<int32_t>(nodes);
  kumo::core::Snapshot snap = kumo::workload::MakeCluster(shape);
  kumo::workload::WorkloadShape w;
  w.seed = seed;
  w.pending_pods = static_cast<int32_t>(pending);
  w.projects = 64;
  int64_t pods = kumo::workload::AddWorkload(snap, w);
  auto scheduler = kumo::core::Scheduler::Create({});
  if (!scheduler) return 1;
  std::vector<double> secs;
  int64_t placed = 0, started_jobs = 0, reservations = 0;
  for (int64_t r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto d = scheduler->Schedule(snap);
    auto t1 = std::chrono::steady_clock::now();
    if (!d) {
      std::fprintf(stderr, "core_bench: %s\n", d.error().message().c_str());
      return 1;
    }
    secs.push_back(std::chrono::duration<double>(t1 - t0).count());
    placed = 0;
    for (const auto& s : d->starts) placed += static_cast<int64_t>(s.tasks.size());
    started_jobs = static_cast<int64_t>(d->starts.size());
    reservations = static_cast<int64_t>(d->reservations.size());
  }
  std::sort(secs.begin(), secs.end());
  double median = secs[secs.size() / 2];
  std::printf(
      "{\"nodes\":%lld,\"gpus\":%lld,\"pending_pods\":%lld,\"placed_pods\":%lld,\"started_jobs\":%"
      "lld,"
      "\"reservations\":%lld,\"pass_seconds_median\":%.6f,\"pass_seconds_min\":%.6f,\"repeats\":%"
      "lld,"
      "\"pods_per_second\":%.0f,\"seconds_per_placed_pod\":%.3e}\n",
      static_cast<long long>(nodes), static_cast<long long>(nodes * shape.gpus_per_node),
      static_cast<long long>(pods), static_cast<long long>(placed),
      static_cast<long long>(started_jobs), static_cast<long long>(reservations), median,
      secs.front(), static_cast<long long>(repeat), placed / median,
      median / std::max<int64_t>(placed, 1));
  return 0;
}
