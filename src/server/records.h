// The control plane's in-memory records: jobs with their current attempt's tasks, users,
// projects, priority classes. They are the server's state (ServerState holds them under its
// mutex) and what the job store reads and writes; plain data and two small helpers.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/job_spec.h"
#include "core/snapshot.h"
#include "executor/executor.h"
#include "server/job_state.h"

namespace kumo::server {

struct PriorityClass {
  std::string name;
  int32_t value = 0;
  bool preemptible = true;  // may be chosen as a victim
  bool admin_only = false;  // only an admin may submit with it (`system`)
};

// The class called `name` in `classes`, or nullptr: the one lookup, for the API's check of a
// submission and for translate (which must not see ServerState).
inline const PriorityClass* FindPriorityClass(const std::vector<PriorityClass>& classes,
                                              const std::string& name) {
  for (const auto& pc : classes)
    if (pc.name == name) return &pc;
  return nullptr;
}

// A task of a job's current attempt.
struct TaskRec {
  int32_t rank = 0, group = 0, replica = 0;  // group: index into spec.task_groups
  std::string node;
  std::vector<core::GpuShare> gpus;
  executor::TaskHandle handle;
  TaskState state = TaskState::kRunning;
  int exit_code = 0, term_signal = 0;
};

// A job's name as an event's object: "job/12".
inline std::string JobObjectName(int64_t job_id) { return "job/" + std::to_string(job_id); }

struct JobRec {
  int64_t id = 0;
  std::string project, user, name, spec_yaml, spec_sha256, submit_dir, idempotency_key;
  nlohmann::json code_version;
  uint64_t seed = 0;
  double submit_time = 0;  // seconds since the epoch, as every time below
  api::JobSpec spec;
  JobPhase phase = JobPhase::kPending;
  std::string reason, message;
  int32_t attempt = 0, failures = 0;
  double not_before = 0, start_time = 0, end_time = 0;
  bool cancel_requested = false;
  bool durable = false;  // its submission has committed (the loop ignores it until then)
  // Its start is being made: tasks spawning, or the start not yet committed. Readers see it
  // Pending until then (a client that saw Running finds the attempt after a kill -9).
  bool launching = false;
  // Current attempt.
  std::vector<TaskRec> tasks;
  // Why it is Terminating: the outcome its attempt ends with once its tasks are gone. Stored
  // as the job's reason (BeginTermination sets both) and parsed back from it on load.
  AttemptOutcome terminate_reason = AttemptOutcome::kFailed;
  std::string terminate_message;
  double kill_at = 0;
  bool nominated = false;
  std::vector<core::TaskPlacement> reservation;
  std::unique_ptr<core::Job> core_job;  // cache for the loop's CoreJob (specs are immutable)
  std::string core_invalid;
  int64_t queue_position = 0;  // 1-based position in the last pass's order; 0 when not pending
  uid_t task_uid = 0;  // the uid its tasks run as (isolation on); 0: not known yet
  // Non-empty: its stored spec has a form this kumo no longer runs (job_datasets.h, legacy
  // datasets); loaded for its history, and ended at start-up if still live.
  std::string spec_unsupported;
  // GPU-seconds attained over all its attempts, as of the loop's last tick (LAS ranks by it;
  // server/attained_service.h keeps it across restarts).
  double attained_gpu_s = 0;
};

// A bearer token, known by its SHA-256 (the token itself is never stored).
struct TokenRec {
  std::string user;
  double expires_at = 0;  // seconds since the epoch; 0: never
};

struct UserRec {
  std::string name;
  bool admin = false;
  std::set<std::string> projects;
};

struct ProjectRec {
  std::string name;
  double weight = 1;
  int64_t guaranteed_gpu_milli = 0;
  int64_t max_gpu_milli = -1;  // -1: none
  // The classes its members may submit with; empty: every class that is not admin_only. An
  // admin may submit with any class; nobody else with an admin_only one.
  std::vector<std::string> priority_classes;
};

}  // namespace kumo::server
