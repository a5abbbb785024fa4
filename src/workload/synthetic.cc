#include "workload/synthetic.h"

#include <algorithm>
#include <cstdio>

namespace kumo::workload {

using core::Job;
using core::JobPhase;
using core::ResourceVector;
using core::Snapshot;

namespace {
std::string Name(const char* prefix, int64_t i, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%0*lld", prefix, width, static_cast<long long>(i));
  return buf;
}
}  // namespace

Snapshot MakeCluster(const ClusterShape& shape) {
  Snapshot snap;
  snap.topology_levels = {"spine", "leaf"};
  snap.nodes.reserve(shape.nodes);
  const int32_t groups = std::max(1, shape.nvlink_groups_per_node);
  for (int32_t i = 0; i < shape.nodes; ++i) {
    core::Node n;
    n.name = Name("node", i, 5);
    n.allocatable = ResourceVector::Of(shape.cpu_millis_per_node, shape.memory_bytes_per_node, 0);
    for (int32_t g = 0; g < shape.gpus_per_node; ++g) {
      int32_t per_group = std::max(1, shape.gpus_per_node / groups);
      n.gpus.push_back(core::Gpu{g, shape.gpu_model, g / per_group});
    }
    int32_t leaf = i / shape.nodes_per_leaf;
    int32_t spine = leaf / shape.leaves_per_spine;
    n.topology = {Name("spine", spine, 3), Name("leaf", leaf, 4)};
    n.labels.push_back(core::Label{"gpu.model", shape.gpu_model});
    snap.nodes.push_back(std::move(n));
  }
  return snap;
}

int64_t AddWorkload(Snapshot& snap, const WorkloadShape& shape) {
  Rng rng(shape.seed);
  const int32_t first_project = static_cast<int32_t>(snap.projects.size());
  for (int32_t p = 0; p < shape.projects; ++p) {
    core::Project proj;
    proj.name = Name("proj", first_project + p, 2);
    proj.weight = static_cast<double>(rng.Uniform(1, 4));
    snap.projects.push_back(std::move(proj));
  }
  auto project_name = [&](int32_t p) { return snap.projects[first_project + p].name; };
  // Running single-node jobs: each node gets a uniform 0..2*busy*G busy GPUs (mean busy*G).
  int64_t running = 0;
  for (const core::Node& n : snap.nodes) {
    const int32_t g = static_cast<int32_t>(n.gpus.size());
    if (g == 0) continue;
    int32_t busy = static_cast<int32_t>(std::min<int64_t>(
        g, rng.Uniform(0, static_cast<int64_t>(2.0 * shape.busy_fraction * g + 0.5))));
    if (busy == 0) continue;
    Job j;
    j.id = Name("run", running++, 6);
    j.project = project_name(static_cast<int32_t>(rng.Uniform(0, shape.projects - 1)));
    j.user = "user-" + std::to_string(rng.Uniform(0, 3));
    j.phase = JobPhase::kRunning;
    j.start_time = -static_cast<core::Seconds>(rng.Uniform(0, 3600));
    j.max_runtime = rng.Uniform(shape.max_runtime_min, shape.max_runtime_max);
    core::TaskGroup tg;
    tg.name = "worker";
    tg.replicas = 1;
    tg.resources = ResourceVector::Of(busy * 8'000LL, busy * (64LL << 30), busy * 1000LL);
    j.groups.push_back(tg);
    core::TaskPlacement tp;
    tp.node = n.name;
    for (int32_t d = 0; d < busy; ++d) tp.gpus.push_back(core::GpuShare{n.gpus[d].index, 1000});
    j.placements.push_back(std::move(tp));
    snap.jobs.push_back(std::move(j));
  }
  // Pending gangs.
  int64_t pods = 0;
  int64_t gang = 0;
  while (pods < shape.pending_pods) {
    int32_t size = static_cast<int32_t>(rng.Uniform(shape.min_gang_pods, shape.max_gang_pods));
    size = static_cast<int32_t>(std::min<int64_t>(size, shape.pending_pods - pods));
    int32_t gpus = shape.gpus_per_pod_choices[rng.Uniform(
        0, static_cast<int64_t>(shape.gpus_per_pod_choices.size()) - 1)];
    Job j;
    j.id = Name("job", gang++, 6);
    j.project = project_name(static_cast<int32_t>(rng.Uniform(0, shape.projects - 1)));
    j.user = "user-" + std::to_string(rng.Uniform(0, 3));
    j.submit_time = gang;
    j.max_runtime = rng.Uniform(shape.max_runtime_min, shape.max_runtime_max);
    j.priority = 0;
    core::TaskGroup tg;
    tg.name = "worker";
    tg.replicas = size;
    tg.resources = ResourceVector::Of(gpus * 8'000LL, gpus * (64LL << 30), gpus * 1000LL);
    j.groups.push_back(tg);
    if (size > 1 && !shape.topology_level.empty()) {
      j.topology.level = shape.topology_level;
      j.topology.mode = shape.topology_mode;
    }
    snap.jobs.push_back(std::move(j));
    pods += size;
  }
  return pods;
}

}  // namespace kumo::workload
