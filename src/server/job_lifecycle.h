// Job lifecycle: the two transitions that both the scheduling loop and the API (a drain) or the
// start-up reconciliation make. Each changes the job, signals its tasks through the executor
// and queues the writes recording it (ServerState::SaveJob, AddEvent).
//
// Outcomes (AttemptOutcome, server/job_state.h; its word is also the job's `reason`): Succeeded,
// Cancelled; Preempted, NodeDrained, Lost (the job is requeued, not counted as a failure);
// Failed, DeadlineExceeded, LaunchFailed (counted; retried with exponential backoff up to
// spec.retry.backoffLimit, DeadlineExceeded never).
//
// REQUIRES (both transitions): state.mu held; `now` in seconds since the epoch.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/records.h"
#include "server/server_state.h"

namespace kumo::server {

// How a task of `job` shows in the API and in Result records: rank, group (by name), replica,
// node, gpus, state, exitCode. The caller adds what its reader needs (pid and run dir; signal).
nlohmann::json TaskJson(const JobRec& job, const TaskRec& task);

// Running -> Terminating: the checkpoint signal now (graceful) or SIGKILL, and SIGKILL to
// whatever is left once spec.checkpoint.gracePeriod has passed (the loop's AdvanceJob).
void BeginTermination(ServerState& state, JobRec& job, AttemptOutcome reason,
                      const std::string& message, double now, bool graceful);

// Ends the current attempt with `outcome` (a cancel requested meanwhile wins over everything
// but Succeeded): records its Result, kills what is left of its tasks and moves the job to
// Succeeded, Cancelled, Failed, or Pending (requeued or retrying).
void FinishAttempt(ServerState& state, JobRec& job, double now, AttemptOutcome outcome,
                   const std::string& why);

}  // namespace kumo::server
