// Which Unix identity a job's tasks run as, and what of the disk they must not see (issue #12;
// docs/security.md has the threat model). The server asks once per attempt; the shim's sandbox
// (task_sandbox.h) applies the answer.
//
//  - A kumo user named in IsolationConfig::users runs as that Unix account: its uid, primary
//    gid and the groups /etc/group gives it (as login would, through getgrouplist).
//  - Everyone else: one uid per job from [first_uid, first_uid + uid_count), the gid the same
//    number (no passwd or group entry needs to exist), no supplementary groups. Two jobs never
//    share a uid while both run, so one job cannot signal, trace or read the other's processes
//    and files; a job keeps its uid across attempts (its checkpoint dir is owned by it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "base/status.h"
#include "executor/executor.h"

namespace kumo::executor {

struct IsolationConfig {
  bool enabled = true;                       // off: tasks run as the server (loudly warned)
  std::map<std::string, std::string> users;  // kumo user -> Unix account name
  uid_t first_uid = 200000;                  // the default range: 200000-265535
  uint32_t uid_count = 65536;
};

// Parses "FIRST-LAST" (inclusive, e.g. "200000-265535") into config's range. REQUIRES nothing;
// InvalidArgument unless 0 < FIRST <= LAST < 2^32 - 1.
Status ParseUidRange(const std::string& text, IsolationConfig* config);

// The range must belong to kumo alone: a passwd account with a uid in it, or a subordinate range
// (/etc/subuid, /etc/subgid: rootless containers map their uids there) overlapping it, could
// read and signal the tasks running as those uids. FailedPrecondition naming the file, the line
// and the account. Missing files count as empty. (Accounts only in LDAP/NSS are not seen.)
Status CheckUidRangeIsFree(const IsolationConfig& config, const std::string& passwd_path,
                           const std::string& subuid_path, const std::string& subgid_path);

// The account's uid, gid and groups (enabled = true; no dirs). NotFound for an unknown name,
// InvalidArgument for an account with uid or gid 0.
Result<TaskIsolation> AccountIdentity(const std::string& unix_name);

// A range uid for job `job_id` (>= 1): `previous` when it is in the range and not in `in_use`
// (a restarted server, a retry); else the first uid not in `in_use` from
// first_uid + (job_id - 1) mod uid_count on, wrapping. ResourceExhausted when every one is in
// use. Example: range 200000-200009, job 12, nothing in use: 200001.
Result<uid_t> PickRangeUid(const IsolationConfig& config, int64_t job_id, uid_t previous,
                           const std::set<uid_t>& in_use);

// What a task must not see of the server's disk: the highest ancestor of `data_dir` that other
// uids cannot search (mode without o+x: a task could not reach anything below it anyway, and
// its own dirs must be re-created below a searchable root), else `data_dir` itself.
// REQUIRES: data_dir absolute and canonical.
std::string HiddenRoot(const std::string& data_dir);

}  // namespace kumo::executor
