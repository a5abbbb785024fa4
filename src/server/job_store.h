// JobStore: every statement on the jobs, tasks and results tables and the event log (schema in
// store/store.cc).
//
// Writes are returned as statements, not run: the server queues them with the other writes of
// the same change (an event, a token) so they commit together in the store's next group commit.
// Phases and task states are stored as their API words (job_state.h); a row whose word this
// server does not know is an error on load, never silently a different state.
//
// Thread safety: the statement builders are pure; Load and Results read through store::Store,
// which may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/records.h"
#include "store/store.h"

namespace kumo::server {

// One entry of the event log.
struct EventRow {
  int64_t seq = 0;                            // increasing; the log's cursor
  double time = 0;                            // seconds since the epoch
  std::string object, type, reason, message;  // object: "job/12", "node/node-0", "project/x"
};

class JobStore {
 public:
  explicit JobStore(store::Store& store) : store_(store) {}

  // A new job row with its identity, spec and current phase and reason.
  static store::Statement Insert(const JobRec& job);
  // The job's mutable fields: phase, reason, message, attempt, failures, times, cancellation.
  static store::Statement Update(const JobRec& job);
  // One row per task of the current attempt (replacing earlier rows of the same rank).
  static std::vector<store::Statement> SaveTasks(const JobRec& job);
  // The Result record (JSON) of one attempt. REQUIRES: attempt >= 1.
  static store::Statement SaveResult(int64_t job_id, int32_t attempt, const nlohmann::json& record);
  // An event about `object`; job_id is set for events of a job (object "job/<id>").
  static store::Statement AddEvent(double time, std::optional<int64_t> job_id,
                                   const std::string& object, const std::string& type,
                                   const std::string& reason, const std::string& message);

  // Every job, by id, marked durable, with its spec parsed and, for Running and Terminating
  // jobs, the tasks of its current attempt. Fails (kInternal) on a stored spec that no longer
  // parses or a phase or task state this server does not know.
  Result<std::map<int64_t, JobRec>> Load();
  // The Result records of a job, by attempt.
  Result<std::vector<nlohmann::json>> Results(int64_t job_id);
  // The events of a job, in order.
  Result<std::vector<EventRow>> JobEvents(int64_t job_id);
  // At most `limit` events after sequence number `after`, in order.
  Result<std::vector<EventRow>> EventsAfter(int64_t after, int64_t limit);
  // The newest event's sequence number; 0 when there is none.
  Result<int64_t> LastEventSeq();

 private:
  Status LoadTasks(std::map<int64_t, JobRec>& jobs);

  store::Store& store_;
};

}  // namespace kumo::server
