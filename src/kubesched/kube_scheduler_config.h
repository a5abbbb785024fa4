// KubeSchedulerConfig: how `kumo kube-scheduler` is set up (flags over a YAML file over these
// defaults). docs/kubernetes.md, "Drop-in scheduler mode", is the user's account.
//
//   projects:                    # one per namespace; others weigh 1, no quota
//   - namespace: team-a          # or `name:`
//     weight: 2                  # fair-share weight (> 0)
//     quota: {guaranteedGpus: 8, maxGpus: 16}
//   policy:                      # the `policy:` section of `kumo server --config`, same reader:
//     placement: binpack         # queueOrder, placement, backfill, backfillDepth, ageing;
//     backfill: easy             # las, minRuntime, history, estimates are refused (a foreign
//     preemption: true           # pod has no attained service); true = priority + reclaim
//   gpuResource: nvidia.com/gpu
//   extendedResources: [rdma/hca]
//   bindWorkers: 16              # API calls in flight (threads, each on a kept-alive connection)
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "core/scheduler.h"
#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {

struct KubeSchedulerConfig {
  std::string kubeconfig;  // empty: the pod's service account
  ViewOptions view;        // scheduler name, namespaces, cluster options, projects
  core::SchedulerConfig scheduler = DefaultSchedulerConfig();
  int32_t bind_workers = 16;
  // The least gap between passes (see kube_scheduler.h). A pass over 8,000 bound pods and a few
  // new ones takes ~25 ms; with 20 ms, a stream of pod events kept kumo at half a core, which the
  // API server creating and binding those pods on the same machine then lacked. At 100 ms a
  // binding waits at most that much longer, and the batch is bigger.
  double min_pass_interval_s = 0.1;
  double max_pass_interval_s = 1.0;   // at least one pass per this interval
  int64_t notice_interval_s = 60;     // a waiting pod is told at most once per this, on change
  double sync_timeout_s = 60;         // the first lists of the watches

  // Moving a pod kumo did not create means deleting it (its owner may never recreate it), so
  // the defragmenting moves of `kumo server` are off here: only priority and quota reclaim.
  static core::SchedulerConfig DefaultSchedulerConfig() {
    core::SchedulerConfig c;
    c.preemption = {"priority", "reclaim"};
    return c;
  }
};

// Reads `path` over `base`; errors name the file, line and field (base/yaml_error.h).
Result<KubeSchedulerConfig> LoadKubeSchedulerConfig(const std::string& path, KubeSchedulerConfig base);

}  // namespace kumo::kubesched
