#include "server/job_lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "server/checkpoint_watch.h"
#include "server/result_metrics.h"
#include "server/task_file.h"

namespace kumo::server {
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// What the next attempt starts from, in words that are true: a job that does not checkpoint
// restarts from zero; one that does resumes from the newest file of its checkpoint directory
// (KUMO_CHECKPOINT_DIR), if it wrote any.
std::string ResumesFrom(const ServerState& state, const JobRec& job) {
  if (!job.spec.checkpoint.enabled) return "restarts from zero (it does not checkpoint)";
  std::optional<double> newest = NewestFileTime(state.JobDir(job.id) + "/checkpoint");
  if (!newest) return "restarts from zero (it has written no checkpoint yet)";
  const auto when = static_cast<std::time_t>(*newest);
  std::tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string("resumes from its checkpoint written at ") + text;
}

// The outcome's word, for events, the job's reason and the Result record.
std::string Word(AttemptOutcome outcome) { return std::string(ToString(outcome)); }

// The size of `path` inside `dir` if it is a regular file the task left there (task_file.h:
// the dir is the task's, and the server reading it is root).
std::optional<uint64_t> OutputSize(const std::string& dir, const std::string& path) {
  std::optional<TaskFile> file = TaskFile::Open(dir, path);
  if (!file) return std::nullopt;
  return file->size_bytes();
}

// The Result record: how this attempt was made and how it ended.
json ResultRecord(const ServerState& state, const JobRec& job, double now, AttemptOutcome outcome,
                  const std::string& why) {
  json tasks = json::array();
  for (const TaskRec& t : job.tasks) {
    json task = TaskJson(job, t);
    task["signal"] = t.term_signal;
    tasks.push_back(std::move(task));
  }
  json datasets = json::array();
  for (const auto& d : job.spec.datasets)
    datasets.push_back({{"name", d.name},
                        {"version", d.version},
                        {"digest", d.digest},
                        {"mountPath", d.mount_path}});
  std::string out_dir = state.AttemptDir(job.id, job.attempt) + "/output";
  json outputs = json::array();
  for (const auto& o : job.spec.outputs) {
    std::optional<uint64_t> size = OutputSize(out_dir, o);
    outputs.push_back({{"path", o}, {"exists", size.has_value()}, {"bytes", size.value_or(0)}});
  }
  return {{"job", job.id},
          {"attempt", job.attempt},
          {"outcome", Word(outcome)},
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
          {"metrics", ReadMetrics(out_dir)},
          {"checkpointDir", state.JobDir(job.id) + "/checkpoint"}};
}

// The record goes to the store and, for the job's own scripts, beside its outputs.
void SaveResult(ServerState& state, const JobRec& job, const json& record) {
  state.pending_writes.push_back(JobStore::SaveResult(job.id, job.attempt, record));
  std::string out_dir = state.AttemptDir(job.id, job.attempt) + "/output";
  struct stat dir;
  if (stat(out_dir.c_str(), &dir) != 0 || !S_ISDIR(dir.st_mode)) return;
  // 0600, owned like the dir: the job's own uid (isolated) or the server's. The dir is the
  // task's: whatever it left under this name (a symlink, a FIFO) is removed, and a new one
  // made in the meantime is left alone (O_EXCL), never followed or opened.
  const std::string path = out_dir + "/result.json";
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string text = record.dump(2) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 && ::fchown(fd, dir.st_uid, dir.st_gid) == 0;
  if (ok) ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
}

// Failed, DeadlineExceeded, LaunchFailed: a retry after backoff * 2^(failures-1), capped, or the
// end. Example: backoff 10 s, maxBackoff 300 s: retries after 10, 20, 40, ... 300 s.
void FailAttempt(ServerState& state, JobRec& job, double now, AttemptOutcome outcome,
                 const std::string& why) {
  ++job.failures;
  bool deadline = outcome == AttemptOutcome::kDeadlineExceeded;
  bool retry = !deadline && job.failures <= job.spec.retry.backoff_limit;
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
    state.AddEvent(&job, JobObjectName(job.id), "Retrying", Word(outcome), job.message, now);
    state.metrics.retries.Add({{"project", job.project}});
    return;
  }
  job.phase = JobPhase::kFailed;
  job.reason = Word(outcome);
  job.message = why + (deadline ? ""
                                : " (retries exhausted: " + std::to_string(job.failures - 1) +
                                      " of " + std::to_string(job.spec.retry.backoff_limit) + ")");
  job.end_time = now;
  state.AddEvent(&job, JobObjectName(job.id), "Failed", job.reason, job.message, now);
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

void BeginTermination(ServerState& state, JobRec& job, AttemptOutcome reason,
                      const std::string& message, double now, bool graceful) {
  job.phase = JobPhase::kTerminating;
  job.terminate_reason = reason;
  job.terminate_message = message;
  int sig = graceful ? job.spec.checkpoint.signal : SIGKILL;
  for (const TaskRec& t : job.tasks)
    // Lost tasks too: their shim died, but the command may live on in its process group.
    if (t.state != TaskState::kExited) state.executor->Signal(t.handle, sig);
  job.kill_at = now + (graceful ? static_cast<double>(job.spec.checkpoint.grace_period_s) : 0);
  job.reason = Word(reason);
  job.message = message;
  state.AddEvent(&job, JobObjectName(job.id), "Terminating", job.reason,
                 message + (graceful ? "; signal " + std::to_string(sig) + ", then SIGKILL after " +
                                           std::to_string(job.spec.checkpoint.grace_period_s) + " s"
                                     : ""),
                 now);
  state.SaveJob(job);
  state.dirty = true;
}

void FinishAttempt(ServerState& state, JobRec& job, double now, AttemptOutcome outcome,
                   const std::string& why) {
  if (job.attempt > 0) SaveResult(state, job, ResultRecord(state, job, now, outcome, why));
  for (const TaskRec& t : job.tasks)
    if (t.state != TaskState::kExited) state.executor->Signal(t.handle, SIGKILL);

  job.tasks.clear();
  job.nominated = false;
  job.reservation.clear();
  AttemptOutcome next = outcome;
  if (job.cancel_requested && outcome != AttemptOutcome::kSucceeded)
    next = AttemptOutcome::kCancelled;
  switch (next) {
    case AttemptOutcome::kSucceeded:
    case AttemptOutcome::kCancelled:
      job.phase = next == AttemptOutcome::kSucceeded ? JobPhase::kSucceeded : JobPhase::kCancelled;
      job.reason = Word(next);
      job.message = why;
      job.end_time = now;
      state.AddEvent(&job, JobObjectName(job.id), job.reason, job.reason, why, now);
      break;
    case AttemptOutcome::kPreempted:
    case AttemptOutcome::kNodeDrained:
    case AttemptOutcome::kLost:
      job.phase = JobPhase::kPending;
      job.reason = Word(next);
      job.message =
          "attempt " + std::to_string(job.attempt) + " " +
          (next == AttemptOutcome::kLost ? "lost (" + why + ")" : "stopped (" + why + ")") +
          "; requeued, " + ResumesFrom(state, job);
      state.AddEvent(&job, JobObjectName(job.id), "Requeued", job.reason, job.message, now);
      break;
    case AttemptOutcome::kFailed:
    case AttemptOutcome::kDeadlineExceeded:
    case AttemptOutcome::kLaunchFailed:
      FailAttempt(state, job, now, next, why);
      break;
  }
  state.SaveJob(job);
  state.dirty = true;
}

}  // namespace kumo::server
