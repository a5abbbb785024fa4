// Job phases and task states of the control plane, as types.
//
// The strings ("Pending", "running", ...) are the API's and the store's words; they appear only
// where a state crosses that boundary (ToString when writing JSON or a row, Parse when reading a
// row back). Inside the server every comparison is between enumerators.
//
//   Pending ──start──► Running ──stop──► Terminating
//    │  ▲                 │                  │
//    │  └─requeue/retry───┴──────────────────┤
//    │                    │                  │
//    │                    ├──► Succeeded     │
//    │                    ├──► Failed ◄──────┤
//    │                    └──► Cancelled ◄───┘
//    └───────────────────────► Cancelled          (Succeeded, Failed, Cancelled: terminal)
//
//   stop:              a task failed or was lost, a cancel, the deadline, a preemption, a drain
//                      (BeginTermination: the checkpoint signal, SIGKILL after the grace period).
//   out of Running:    every task exited 0: Succeeded. The launch failed (LaunchFailed), or at
//                      start-up reconciliation no task was recorded (Lost): Pending to retry or
//                      requeue, Failed once retries are exhausted, Cancelled if one was asked.
//   out of Terminating: once no task runs, by its reason: Pending (requeued, or retried after
//                      a backoff), Failed or Cancelled; never Succeeded.
//   Pending -> Cancelled: cancelled before it started (the loop's AdvanceJob).
// Every arrow out of Running or Terminating but "stop" is FinishAttempt (job_lifecycle.h).
#pragma once

#include <optional>
#include <string_view>

namespace kumo::server {

enum class JobPhase { kPending, kRunning, kTerminating, kSucceeded, kFailed, kCancelled };

// A task of the current attempt: its shim is alive (kRunning), it ended with a status
// (kExited), or it vanished without one (kLost).
enum class TaskState { kRunning, kExited, kLost };

// How an attempt ended, or why it is being ended (a Terminating job's reason); it decides the
// job's next phase (FinishAttempt): Succeeded and Cancelled end the job; Preempted, NodeDrained
// and Lost requeue it without counting a failure; Failed, DeadlineExceeded and LaunchFailed
// count one and retry after a backoff (DeadlineExceeded never retries).
enum class AttemptOutcome {
  kSucceeded,
  kCancelled,
  kPreempted,
  kNodeDrained,
  kLost,
  kFailed,
  kDeadlineExceeded,
  kLaunchFailed,
};

// "Pending", "Running", "Terminating", "Succeeded", "Failed", "Cancelled".
std::string_view ToString(JobPhase phase);
// "running", "exited", "lost".
std::string_view ToString(TaskState state);
// "Succeeded", "Cancelled", "Preempted", "NodeDrained", "Lost", "Failed", "DeadlineExceeded",
// "LaunchFailed": the words of events, Result records and a job's stored reason.
std::string_view ToString(AttemptOutcome outcome);
// The inverse of ToString; std::nullopt for any other text (matched exactly, case included).
std::optional<JobPhase> ParseJobPhase(std::string_view text);
std::optional<TaskState> ParseTaskState(std::string_view text);
std::optional<AttemptOutcome> ParseAttemptOutcome(std::string_view text);

// Succeeded, Failed or Cancelled: the job will never run again.
inline bool IsTerminal(JobPhase p) {
  return p == JobPhase::kSucceeded || p == JobPhase::kFailed || p == JobPhase::kCancelled;
}
// Running or Terminating: the job's current attempt has tasks that may hold resources.
inline bool HasAttempt(JobPhase p) {
  return p == JobPhase::kRunning || p == JobPhase::kTerminating;
}

}  // namespace kumo::server
