// PodManifest: one task of a gang -> the Pod (and the gang's headless Service) kumo creates.
//
// Pure: TaskLaunch + options in, API objects out; tests compare JSON.
//
//   metadata   name "kumo-job-<id>-a<attempt>-t<rank>" (the task's cgroup name, DNS-safe);
//              labels kumo.dev/job, kumo.dev/attempt, kumo.dev/rank, kumo.dev/gang; annotations:
//              the job's metadata.annotations and kumo.dev/run-dir (how the executor finds the
//              pod from a persisted handle)
//   spec       schedulerName: kumo (no other scheduler touches it; kumo binds it through
//              pods/binding to launch.node); restartPolicy Never (retries are the job's, one
//              attempt = one set of pods); terminationGracePeriodSeconds = the job's grace;
//              hostname = the pod name, subdomain = the gang's Service, so every rank resolves
//              "<rank-0 pod>.<service>.<namespace>.svc" (MASTER_ADDR)
//   container  "task": image, command = argv (the image's working directory: the submit directory
//              is a path on the submitter's machine); resources requests = limits:
//              cpu (milli), memory (bytes), options.gpu_resource (whole GPUs), extended units
//   env        the launch's environment, except what only made sense on the server's machine
//              (PATH, HOME, USER, LOGNAME, TMPDIR: the image has its own; CUDA_VISIBLE_DEVICES:
//              the device plugin picks the devices) and with MASTER_ADDR/MASTER_PORT for the
//              cluster network, LOCAL_RANK 0 (a pod's devices are its own), KUMO_NODE from
//              the downward API (spec.nodeName: the manifest does not depend on the node); paths under the server's data dir (KUMO_CHECKPOINT_DIR,
//              KUMO_OUTPUT_DIR) are rewritten under options.data_mount, where the volume
//              options.data_claim (a PVC) is mounted: the next attempt, on whatever node, finds
//              the same checkpoint directory. Without a claim an emptyDir stands in (a checkpoint
//              then does not outlive the pod; docs/kubernetes.md says so).
//
// The Service ("kumo-job-<id>-a<attempt>", clusterIP None, selector kumo.dev/gang) is owned by
// the rank-0 pod (ownerReferences), so the cluster's garbage collector removes it with the gang.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "executor/executor.h"

namespace kumo::executor::kube {

struct PodOptions {
  std::string namespace_name = "default";
  std::string scheduler_name = "kumo";
  std::string gpu_resource = "nvidia.com/gpu";
  std::string data_dir;                // the server's data dir ("" : no path is rewritten)
  std::string data_mount = "/kumo";    // where the data volume is mounted in every pod
  std::string data_claim;              // PersistentVolumeClaim of the data volume; "" : emptyDir
  int master_port = 29500;             // MASTER_PORT (each pod has its own network namespace)
};

// "kumo-job-12-a1-t0" and "kumo-job-12-a1".
std::string PodName(const TaskLaunch& launch);
std::string GangName(const TaskLaunch& launch);

// Fails (kInvalidArgument) for what a pod cannot express: no image, a GPU share below one
// whole device (nvidia.com/gpu counts devices).
Result<nlohmann::json> PodManifest(const TaskLaunch& launch, const PodOptions& options);
// The gang's headless Service; `owner_pod` is the rank-0 pod as created (its uid).
nlohmann::json ServiceManifest(const TaskLaunch& launch, const nlohmann::json& owner_pod,
                               const PodOptions& options);

}  // namespace kumo::executor::kube
