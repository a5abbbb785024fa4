// PodStatus: a Pod object -> the executor's TaskStatus, the same lifecycle the local executor
// reports, so retries, requeues and Results read alike on both.
//
//   pod                                              TaskStatus
//   Pending, Running (also while being deleted)      kRunning
//   Pending, container waiting ErrImagePull,          kExited 127 (as a command that cannot
//     ImagePullBackOff, InvalidImageName,               start locally), reason = the waiting
//     ErrImageNeverPull, CreateContainerConfigError     reason: a failure, retried by the job
//   Succeeded                                        kExited 0
//   Failed, container terminated with code c         kExited c; c > 128 is 128 + signal, as a
//                                                      shell reports it: term_signal = c - 128
//   Failed, terminated reason OOMKilled              kExited 137, term_signal 9, "OOMKilled"
//   Failed, status.reason Evicted / NodeLost /       kLost (the node or kubelet ended it, not the
//     Shutdown / NodeShutdown / Terminated             task: the job is requeued, no failure)
//   deleted before it ended, or gone                 kLost
//   on a node NotReady longer than the grace         kLost, reason "NodeNotReady"
//     (the caller decides; `node_lost`)
#pragma once

#include <nlohmann/json.hpp>

#include "executor/executor.h"

namespace kumo::executor::kube {

// `pod` may be a tombstone (the last state of a deleted pod): `deleted` says so.
TaskStatus StatusOfPod(const nlohmann::json& pod, bool deleted, bool node_lost);

}  // namespace kumo::executor::kube
