#include "server/job_lifecycle.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace kumo::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The Result record: how this attempt was made and how it ended.
json ResultRecord(const ServerState& state, const JobRec& job, double now,
                  const std::string& outcome, const std::string& why) {
  json tasks = json::array();
  for (const TaskRec& t : job.tasks) {
    json task = TaskJson(job, t);
    task["signal"] = t.term_signal;
    tasks.push_back(std::move(task));
  }
  json datasets = json::array();
  for (const auto& d : job.spec.datasets)
    datasets.push_back({{"name", d.name}, {"version", d.version}, {"path", d.path}});
  std::string out_dir = state.AttemptDir(job.id, job.attempt) + "/output";
  json outputs = json::array();
  for (const auto& o : job.spec.outputs) {
    std::error_code ec;
    auto size = fs::file_size(out_dir + "/" + o, ec);
    outputs.push_back({{"path", o}, {"exists", !ec}, {"bytes", ec ? 0 : size}});
  }
  return {{"job", job.id},
          {"attempt", job.attempt},
          {"outcome", outcome},
          {"reason", why},
          {"specSha256", job.spec_sha256},
          {"spec", job.spec_yaml},
          {"codeVersion", job.code_version},
          {"seed", job.seed},
          {"datasets", datasets},
          {"tasks", tasks},
          {"startTime", job.start_time},
          {"endTime", now},
          {"outputDir", out_dir},
          {"outputs", outputs},
          {"checkpointDir", state.JobDir(job.id) + "/checkpoint"}};
}

// The record goes to the store and, for the job's own scripts, beside its outputs.
void SaveResult(ServerState& state, const JobRec& job, const json& record) {
  state.pending_writes.push_back(JobStore::SaveResult(job.id, job.attempt, record));
  std::string out_dir = state.AttemptDir(job.id, job.attempt) + "/output";
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec)) return;
  std::FILE* f = std::fopen((out_dir + "/result.json").c_str(), "w");
  if (!f) return;
  std::string text = record.dump(2) + "\n";
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

// Failed, DeadlineExceeded, LaunchFailed: a retry after backoff * 2^(failures-1), capped, or the
// end. Example: backoff 10 s, maxBackoff 300 s: retries after 10, 20, 40, ... 300 s.
void FailAttempt(ServerState& state, JobRec& job, double now, const std::string& outcome,
                 const std::string& why) {
  ++job.failures;
  bool retry = outcome != "DeadlineExceeded" && job.failures <= job.spec.retry.backoff_limit;
  if (retry) {
    double backoff = static_cast<double>(job.spec.retry.backoff_s) *
                     std::pow(2.0, std::min(job.failures - 1, 30));
    backoff = std::min(backoff, static_cast<double>(job.spec.retry.max_backoff_s));
    job.phase = JobPhase::kPending;
    job.reason = "BackoffRetry";
    job.not_before = now + backoff;
    job.message = "attempt " + std::to_string(job.attempt) + " failed (" + why + "); retry " +
                  std::to_string(job.failures) + " of " +
                  std::to_string(job.spec.retry.backoff_limit) + " in " +
                  std::to_string(static_cast<int64_t>(backoff)) + " s";
    state.AddEvent(&job, JobObjectName(job.id), "Retrying", outcome, job.message, now);
    return;
  }
  job.phase = JobPhase::kFailed;
  job.reason = outcome;
  job.message = why + (outcome == "DeadlineExceeded"
                           ? ""
                           : " (retries exhausted: " + std::to_string(job.failures - 1) + " of " +
                                 std::to_string(job.spec.retry.backoff_limit) + ")");
  job.end_time = now;
  state.AddEvent(&job, JobObjectName(job.id), "Failed", outcome, job.message, now);
}

}  // namespace

json TaskJson(const JobRec& job, const TaskRec& t) {
  json gpus = json::array();
  for (const auto& g : t.gpus) gpus.push_back({{"index", g.gpu_index}, {"milli", g.milli}});
  return {
      {"rank", t.rank},         {"group", job.spec.task_groups[static_cast<size_t>(t.group)].name},
      {"replica", t.replica},   {"node", t.node},
      {"gpus", gpus},           {"state", ToString(t.state)},
      {"exitCode", t.exit_code}};
}

void BeginTermination(ServerState& state, JobRec& job, const std::string& reason,
                      const std::string& message, double now, bool graceful) {
  job.phase = JobPhase::kTerminating;
  job.terminate_reason = reason;
  job.terminate_message = message;
  int sig = graceful ? job.spec.checkpoint.signal : SIGKILL;
  for (const TaskRec& t : job.tasks)
    // Lost tasks too: their shim died, but the command may live on in its process group.
    if (t.state != TaskState::kExited) state.executor->Signal(t.handle, sig);
  job.kill_at = now + (graceful ? static_cast<double>(job.spec.checkpoint.grace_period_s) : 0);
  job.reason = reason;
  job.message = message;
  state.AddEvent(&job, JobObjectName(job.id), "Terminating", reason,
                 message + (graceful ? "; signal " + std::to_string(sig) + ", then SIGKILL after " +
                                           std::to_string(job.spec.checkpoint.grace_period_s) + " s"
                                     : ""),
                 now);
  state.SaveJob(job);
  state.dirty = true;
}

void FinishAttempt(ServerState& state, JobRec& job, double now, const std::string& outcome,
                   const std::string& why) {
  if (job.attempt > 0) SaveResult(state, job, ResultRecord(state, job, now, outcome, why));
  for (const TaskRec& t : job.tasks)
    if (t.state != TaskState::kExited) state.executor->Signal(t.handle, SIGKILL);

  job.tasks.clear();
  job.nominated = false;
  job.reservation.clear();
  std::string next = outcome;
  if (job.cancel_requested && outcome != "Succeeded") next = "Cancelled";
  if (next == "Succeeded" || next == "Cancelled") {
    job.phase = next == "Succeeded" ? JobPhase::kSucceeded : JobPhase::kCancelled;
    job.reason = next;
    job.message = why;
    job.end_time = now;
    state.AddEvent(&job, JobObjectName(job.id), next, next, why, now);
  } else if (next == "Preempted" || next == "NodeDrained" || next == "Lost") {
    job.phase = JobPhase::kPending;
    job.reason = next;
    job.message = "attempt " + std::to_string(job.attempt) + " " +
                  (next == "Lost" ? "lost (" + why + ")" : "stopped (" + why + ")") +
                  "; requeued, resumes from its checkpoint";
    state.AddEvent(&job, JobObjectName(job.id), "Requeued", next, job.message, now);
  } else {
    FailAttempt(state, job, now, next, why);
  }
  state.SaveJob(job);
  state.dirty = true;
}

}  // namespace kumo::server
