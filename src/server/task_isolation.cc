#include "server/task_isolation.h"

#include <sys/stat.h>

#include <set>

#include "executor/task_identity.h"
#include "server/job_datasets.h"
#include "server/job_state.h"

namespace kumo::server {
namespace {

uid_t OwnerOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_uid : 0;
}

// The uids running jobs hold, and those of jobs starting in this pass (still Pending, with
// their uid picked). After a restart a running job's uid is not in memory yet: its checkpoint
// dir's owner tells (the sandbox gave the dir to it).
std::set<uid_t> UidsInUse(ServerState& state, const JobRec& self) {
  std::set<uid_t> in_use;
  for (auto& [id, other] : state.jobs) {
    if (id == self.id || !(HasAttempt(other.phase) || other.launching)) continue;
    if (other.task_uid == 0) other.task_uid = OwnerOf(state.JobDir(id) + "/checkpoint");
    if (other.task_uid != 0) in_use.insert(other.task_uid);
  }
  return in_use;
}

Result<executor::TaskIsolation> Identity(ServerState& state, JobRec& job,
                                         const std::string& checkpoint_dir) {
  const executor::IsolationConfig& config = state.config.isolation;
  if (auto account = config.users.find(job.user); account != config.users.end())
    return executor::AccountIdentity(account->second);
  auto uid = executor::PickRangeUid(config, job.id, OwnerOf(checkpoint_dir),
                                    UidsInUse(state, job));
  if (!uid) return Error(uid.error());
  executor::TaskIsolation iso;
  iso.enabled = true;
  iso.uid = *uid;
  iso.gid = static_cast<gid_t>(*uid);
  return iso;
}

}  // namespace

Result<executor::TaskIsolation> IsolationForAttempt(ServerState& state, JobRec& job,
                                                    const std::string& output_dir,
                                                    const std::string& checkpoint_dir) {
  if (!state.config.isolation.enabled) return executor::TaskIsolation{};
  auto iso = Identity(state, job, checkpoint_dir);
  if (!iso) return iso;
  job.task_uid = iso->uid;
  iso->hidden_dir = executor::HiddenRoot(state.config.data_dir);
  iso->writable_dirs = {output_dir, checkpoint_dir};
  // A job submitted with a code snapshot runs in its own extracted copy inside the hidden data
  // dir (snapshot_store.h): that copy, and nothing the submitter could name instead, is given
  // to the task like its output dir — an X-Kumo-Submit-Dir of "DATA/jobs/N/../.." would
  // otherwise give the task the data dir. (Read-only binds are opened with the task's identity,
  // which cannot pass the data dir's 0700.)
  const std::string code_dir = state.JobDir(job.id) + "/code";
  if (job.code_version.contains("snapshot") && job.submit_dir == code_dir)
    iso->writable_dirs.push_back(code_dir);
  for (const auto& d : job.spec.datasets)
    iso->readonly_binds.push_back({DatasetDir(state.config.data_dir, d.digest), d.mount_path});
  return iso;
}

}  // namespace kumo::server
