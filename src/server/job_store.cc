#include "server/job_store.h"

#include "server/job_datasets.h"

namespace kumo::server {
namespace {
using nlohmann::json;

store::Value NullableTime(double t) { return t > 0 ? store::Value(t) : store::Value(nullptr); }

std::string Text(std::string_view s) { return std::string(s); }

JobRec JobFromRow(const store::Row& r) {
  JobRec j;
  j.id = store::AsInt(r[0]);
  j.project = store::AsString(r[1]);
  j.user = store::AsString(r[2]);
  j.name = store::AsString(r[3]);
  j.spec_yaml = store::AsString(r[4]);
  j.spec_sha256 = store::AsString(r[5]);
  j.submit_dir = store::AsString(r[6]);
  j.code_version = json::parse(store::AsString(r[7]), nullptr, false);
  j.seed = static_cast<uint64_t>(store::AsInt(r[8]));
  j.submit_time = store::AsDouble(r[9]);
  // r[10], the phase, is parsed by the caller.
  j.reason = store::AsString(r[11]);
  j.message = store::AsString(r[12]);
  j.attempt = static_cast<int32_t>(store::AsInt(r[13]));
  j.failures = static_cast<int32_t>(store::AsInt(r[14]));
  j.not_before = store::AsDouble(r[15]);
  j.start_time = store::AsDouble(r[16]);
  j.end_time = store::AsDouble(r[17]);
  j.cancel_requested = store::AsInt(r[18]) != 0;
  j.idempotency_key = store::AsString(r[19]);
  return j;
}

// Reads a row of the tasks query below, from its second column; the state is parsed by the
// caller.
TaskRec TaskFromRow(const store::Row& r) {
  TaskRec t;
  t.rank = static_cast<int32_t>(store::AsInt(r[1]));
  t.group = static_cast<int32_t>(store::AsInt(r[2]));
  t.replica = static_cast<int32_t>(store::AsInt(r[3]));
  t.node = store::AsString(r[4]);
  for (const auto& g : json::parse(store::AsString(r[5]), nullptr, false))
    if (g.is_array() && g.size() == 2) t.gpus.push_back({g[0].get<int32_t>(), g[1].get<int64_t>()});
  t.handle.run_dir = store::AsString(r[6]);
  t.handle.pid = static_cast<pid_t>(store::AsInt(r[7]));
  t.handle.start_ticks = store::AsInt(r[8]);
  t.handle.cgroup_path = store::AsString(r[9]);
  t.exit_code = static_cast<int>(store::AsInt(r[11]));
  t.term_signal = static_cast<int>(store::AsInt(r[12]));
  return t;
}

// Reads a row of "seq, time, object, type, reason, message".
EventRow EventFromRow(const store::Row& r) {
  return {store::AsInt(r[0]),    store::AsDouble(r[1]), store::AsString(r[2]),
          store::AsString(r[3]), store::AsString(r[4]), store::AsString(r[5])};
}

}  // namespace

store::Statement JobStore::Insert(const JobRec& j) {
  return {
      "INSERT INTO jobs(id, project, user, name, spec_yaml, spec_sha256, submit_dir, "
      "code_version, seed, submit_time, phase, reason, idempotency_key, datasets) VALUES(?1, "
      "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
      {j.id, j.project, j.user, j.name, j.spec_yaml, j.spec_sha256, j.submit_dir,
       j.code_version.dump(), static_cast<int64_t>(j.seed), j.submit_time, Text(ToString(j.phase)),
       j.reason,
       j.idempotency_key.empty() ? store::Value(nullptr) : store::Value(j.idempotency_key),
       PinsJson(j.spec).dump()}};
}

store::Statement JobStore::Update(const JobRec& j) {
  return {
      "UPDATE jobs SET phase=?2, reason=?3, message=?4, attempt=?5, failures=?6, "
      "not_before=?7, start_time=?8, end_time=?9, cancel_requested=?10 WHERE id=?1",
      {j.id, Text(ToString(j.phase)), j.reason, j.message, int64_t{j.attempt}, int64_t{j.failures},
       j.not_before, NullableTime(j.start_time), NullableTime(j.end_time),
       int64_t{j.cancel_requested}}};
}

std::vector<store::Statement> JobStore::SaveTasks(const JobRec& j) {
  std::vector<store::Statement> out;
  for (const TaskRec& t : j.tasks) {
    json gpus = json::array();
    for (const auto& g : t.gpus) gpus.push_back({g.gpu_index, g.milli});
    out.push_back(
        {"INSERT OR REPLACE INTO tasks(job_id, attempt, rank, grp, replica, node, gpus, run_dir, "
         "pid, start_ticks, cgroup, state, exit_code, term_signal) "
         "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
         {j.id, int64_t{j.attempt}, int64_t{t.rank}, int64_t{t.group}, int64_t{t.replica}, t.node,
          gpus.dump(), t.handle.run_dir, int64_t{t.handle.pid}, t.handle.start_ticks,
          t.handle.cgroup_path, Text(ToString(t.state)), int64_t{t.exit_code},
          int64_t{t.term_signal}}});
  }
  return out;
}

store::Statement JobStore::SaveResult(int64_t job_id, int32_t attempt, const json& record) {
  return {"INSERT OR REPLACE INTO results(job_id, attempt, record) VALUES(?1, ?2, ?3)",
          {job_id, int64_t{attempt}, record.dump()}};
}

store::Statement JobStore::AddEvent(double time, std::optional<int64_t> job_id,
                                    const std::string& object, const std::string& type,
                                    const std::string& reason, const std::string& message) {
  return {
      "INSERT INTO events(time, job_id, object, type, reason, message) VALUES(?1,?2,?3,?4,?5,?6)",
      {time, job_id ? store::Value(*job_id) : store::Value(nullptr), object, type, reason,
       message}};
}

Result<std::map<int64_t, JobRec>> JobStore::Load() {
  std::map<int64_t, JobRec> jobs;
  std::string bad;
  Status s = store_.Query(
      "SELECT id, project, user, name, spec_yaml, spec_sha256, submit_dir, code_version, seed, "
      "submit_time, phase, reason, message, attempt, failures, not_before, start_time, end_time, "
      "cancel_requested, idempotency_key, datasets FROM jobs ORDER BY id",
      {}, [&](const store::Row& r) {
        if (!bad.empty()) return;
        JobRec j = JobFromRow(r);
        auto phase = ParseJobPhase(store::AsString(r[10]));
        auto spec = api::ParseJobSpec(j.spec_yaml);
        if (!spec)
          if (std::optional<std::string> v = LegacyDatasetsFree(j.spec_yaml))
            if (auto older = api::ParseJobSpec(*v)) {
              spec = std::move(older);
              j.spec_unsupported = kLegacyDatasetsMessage;
            }
        Status pins = spec ? ApplyPins(json::parse(store::AsString(r[20]), nullptr, false), *spec)
                           : Status::Ok();
        // A Terminating job's reason is the outcome its attempt ends with (BeginTermination).
        auto ending =
            phase == JobPhase::kTerminating ? ParseAttemptOutcome(j.reason) : std::nullopt;
        if (!phase) {
          bad = "job " + std::to_string(j.id) + ": unknown stored phase \"" +
                store::AsString(r[10]) + "\"";
        } else if (phase == JobPhase::kTerminating && !ending) {
          bad = "job " + std::to_string(j.id) + ": Terminating with an unknown reason \"" +
                j.reason + "\"";
        } else if (!spec) {
          bad = "job " + std::to_string(j.id) +
                ": stored spec no longer parses: " + spec.error().message();
        } else if (!pins.ok()) {
          bad = "job " + std::to_string(j.id) + ": " + pins.message();
        } else {
          j.phase = *phase;
          j.spec = std::move(*spec);
          j.durable = true;
          if (ending) {
            j.terminate_reason = *ending;
            j.terminate_message = j.message;
          }
          jobs[j.id] = std::move(j);
        }
      });
  if (!s.ok()) return Error(s);
  if (!bad.empty()) return Error(Status(StatusCode::kInternal, bad));
  if (Status t = LoadTasks(jobs); !t.ok()) return Error(t);
  return jobs;
}

Status JobStore::LoadTasks(std::map<int64_t, JobRec>& jobs) {
  std::string bad;
  Status s = store_.Query(
      "SELECT t.job_id, t.rank, t.grp, t.replica, t.node, t.gpus, t.run_dir, t.pid, "
      "t.start_ticks, t.cgroup, t.state, t.exit_code, t.term_signal FROM tasks t JOIN jobs j ON "
      "j.id = t.job_id AND j.attempt = t.attempt WHERE j.phase IN (?1, ?2) "
      "ORDER BY t.job_id, t.rank",
      {Text(ToString(JobPhase::kRunning)), Text(ToString(JobPhase::kTerminating))},
      [&](const store::Row& r) {
        auto it = jobs.find(store::AsInt(r[0]));
        if (it == jobs.end() || !bad.empty()) return;
        TaskRec t = TaskFromRow(r);
        auto state = ParseTaskState(store::AsString(r[10]));
        if (!state) {
          bad = "job " + std::to_string(it->first) + ": unknown stored task state \"" +
                store::AsString(r[10]) + "\"";
          return;
        }
        t.state = *state;
        it->second.tasks.push_back(std::move(t));
      });
  if (!s.ok()) return s;
  if (!bad.empty()) return Status(StatusCode::kInternal, bad);
  return Status::Ok();
}

Result<std::vector<json>> JobStore::Results(int64_t job_id) {
  std::vector<json> items;
  Status s = store_.Query("SELECT record FROM results WHERE job_id=?1 ORDER BY attempt", {job_id},
                          [&](const store::Row& r) {
                            items.push_back(json::parse(store::AsString(r[0]), nullptr, false));
                          });
  if (!s.ok()) return Error(s);
  return items;
}

Result<std::vector<EventRow>> JobStore::JobEvents(int64_t job_id) {
  std::vector<EventRow> rows;
  Status s = store_.Query(
      "SELECT seq, time, object, type, reason, message FROM events WHERE job_id=?1 ORDER BY seq",
      {job_id}, [&](const store::Row& r) { rows.push_back(EventFromRow(r)); });
  if (!s.ok()) return Error(s);
  return rows;
}

Result<std::vector<EventRow>> JobStore::EventsAfter(int64_t after, int64_t limit) {
  std::vector<EventRow> rows;
  Status s = store_.Query(
      "SELECT seq, time, object, type, reason, message FROM events WHERE seq > ?1 ORDER BY seq "
      "LIMIT ?2",
      {after, limit}, [&](const store::Row& r) { rows.push_back(EventFromRow(r)); });
  if (!s.ok()) return Error(s);
  return rows;
}

Result<int64_t> JobStore::LastEventSeq() {
  int64_t seq = 0;
  Status s = store_.Query("SELECT COALESCE(MAX(seq), 0) FROM events", {},
                          [&](const store::Row& r) { seq = store::AsInt(r[0]); });
  if (!s.ok()) return Error(s);
  return seq;
}

}  // namespace kumo::server
