#include "executor/task_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

namespace kumo::executor {
namespace {

bool ParseUid(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

Status ParseUidRange(const std::string& text, IsolationConfig* config) {
  size_t dash = text.find('-');
  uint64_t first = 0, last = 0;
  if (dash == std::string::npos || !ParseUid(std::string_view(text).substr(0, dash), &first) ||
      !ParseUid(std::string_view(text).substr(dash + 1), &last))
    return Status::InvalidArgument("expected FIRST-LAST, e.g. 200000-265535");
  if (first == 0 || last < first || last >= 0xffffffffULL)
    return Status::InvalidArgument("need 0 < FIRST <= LAST < 4294967295");
  config->first_uid = static_cast<uid_t>(first);
  config->uid_count = static_cast<uint32_t>(last - first + 1);
  return Status::Ok();
}

// Each line's fields split at ':'; calls on_line(line number, fields) until it returns an error.
Status ForEachColonLine(const std::string& path,
                        const std::function<Status(int, const std::vector<std::string>&)>& on_line) {
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string f; std::getline(split, f, ':');) fields.push_back(f);
    if (Status s = on_line(n, fields); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CheckUidRangeIsFree(const IsolationConfig& config, const std::string& passwd_path,
                           const std::string& subuid_path, const std::string& subgid_path) {
  const uint64_t first = config.first_uid, end = first + config.uid_count;
  auto taken = [&](const std::string& path, int line, const std::string& what) {
    return Status::FailedPrecondition(path + ":" + std::to_string(line) + ": " + what +
                                      " overlaps isolation.uidRange " + std::to_string(first) +
                                      "-" + std::to_string(end - 1) + "; choose another range");
  };
  Status s = ForEachColonLine(passwd_path, [&](int n, const std::vector<std::string>& f) {
    uint64_t uid = 0, gid = 0;
    bool in = f.size() > 3 && ((ParseUid(f[2], &uid) && uid >= first && uid < end) ||
                               (ParseUid(f[3], &gid) && gid >= first && gid < end));
    return in ? taken(passwd_path, n, "account " + f[0]) : Status::Ok();
  });
  for (const std::string& path : {subuid_path, subgid_path}) {
    if (!s.ok()) return s;
    s = ForEachColonLine(path, [&](int n, const std::vector<std::string>& f) {
      uint64_t start = 0, count = 0;
      bool overlaps = f.size() > 2 && ParseUid(f[1], &start) && ParseUid(f[2], &count) &&
                      start < end && first < start + count;
      return overlaps ? taken(path, n, "the subordinate ids of " + f[0]) : Status::Ok();
    });
  }
  return s;
}

Result<TaskIsolation> AccountIdentity(const std::string& unix_name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int err = getpwnam_r(unix_name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr)
    return Error(Status::NotFound("no Unix account \"" + unix_name + "\"" +
                                  (err != 0 ? std::string(": ") + std::strerror(err) : "")));
  if (pw.pw_uid == 0 || pw.pw_gid == 0)
    return Error(Status::InvalidArgument("Unix account \"" + unix_name +
                                         "\" has uid or gid 0: tasks never run as root"));
  TaskIsolation iso;
  iso.enabled = true;
  iso.uid = pw.pw_uid;
  iso.gid = pw.pw_gid;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(unix_name.c_str(), pw.pw_gid, groups.data(), &n) < 0)
    return Error(Status::InvalidArgument("Unix account \"" + unix_name +
                                         "\" is in more than 64 groups"));
  for (int i = 0; i < n; ++i)
    if (groups[static_cast<size_t>(i)] != 0) iso.groups.push_back(groups[static_cast<size_t>(i)]);
  return iso;
}

Result<uid_t> PickRangeUid(const IsolationConfig& config, int64_t job_id, uid_t previous,
                           const std::set<uid_t>& in_use) {
  const uint64_t first = config.first_uid, count = config.uid_count;
  if (previous >= first && previous - first < count && !in_use.count(previous)) return previous;
  const uint64_t start = static_cast<uint64_t>(job_id > 0 ? job_id - 1 : 0) % count;
  for (uint64_t i = 0; i < count; ++i) {
    auto uid = static_cast<uid_t>(first + (start + i) % count);
    if (!in_use.count(uid)) return uid;
  }
  return Error(Status(StatusCode::kResourceExhausted,
                      "every uid of isolation.uidRange is in use by a running job"));
}

std::string HiddenRoot(const std::string& data_dir) {
  for (size_t slash = data_dir.find('/', 1);; slash = data_dir.find('/', slash + 1)) {
    std::string prefix = data_dir.substr(0, slash);
    struct stat st;
    if (stat(prefix.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) return prefix;
    if (slash == std::string::npos) break;
  }
  return data_dir;
}

}  // namespace kumo::executor
