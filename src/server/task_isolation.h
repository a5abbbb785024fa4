// The isolation of a job's next attempt (issue #12; docs/security.md): who its tasks run as and
// what of this machine's disk they see. The policy is executor/task_identity.h's; this applies
// it to the server's records and directories.
#pragma once

#include <string>

#include "base/status.h"
#include "executor/executor.h"
#include "server/records.h"
#include "server/server_state.h"

namespace kumo::server {

// Isolation off: {enabled = false}. On: the job's user's Unix account when config.isolation
// names one, else a uid of the range for the job's whole life (the owner of its checkpoint dir
// if it already has one, never one a running job holds); the data dir (or its unsearchable
// ancestor) hidden; `output_dir`, `checkpoint_dir` and the job's own code snapshot copy
// writable; each pinned dataset's tree (job_datasets.h) bound read-only at its mountPath.
// Records the uid in job.task_uid.
// REQUIRES: state.mu held; output_dir and checkpoint_dir exist.
Result<executor::TaskIsolation> IsolationForAttempt(ServerState& state, JobRec& job,
                                                    const std::string& output_dir,
                                                    const std::string& checkpoint_dir);

}  // namespace kumo::server
