// JobSpec: a job as a user declares it (`apiVersion: kumo/v1`, `kind: Job`), parsed and
// validated from YAML (JSON is accepted too: it is YAML).
//
// Contract:
//  - ParseJobSpec never throws. Bad input gives Status::InvalidArgument whose message names the
//    field path and the YAML line, e.g.
//      "line 14: spec.taskGroups[0].resources.gpu: must be a whole number of GPUs or a share
//       below 1 (got \"1.5\")"
//    The first error found is reported (in document order; a mapping's missing required fields
//    after its present ones; checks across fields, like gang.minAvailable against the total tasks,
//    last). Unknown fields are errors ("unknown field"), so are wrong
//    types, missing required fields, negative or out-of-range values.
//  - Quantities are converted to the core's units here: cpu in milli-cores ("4", "0.5", "500m"),
//    memory in bytes ("2Gi", "512Mi", "1G", "1000"), GPUs in milli-GPU ("2" -> 2000 whole GPUs,
//    "0.5" or "500m" -> 500, a share of one GPU), durations in seconds ("90", "90s", "30m",
//    "2h", "1h30m", "1d").
//  - Typing: integers must be plain integers (`replicas: 2`; not `2.0`, `1.5` or the quoted string
//    "2"); string fields take any scalar as written (`team: 1` is the label value "1"); a null
//    value
//    (`env:` with nothing after it) means the field is absent, as in Kubernetes. Duplicate keys in
//    one mapping are errors. Exactly one YAML document (empty `---` documents are ignored).
//  - Label keys and values (metadata.labels, spec.nodeSelector) follow Kubernetes' label syntax,
//    since node selectors match node labels. Extended resource names are label keys too.
//  - retry.maxBackoff, when not given, is raised to retry.backoff if that is larger (a cap below
//    the first delay means nothing); given explicitly below backoff it is an error.
//  - checkpoint.signal cannot be SIGKILL or SIGSTOP: the task could not catch it to checkpoint.
//  - Semantic checks that need server state (does the project exist, is the priority class
//    known) are the server's; everything knowable from the text alone is checked here.
//
// Example:
//   apiVersion: kumo/v1
//   kind: Job
//   metadata: {name: ddp-train, labels: {team: vision}, annotations: {example.org/owner: ada}}
//   spec:
//     project: vision
//     priorityClass: normal          # default "normal"
//     seed: 42                       # default: chosen by the server, recorded in the Result
//     gang: {minAvailable: 2}        # default: every task
//     topology: {level: leaf, mode: required}   # mode: required | preferred
//     nodeSelector: {zone: a}
//     tolerations: [{key: dedicated, operator: Equal, value: ml, effect: NoSchedule}]
//     maxRuntime: 2h
//     retry: {backoffLimit: 2, backoff: 10s, maxBackoff: 5m}
//     checkpoint: {enabled: true, intervalSeconds: 1800, signal: SIGTERM, gracePeriod: 30s}
//     datasets: [{name: mnist, version: 3, mountPath: /data/mnist}]   # version: default latest
//     outputs: [model.pt]
//     taskGroups:
//       - name: worker
//         replicas: 2
//         command: ["/usr/bin/python3", "train.py"]
//         workingDir: /home/me/proj       # default: the submit directory (set by the CLI)
//         image: pytorch/pytorch:2.3.0     # Kubernetes executor only (required there)
//         env: {FOO: bar}
//         resources: {cpu: 1, memory: 2Gi, gpu: 4, gpuModels: [A100], extended: {rdma: 1}}
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace kumo::api {

struct ResourceRequest {
  int64_t cpu_millis = 1000;                // default one core
  int64_t memory_bytes = int64_t{1} << 30;  // default 1 GiB
  int64_t gpu_milli = 0;  // multiple of 1000 (whole GPUs) or 1..999 (share of one GPU)
  std::vector<std::string> gpu_models;      // acceptable models; empty = any
  std::map<std::string, int64_t> extended;  // whole units of named devices
};

struct TaskGroupSpec {
  std::string name;                        // [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 chars, unique
  int32_t replicas = 1;                    // 1..4096
  std::vector<std::string> command;        // argv; required, non-empty
  std::string working_dir;                 // empty: the server uses the submit directory
  // Container image, e.g. "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime": required by the
  // Kubernetes executor (each task is a pod), ignored by the local one. Empty: none given.
  std::string image;
  std::map<std::string, std::string> env;  // names [A-Za-z_][A-Za-z0-9_]*; KUMO_*/RANK/... reserved
  ResourceRequest resources;
};

struct TopologySpec {
  std::string level;      // e.g. "leaf", "spine", "node"; empty = no constraint
  bool required = false;  // false: preferred
};

struct TolerationSpec {
  std::string key;
  std::string op = "Equal";  // "Equal" | "Exists"
  std::string value;
  std::string effect;  // "" (all) | "NoSchedule" | "PreferNoSchedule" | "NoExecute"
};

struct RetrySpec {
  int32_t backoff_limit = 0;    // retries after a failed attempt (0..100)
  int64_t backoff_s = 10;       // delay before the first retry; doubled after each failure
  int64_t max_backoff_s = 300;  // cap on the delay
};

struct CheckpointSpec {
  // Whether the job saves its state to KUMO_CHECKPOINT_DIR and resumes from it. false (the
  // default, and what an absent `checkpoint` means): a requeued attempt restarts from zero, so
  // the scheduler never moves the job to defragment and preempts it only for priority or quota.
  bool enabled = false;
  std::optional<int64_t> interval_s;  // how often it saves, seconds (1..); unset: not said
  int signal = 15;              // sent on preemption/cancel (SIGTERM default; names like SIGUSR1)
  int64_t grace_period_s = 30;  // then SIGKILL (0..3600)
};

// A dataset version the job reads (docs/datasets.md). The server pins `version` at submit (the
// latest then, when omitted) and records the pinned version's manifest digest.
struct DatasetRef {
  std::string name;        // "mnist": a dataset of the server's registry; required
  int64_t version = 0;     // >= 1; 0: not given (the server pins the latest at submit)
  std::string mount_path;  // absolute, no "."/".." segments: where the task reads it; required
  std::string digest;      // set by the server when it pins the version: "sha256:..."
};

struct JobSpec {
  std::string name;  // metadata.name: optional, DNS-label rules as task group names
  std::map<std::string, std::string> labels;
  // Kubernetes-style annotations (keys: label-key syntax, values: any string); the Kubernetes
  // executor puts them on every pod of the job, the local one ignores them.
  std::map<std::string, std::string> annotations;
  std::string project;  // required
  std::string priority_class = "normal";
  std::optional<int32_t> min_available;    // unset: every task (must be <= total tasks, >= 1)
  std::vector<TaskGroupSpec> task_groups;  // at least one
  TopologySpec topology;
  std::map<std::string, std::string> node_selector;
  std::vector<TolerationSpec> tolerations;
  std::optional<int64_t> max_runtime_s;  // > 0
  RetrySpec retry;
  CheckpointSpec checkpoint;
  std::optional<uint64_t> seed;
  std::vector<DatasetRef> datasets;
  std::vector<std::string> outputs;  // paths relative to KUMO_OUTPUT_DIR, recorded in the Result

  int32_t TotalTasks() const;
  // Milli-GPUs the whole gang holds when running: every replica of every group.
  int64_t TotalGpuMilli() const;
};

inline constexpr std::string_view kJobApiVersion = "kumo/v1";
inline constexpr size_t kMaxJobSpecBytes = size_t{1} << 20;
inline constexpr int32_t kMaxReplicas = 4096;

// Parses and validates one Job document. Size limit: kMaxJobSpecBytes of text.
Result<JobSpec> ParseJobSpec(std::string_view yaml_text);

// The canonical JSON form for API responses: the YAML's camelCase names, quantities in the core's
// units under explicit names ("cpuMillis", "memoryBytes", "gpuMilli", "maxRuntimeSeconds",
// "backoffSeconds", "gracePeriodSeconds"; "signal" as a number). Every field is present, with its
// default when the YAML left it out, except the optional ones that are unset (metadata.name when
// empty, spec.seed, spec.gang, spec.maxRuntimeSeconds), which are omitted.
nlohmann::json JobSpecToJson(const JobSpec& spec);

// Signal number from "SIGTERM", "TERM", "15" (1..64); nullopt when unknown. Names are upper case.
std::optional<int> ParseSignal(std::string_view name);
// The job spec's quantities, for config files too: base/quantity.h's grammar (Kubernetes'
// meaning of k M G T P E and Ki Mi Gi Ti Pi Ei), nullopt on error. Zero is accepted (the caller
// decides whether it makes sense). cpu: milli-units ("2", "0.5", "500m"). memory: bytes ("1.5Gi",
// "1G"). gpu: as cpu, but only whole GPUs (multiples of 1000) or a share 1..999 of one GPU.
// durations: seconds ("90", "1d2h30m15s").
std::optional<int64_t> ParseCpuMillis(std::string_view text);
std::optional<int64_t> ParseMemoryBytes(std::string_view text);
std::optional<int64_t> ParseGpuMilli(std::string_view text);
std::optional<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace kumo::api
