#include "workload/demo.h"

#include "workload/synthetic.h"

namespace kumo::workload {

using core::Job;
using core::JobPhase;
using core::ResourceVector;

namespace {

Job Gang(std::string id, std::string project, int32_t replicas, int32_t gpus_each,
         core::Seconds submit, core::Seconds max_runtime) {
  Job j;
  j.id = std::move(id);
  j.project = std::move(project);
  j.user = "alice";
  j.submit_time = submit;
  j.max_runtime = max_runtime;
  core::TaskGroup g;
  g.name = "worker";
  g.replicas = replicas;
  g.resources =
      ResourceVector::Of(gpus_each * 8000LL, gpus_each * (32LL << 30), gpus_each * 1000LL);
  j.groups.push_back(g);
  return j;
}

Job Running(std::string id, std::string project, const std::string& node, int32_t first_gpu,
            int32_t gpus, core::Seconds start, core::Seconds max_runtime) {
  Job j = Gang(std::move(id), std::move(project), 1, gpus, start - 10, max_runtime);
  j.phase = JobPhase::kRunning;
  j.start_time = start;
  core::TaskPlacement tp;
  tp.node = node;
  for (int32_t d = first_gpu; d < first_gpu + gpus; ++d) tp.gpus.push_back(core::GpuShare{d, 1000});
  j.placements.push_back(tp);
  return j;
}

}  // namespace

core::Snapshot DemoSnapshot() {
  ClusterShape shape;
  shape.nodes = 8;  // 2 leaves x 4 nodes x 8 GPUs = 64 GPUs
  shape.nodes_per_leaf = 4;
  shape.leaves_per_spine = 2;
  core::Snapshot s = MakeCluster(shape);
  s.now = 1000;
  core::Project vision{"vision", 2.0, ResourceVector::Of(0, 0, 40'000),
                       ResourceVector::Filled(core::kUnlimited)};
  core::Project nlp{"nlp", 1.0, ResourceVector::Of(0, 0, 16'000),
                    ResourceVector::Filled(core::kUnlimited)};
  core::Project speech{"speech", 1.0, ResourceVector::Of(0, 0, 0),
                       ResourceVector::Filled(core::kUnlimited)};
  speech.max[core::kGpu] = 8'000;
  s.projects = {vision, nlp, speech};

  // Running. nlp (guaranteed 16 GPUs) runs 24: it borrows 8. speech (no guarantee) runs 6.
  s.jobs.push_back(Running("nlp-sweep-1", "nlp", "node-00000", 0, 8, 100, 7200));
  s.jobs.push_back(Running("nlp-sweep-2", "nlp", "node-00001", 0, 8, 200, 7200));
  s.jobs.push_back(Running("nlp-sweep-3", "nlp", "node-00002", 0, 8, 300, 7200));
  s.jobs.push_back(Running("speech-asr", "speech", "node-00003", 4, 4, 400, 3600));
  s.jobs.push_back(Running("speech-tts", "speech", "node-00004", 0, 2, 500, 3600));
  s.jobs.push_back(Running("vision-base", "vision", "node-00005", 0, 8, 50, 36000));
  s.jobs.push_back(Running("vision-aug", "vision", "node-00006", 0, 6, 60, 36000));

  // Pending.
  Job urgent = Gang("vision-urgent", "vision", 2, 8, 990, 3600);  // preempts speech-tts
  urgent.priority = 100;
  urgent.topology = {"leaf", core::TopologyConstraint::Mode::kRequired};
  s.jobs.push_back(urgent);
  s.jobs.push_back(Gang("vision-train", "vision", 1, 8, 900, 7200));  // reclaims from nlp
  Job notebook = Gang("vision-notebook", "vision", 1, 1, 940, 3600);  // half a GPU: starts
  notebook.groups[0].resources = ResourceVector::Of(2000, 8LL << 30, 500);
  s.jobs.push_back(notebook);
  s.jobs.push_back(Gang("speech-more", "speech", 1, 4, 970, 600));  // over max quota
  Job a100 = Gang("vision-a100", "vision", 1, 1, 980, 600);
  a100.groups[0].gpu_models = {"A100"};  // no such GPU here
  s.jobs.push_back(a100);
  s.jobs.push_back(Gang("nlp-big", "nlp", 4, 8, 950, 7200));    // gets the reservation
  s.jobs.push_back(Gang("nlp-long", "nlp", 1, 4, 985, 36000));  // would delay nlp-big
  s.jobs.push_back(Gang("nlp-quick", "nlp", 1, 1, 986, 900));   // backfills: ends in time
  return s;
}

}  // namespace kumo::workload
