// Traces for the simulator: a cluster (nodes, topology, projects) and a stream of jobs.
//
// Readers for the real traces in ../shared/traces (Philly multi-GPU subset, Alibaba openb 2023)
// and a seeded synthetic generator. Traces carry no users or queues where the source has none:
// they are assigned by documented, seeded rules (see docs/evaluation.md). Invalid rows are
// counted and reported with their line numbers, never silently dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/snapshot.h"
#include "base/status.h"

namespace kumo::sim {

struct SimJob {
  std::string id;
  core::Seconds submit = 0;    // arrival (after any load scaling)
  core::Seconds duration = 1;  // work to do, in seconds of running
  std::vector<core::TaskGroup> groups;
  std::string project;
  std::string user;
  int32_t priority = 0;
  // Checkpoint model: a checkpointable job saves every checkpoint_interval seconds of running;
  // when preempted it loses the work since its last save; every restart costs restart_overhead.
  bool checkpointable = false;
  core::Seconds checkpoint_interval = 1800;
  // What the user declared as maxRuntime (the backfill estimate); kNever when none.
  core::Seconds max_runtime = core::kNever;
  int64_t GpuMilli() const;  // total over tasks
};

struct InvalidRow {
  std::string file;
  int line = 0;
  std::string reason;
};

struct Trace {
  std::string name;
  std::vector<std::string> topology_levels;
  std::vector<core::Node> nodes;
  std::vector<core::Project> projects;
  std::vector<SimJob> jobs;  // sorted by submit time, then id
  int64_t rows_read = 0;
  std::vector<InvalidRow> invalid;
  int64_t GpuCapacityMilli() const;
};

// Where the real traces live relative to the repository (../shared/traces); overridable.
std::string DefaultTraceDir();

struct TopologyOptions {
  int32_t nodes_per_leaf = 16;
  int32_t leaves_per_spine = 8;
};

// By submit time, then id (the order Trace::jobs keeps).
void SortJobs(std::vector<SimJob>& jobs);

// Leaves of nodes_per_leaf consecutive nodes (in list order), spines of leaves_per_spine leaves:
// node.topology = {"spine-NNN", "leaf-NNNN"} (levels "spine", "leaf").
void AssignTopology(std::vector<core::Node>& nodes, const TopologyOptions& t);

// Runtime estimate model (what users write as maxRuntime): the true duration times a factor
// drawn uniformly from [1, max_overestimate], rounded up to a whole hour. Deterministic per job
// id and seed. max_overestimate <= 0 disables estimates (maxRuntime = none).
struct EstimateModel {
  double max_overestimate = 3.0;
  core::Seconds round_to = 3600;
  uint64_t seed = 7;
};

struct PhillyOptions {
  std::string jobs_csv;                 // philly_ge4gpu_pass_jobs.csv
  std::string machines_csv;             // philly_cluster_machine_list.csv
  std::string vc_csv;                   // philly_vc_nodes_HeliosArtifact.csv ("" = one queue)
  bool eight_gpu_machines_only = true;  // the multi-GPU subset runs on the 8-GPU machines
  TopologyOptions topology;
  EstimateModel estimates;
  uint64_t seed = 1;  // queue and user assignment
  double checkpointable_fraction = 1.0;
};
Result<Trace> ReadPhilly(const PhillyOptions& opt);

struct OpenbOptions {
  std::string pods_csv;   // openb_pod_list_*.csv
  std::string nodes_csv;  // openb_node_list_all_node.csv
  TopologyOptions topology;
  EstimateModel estimates;
  uint64_t seed = 1;
  int32_t projects = 8;  // openb has no queues: pods are assigned to this many projects
  double checkpointable_fraction = 0.0;  // inference/notebook-like pods mostly do not checkpoint
};
Result<Trace> ReadOpenb(const OpenbOptions& opt);

struct SyntheticOptions {
  uint64_t seed = 1;
  int32_t nodes = 64;
  int32_t gpus_per_node = 8;
  int32_t jobs = 2000;
  double arrivals_per_hour = 60;
  // Gang sizes in GPUs and their weights.
  std::vector<int32_t> gang_gpus = {1, 2, 4, 8, 16, 32};
  std::vector<double> gang_weights = {0.4, 0.15, 0.15, 0.15, 0.1, 0.05};
  double duration_log_mean = 8.0;  // lognormal durations: exp(N(mu, sigma)) seconds
  double duration_log_sigma = 1.5;
  int32_t projects = 4;
  std::vector<double> project_weights = {1, 1, 2, 4};
  double high_priority_fraction = 0.1;
  double checkpointable_fraction = 0.7;
  TopologyOptions topology;
  EstimateModel estimates;
};
Trace MakeSyntheticTrace(const SyntheticOptions& opt);

// Keeps about `fraction` of the nodes (every k-th node of each GPU model and size, so the model mix
// is kept) and lays the topology out again. For traces too light to load their own cluster: the
// openb pods ask for ~1.05x the cluster's GPUs in all, so no arrival compression reaches 1.2.
void ShrinkCluster(Trace& t, double fraction, const TopologyOptions& topology);

// Offered load: sum over jobs of gpus x min(duration, arrival span), over GPU capacity x arrival
// span. (Clipping each job to the window keeps months-long services from dominating.)
double OfferedLoad(const Trace& t);
// Scales inter-arrival gaps by one factor so that OfferedLoad == target (first arrival at 0).
// A trace whose load cannot reach the target (e.g. all jobs longer than any window) is left as is,
// and the answer is false.
bool ScaleToLoad(Trace& t, double target);
// The most any compression of arrivals gives: every job clipped to a vanishing window.
double MaxOfferedLoad(const Trace& t);

}  // namespace kumo::sim
