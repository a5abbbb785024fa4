// The scheduling loop: task exits, timeouts, grace periods, and passes of the core.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "server/server.h"
#include "base/clock.h"
#include "base/random.h"
#include "base/sha256.h"
#include "server/translate.h"
#include "server/util.h"

namespace kumo::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A pass also runs at least this often while nothing changes: retry backoffs expire and
// reservations' start times come closer.
constexpr double kPeriodicPassSeconds = 1.0;

const char* const kInheritedEnv[] = {"PATH", "HOME",   "USER",   "LOGNAME",
                                     "LANG", "LC_ALL", "TMPDIR", "TZ"};

}  // namespace

struct Server::PreparedStart {
  LaunchPlan plan;      // tasks by rank, handles set by SpawnStart
  std::string failure;  // set by SpawnStart: the first launch that failed
};

void Server::Kick() {
  dirty_ = true;
  cv_.notify_all();
}

void Server::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    double until_pass = last_pass_ + config_.pass_min_interval_s - SystemClock().NowSeconds();
    if (dirty_ && until_pass > 0) {
      // Something changed, but a pass ran moments ago: let changes gather for one pass.
      cv_.wait_for(lock, std::chrono::duration<double>(until_pass), [&] { return stopping_; });
    } else if (!dirty_) {
      cv_.wait_for(lock, std::chrono::duration<double>(config_.tick_s),
                   [&] { return stopping_ || dirty_; });
    }
    if (stopping_) break;
    size_t launched_before = launched_;
    Tick(lock);
    std::future<Status> written = Flush();
    // A start is made durable before anyone can see it (JobJson shows a launching job as
    // Pending), so a client that saw Running finds the attempt after a kill -9. The commit is
    // awaited with mu_ released: submissions go on meanwhile. Other loop writes (events,
    // reasons, exits) need no acknowledgement: exits are re-read from exit files on restart.
    if (launched_ != launched_before) {
      lock.unlock();
      written.wait();
      lock.lock();
      for (auto& [id, job] : jobs_) job.launching = false;
    }
  }
}

void Server::Tick(std::unique_lock<std::mutex>& lock) {
  double now = SystemClock().NowSeconds();
  PollTasks(now);
  for (auto& [id, job] : jobs_) {
    if (!job.durable) continue;
    if (!IsTerminal(job.phase)) AdvanceJob(job, now);
  }
  bool due = now - last_pass_ >= kPeriodicPassSeconds;
  if ((dirty_ || due) && now - last_pass_ >= config_.pass_min_interval_s) {
    dirty_ = false;
    last_pass_ = now;
    RunPass(now, lock);
  }
}

void Server::PollTasks(double now) {
  // The executor names the shims that ended, so most ticks look at those tasks only; every task
  // is still polled once a tick period (the safety net: a shim not watched, a missed event).
  bool full = !executor_->watching() || now - last_full_poll_ >= config_.tick_s;
  if (full) last_full_poll_ = now;
  if (!full && exited_pids_.empty()) return;
  for (auto& [id, job] : jobs_) {
    if (!HasAttempt(job.phase)) continue;
    bool changed = false;
    for (TaskRec& t : job.tasks) {
      if (t.state != TaskState::kRunning) continue;
      if (!full && !exited_pids_.count(t.handle.pid)) continue;
      executor::TaskStatus st = executor_->Poll(t.handle);
      if (st.state == executor::TaskState::kRunning) continue;
      changed = true;
      if (st.state == executor::TaskState::kExited) {
        t.state = TaskState::kExited;
        t.exit_code = st.exit_code;
        t.term_signal = st.term_signal;
        AddEvent(&job, "job/" + std::to_string(id), "TaskExited",
                 t.exit_code == 0 ? "Completed" : "Error",
                 "task " + std::to_string(t.rank) + " on " + t.node +
                     (t.term_signal ? " killed by signal " + std::to_string(t.term_signal)
                                    : " exited with code " + std::to_string(t.exit_code)),
                 now);
      } else {
        t.state = TaskState::kLost;
        AddEvent(&job, "job/" + std::to_string(id), "TaskLost", "Lost",
                 "task " + std::to_string(t.rank) + " vanished without an exit status", now);
      }
    }
    if (changed) {
      SaveTasks(job);
      dirty_ = true;
    }
  }
  exited_pids_.clear();
}

void Server::AdvanceJob(JobRec& job, double now) {
  if (job.phase == JobPhase::kPending) {
    if (job.cancel_requested) {
      job.phase = JobPhase::kCancelled;
      job.reason = "Cancelled";
      job.message = "cancelled while pending";
      job.end_time = now;
      job.queue_position = 0;
      AddEvent(&job, "job/" + std::to_string(job.id), "Cancelled", "Cancelled", job.message, now);
      SaveJob(job);
      dirty_ = true;
    }
    return;
  }
  int running = 0, failed_rank = -1, lost = 0;
  for (const TaskRec& t : job.tasks) {
    if (t.state == TaskState::kRunning) ++running;
    if (t.state == TaskState::kLost) ++lost;
    if (t.state == TaskState::kExited && t.exit_code != 0 && failed_rank < 0) failed_rank = t.rank;
  }
  if (job.phase == JobPhase::kRunning) {
    if (lost > 0) {
      BeginTermination(job, "Lost", std::to_string(lost) + " task(s) lost", now, true);
    } else if (failed_rank >= 0) {
      const TaskRec& t = job.tasks[static_cast<size_t>(failed_rank)];
      BeginTermination(job, "Failed",
                       "task " + std::to_string(t.rank) +
                           (t.term_signal ? " killed by signal " + std::to_string(t.term_signal)
                                          : " exited with code " + std::to_string(t.exit_code)),
                       now, true);
    } else if (running == 0) {
      FinishAttempt(job, now, "Succeeded", "every task exited with code 0");
      return;
    } else if (job.cancel_requested) {
      BeginTermination(job, "Cancelled", "cancelled by a user", now, true);
    } else if (job.spec.max_runtime_s && now - job.start_time > *job.spec.max_runtime_s) {
      BeginTermination(
          job, "DeadlineExceeded",
          "ran longer than maxRuntime (" + std::to_string(*job.spec.max_runtime_s) + " s)", now,
          true);
    }
  }
  if (job.phase == JobPhase::kTerminating) {
    if (job.cancel_requested && job.terminate_reason != "Cancelled") {
      job.terminate_reason = "Cancelled";
      job.terminate_message = "cancelled by a user";
    }
    running = 0;
    for (const TaskRec& t : job.tasks) running += t.state == TaskState::kRunning;
    if (running == 0) {
      FinishAttempt(job, now, job.terminate_reason, job.terminate_message);
    } else if (now >= job.kill_at) {
      for (const TaskRec& t : job.tasks)
        if (t.state != TaskState::kExited) executor_->Signal(t.handle, SIGKILL);
      job.kill_at = now + 2;  // and again, should one survive
    }
  }
}

void Server::BeginTermination(JobRec& job, const std::string& reason, const std::string& message,
                              double now, bool graceful) {
  job.phase = JobPhase::kTerminating;
  job.terminate_reason = reason;
  job.terminate_message = message;
  int sig = graceful ? job.spec.checkpoint.signal : SIGKILL;
  for (const TaskRec& t : job.tasks)
    // Lost tasks too: their shim died, but the command may live on in its process group.
    if (t.state != TaskState::kExited) executor_->Signal(t.handle, sig);
  job.kill_at = now + (graceful ? static_cast<double>(job.spec.checkpoint.grace_period_s) : 0);
  job.reason = reason;
  job.message = message;
  AddEvent(&job, "job/" + std::to_string(job.id), "Terminating", reason,
           message + (graceful ? "; signal " + std::to_string(sig) + ", then SIGKILL after " +
                                     std::to_string(job.spec.checkpoint.grace_period_s) + " s"
                               : ""),
           now);
  SaveJob(job);
  dirty_ = true;
}

void Server::FinishAttempt(JobRec& job, double now, const std::string& outcome,
                           const std::string& why) {
  // The Result record: how this attempt was made and how it ended.
  json tasks = json::array();
  for (const TaskRec& t : job.tasks) {
    json gpus = json::array();
    for (const auto& g : t.gpus) gpus.push_back({{"index", g.gpu_index}, {"milli", g.milli}});
    tasks.push_back({{"rank", t.rank},
                     {"group", job.spec.task_groups[static_cast<size_t>(t.group)].name},
                     {"replica", t.replica},
                     {"node", t.node},
                     {"gpus", gpus},
                     {"state", ToString(t.state)},
                     {"exitCode", t.exit_code},
                     {"signal", t.term_signal}});
  }
  json datasets = json::array();
  for (const auto& d : job.spec.datasets)
    datasets.push_back({{"name", d.name}, {"version", d.version}, {"path", d.path}});
  std::string out_dir = AttemptDir(job.id, job.attempt) + "/output";
  json outputs = json::array();
  for (const auto& o : job.spec.outputs) {
    std::error_code ec;
    auto size = fs::file_size(out_dir + "/" + o, ec);
    outputs.push_back({{"path", o}, {"exists", !ec}, {"bytes", ec ? 0 : size}});
  }
  json record = {{"job", job.id},
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
                 {"checkpointDir", JobDir(job.id) + "/checkpoint"}};
  if (job.attempt > 0) {
    pending_writes_.push_back(JobStore::SaveResult(job.id, job.attempt, record));
    std::error_code ec;
    if (fs::is_directory(out_dir, ec)) {
      std::FILE* f = std::fopen((out_dir + "/result.json").c_str(), "w");
      if (f) {
        std::string text = record.dump(2) + "\n";
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
      }
    }
  }
  for (const TaskRec& t : job.tasks)
    if (t.state != TaskState::kExited) executor_->Signal(t.handle, SIGKILL);

  job.tasks.clear();
  job.nominated = false;
  job.reservation.clear();
  std::string object = "job/" + std::to_string(job.id);
  std::string next = outcome;
  if (job.cancel_requested && outcome != "Succeeded") next = "Cancelled";
  if (next == "Succeeded" || next == "Cancelled") {
    job.phase = next == "Succeeded" ? JobPhase::kSucceeded : JobPhase::kCancelled;
    job.reason = next;
    job.message = why;
    job.end_time = now;
    AddEvent(&job, object, next, next, why, now);
  } else if (next == "Preempted" || next == "NodeDrained" || next == "Lost") {
    job.phase = JobPhase::kPending;
    job.reason = next;
    job.message = "attempt " + std::to_string(job.attempt) + " " +
                  (next == "Lost" ? "lost (" + why + ")" : "stopped (" + why + ")") +
                  "; requeued, resumes from its checkpoint";
    AddEvent(&job, object, "Requeued", next, job.message, now);
  } else {  // Failed, DeadlineExceeded, LaunchFailed
    ++job.failures;
    bool retry = next != "DeadlineExceeded" && job.failures <= job.spec.retry.backoff_limit;
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
      AddEvent(&job, object, "Retrying", next, job.message, now);
    } else {
      job.phase = JobPhase::kFailed;
      job.reason = next;
      job.message = why + (next == "DeadlineExceeded"
                               ? ""
                               : " (retries exhausted: " + std::to_string(job.failures - 1) +
                                     " of " + std::to_string(job.spec.retry.backoff_limit) + ")");
      job.end_time = now;
      AddEvent(&job, object, "Failed", next, job.message, now);
    }
  }
  SaveJob(job);
  dirty_ = true;
}

void Server::RunPass(double now, std::unique_lock<std::mutex>& lock) {
  core::Snapshot snap;
  snap.now = static_cast<core::Seconds>(now);
  snap.topology_levels = inventory_.topology_levels;
  snap.extended_resources = inventory_.extended_resources;
  snap.nodes = inventory_.nodes;
  for (auto& n : snap.nodes)
    if (cordoned_.count(n.name)) n.unschedulable = true;
  for (const auto& [name, p] : projects_) {
    core::Project cp;
    cp.name = name;
    cp.weight = p.weight > 0 ? p.weight : 1;
    cp.guaranteed[core::kGpu] = p.guaranteed_gpu_milli;
    if (p.max_gpu_milli >= 0) cp.max[core::kGpu] = p.max_gpu_milli;
    snap.projects.push_back(cp);
  }
  std::map<std::string, JobRec*> by_id;
  for (auto& [id, job] : jobs_) {
    if (!job.durable) continue;
    bool pending = job.phase == JobPhase::kPending && !job.cancel_requested && job.not_before <= now;
    bool holding = HasAttempt(job.phase) && !job.tasks.empty();
    if (job.phase == JobPhase::kPending && job.not_before > now) job.queue_position = 0;
    if (!pending && !holding) continue;
    std::string invalid;
    core::Job cj = CoreJob(job, &invalid);
    if (pending && !invalid.empty()) {
      if (job.reason != "Unschedulable" || job.message != invalid) {
        job.reason = "Unschedulable";
        job.message = invalid;
        AddEvent(&job, "job/" + cj.id, "Waiting", job.reason, invalid, now);
        SaveJob(job);
      }
      continue;
    }
    cj.nominated = job.nominated;
    cj.reservation = job.reservation;
    if (holding) {
      cj.phase = job.phase == JobPhase::kRunning ? core::JobPhase::kRunning : core::JobPhase::kTerminating;
      cj.start_time = static_cast<core::Seconds>(job.start_time);
      for (const TaskRec& t : job.tasks) {
        if (t.state != TaskState::kRunning) continue;
        // Index of the replica within its group, as the core counts it.
        cj.placements.push_back({t.group, t.replica, t.node, t.gpus});
      }
    }
    by_id[cj.id] = &job;
    snap.jobs.push_back(std::move(cj));
  }
  lock.unlock();
  auto decisions = scheduler_->Schedule(snap);
  lock.lock();
  // Meanwhile the API may have cancelled jobs or cordoned nodes: starts of cancelled jobs are
  // dropped (the next pass decides again); a start on a node cordoned during the pass stands,
  // as it would had the cordon come a moment later.
  if (!decisions) {
    std::fprintf(stderr, "kumo server: scheduling pass failed: %s\n",
                 decisions.error().message().c_str());
    return;
  }
  for (const auto& p : decisions->preemptions) {
    auto v = by_id.find(p.victim);
    if (v != by_id.end() && v->second->phase == JobPhase::kRunning)
      BeginTermination(*v->second, "Preempted", p.message, now, true);
    auto pr = by_id.find(p.preemptor);
    if (pr != by_id.end()) pr->second->nominated = true;
  }
  std::vector<std::pair<JobRec*, PreparedStart>> starts;
  for (const auto& s : decisions->starts) {
    auto it = by_id.find(s.job);
    if (it != by_id.end() && it->second->phase == JobPhase::kPending && !it->second->cancel_requested)
      starts.emplace_back(it->second, PrepareStart(*it->second, s.tasks));
  }
  for (const auto& r : decisions->reservations) {
    auto it = by_id.find(r.job);
    if (it != by_id.end()) it->second->reservation = r.tasks;
  }
  int64_t pos = 0;
  for (const auto& id : decisions->order) {
    auto it = by_id.find(id);
    if (it != by_id.end()) it->second->queue_position = it->second->phase == JobPhase::kPending ? ++pos : 0;
  }
  for (const auto& w : decisions->waiting) {
    auto it = by_id.find(w.job);
    if (it == by_id.end()) continue;
    JobRec& job = *it->second;
    std::string reason = core::WaitReasonName(w.reason);
    if (job.reason != reason || job.message != w.message) {
      bool new_reason = job.reason != reason;
      job.reason = reason;
      job.message = w.message;
      if (new_reason) AddEvent(&job, "job/" + w.job, "Waiting", reason, w.message, now);
      SaveJob(job);
    }
  }
  if (starts.empty()) return;
  // Jobs are never removed once durable, so the pointers stay valid while mu_ is released; a
  // cancel meanwhile is seen by the next tick (the job is Running by then and terminates).
  lock.unlock();
  for (auto& [job, start] : starts) SpawnStart(start);
  lock.lock();
  for (auto& [job, start] : starts) CommitStart(*job, start, now);
}

const core::Job& Server::CoreJob(JobRec& job, std::string* invalid) {
  if (!job.core_job) {
    TranslatedJob t = ToCoreJob(job, config_.priority_classes, inventory_.extended_resources);
    job.core_job = std::make_unique<core::Job>(std::move(t.job));
    job.core_invalid = std::move(t.invalid);
  }
  *invalid = job.core_invalid;
  return *job.core_job;
}

Server::PreparedStart Server::PrepareStart(JobRec& job,
                                           const std::vector<core::TaskPlacement>& placements) {
  ++job.attempt;
  // An attempt launched just before a crash, whose start never committed, left its directory:
  // never reuse its number (KUMO_ATTEMPT only grows, run dirs stay apart).
  for (std::error_code ec; fs::exists(AttemptDir(job.id, job.attempt), ec);) ++job.attempt;
  ++launched_;
  job.launching = true;
  job.nominated = false;
  job.reservation.clear();
  job.queue_position = 0;
  job.tasks.clear();
  LaunchContext context;
  context.attempt_dir = AttemptDir(job.id, job.attempt);
  context.checkpoint_dir = JobDir(job.id) + "/checkpoint";
  std::error_code ec;
  fs::create_directories(context.checkpoint_dir, ec);
  fs::create_directories(context.attempt_dir + "/output", ec);
  context.master_port = FreeLoopbackPort();
  for (const char* name : kInheritedEnv)
    if (const char* v = std::getenv(name)) context.inherited_env[name] = v;
  return {ToLaunches(job, placements, context), ""};
}

void Server::SpawnStart(PreparedStart& start) {
  LaunchPlan& plan = start.plan;
  for (size_t rank = 0; rank < plan.launches.size(); ++rank) {
    auto h = executor_->Launch(plan.launches[rank]);
    if (!h) {
      start.failure = "task " + std::to_string(rank) + ": " + h.error().message();
      plan.tasks.resize(rank);  // those launched; FinishAttempt kills them
      return;
    }
    plan.tasks[rank].handle = *h;
  }
}

void Server::CommitStart(JobRec& job, PreparedStart& start, double now) {
  job.tasks = std::move(start.plan.tasks);
  job.start_time = now;
  job.phase = JobPhase::kRunning;
  job.reason = "";
  job.message = "";
  std::string nodes;
  for (const TaskRec& t : job.tasks) {
    std::string d;
    for (const auto& g : t.gpus) d += (d.empty() ? "" : ",") + std::to_string(g.gpu_index);
    nodes += (nodes.empty() ? "" : " ") + std::to_string(t.rank) + ":" + t.node +
             (d.empty() ? "" : "[gpu " + d + "]");
  }
  AddEvent(&job, "job/" + std::to_string(job.id), "Started", "Scheduled",
           "attempt " + std::to_string(job.attempt) + " on " + nodes, now);
  SaveJob(job);
  SaveTasks(job);
  if (!start.failure.empty()) FinishAttempt(job, now, "LaunchFailed", start.failure);
}

}  // namespace kumo::server
