#include "executor/shim_command_line.h"

#include <dirent.h>

#include <cstdlib>

#include "executor/procfs.h"
#include "executor/task_shim.h"

namespace kumo::executor {
namespace {

constexpr char kShimVerb[] = "__task-shim";
constexpr char kCgroupFlag[] = "--cgroup=";

}  // namespace

std::vector<std::string> ShimArgv(const std::string& shim_binary, const ShimCommandLine& line) {
  std::vector<std::string> argv = {shim_binary, kShimVerb, line.run_dir, line.cwd};
  if (!line.cgroup_path.empty()) argv.push_back(kCgroupFlag + line.cgroup_path);
  if (const TaskIsolation& iso = line.isolation; iso.enabled) {
    argv.push_back("--uid=" + std::to_string(iso.uid));
    argv.push_back("--gid=" + std::to_string(iso.gid));
    std::string groups;
    for (gid_t g : iso.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
    if (!groups.empty()) argv.push_back("--groups=" + groups);
    if (!iso.hidden_dir.empty()) argv.push_back("--hide=" + iso.hidden_dir);
    for (const std::string& d : iso.writable_dirs) argv.push_back("--rw=" + d);
    for (const ReadOnlyBind& b : iso.readonly_binds)
      argv.push_back("--ro=" + b.source + ":" + b.target);
  }
  argv.push_back("--");
  argv.insert(argv.end(), line.command.begin(), line.command.end());
  return argv;
}

namespace {

// What the C parser filled in, as C++ values (copies: `parsed` points into argv and into the
// parser's own --ro copies).
ShimCommandLine FromParsed(const kumo_task_shim_args& parsed) {
  ShimCommandLine line{parsed.run_dir, parsed.cwd, parsed.cgroup ? parsed.cgroup : "", {}, {}};
  for (char** a = parsed.command; *a != nullptr; ++a) line.command.push_back(*a);
  const kumo_task_sandbox& sb = parsed.sandbox;
  if (!sb.enabled) return line;
  TaskIsolation& iso = line.isolation;
  iso = {true, sb.uid, sb.gid, {}, sb.hide ? sb.hide : "", {sb.rw, sb.rw + sb.rw_count}, {}};
  for (int i = 0; i < sb.ro_count; ++i) iso.readonly_binds.push_back({sb.ro[i], sb.ro_at[i]});
  for (const char* p = sb.groups; p != nullptr && *p != '\0';) {
    char* end = nullptr;
    iso.groups.push_back(static_cast<gid_t>(std::strtoul(p, &end, 10)));
    p = *end == ',' ? end + 1 : end;
  }
  return line;
}

}  // namespace

std::optional<ShimCommandLine> ParseShimArgv(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return std::nullopt;
  // The C parser takes main()'s argv from the verb on: mutable, NULL-terminated copies.
  std::vector<std::string> copies(argv.begin() + 1, argv.end());
  std::vector<char*> args;
  for (std::string& a : copies) args.push_back(a.data());
  args.push_back(nullptr);
  kumo_task_shim_args parsed{};
  const bool ok = kumo_parse_task_shim_args(static_cast<int>(copies.size()), args.data(), &parsed);
  std::optional<ShimCommandLine> line;
  if (ok) line = FromParsed(parsed);
  kumo_release_sandbox_flags(&parsed.sandbox);  // also after a failed parse: binds it had copied
  return line;
}

std::map<std::string, TaskHandle> FindShims(const std::string& run_dir_prefix) {
  std::map<std::string, TaskHandle> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 0) continue;
    std::vector<std::string> argv = ReadProcCmdline(static_cast<pid_t>(pid));
    // Cheap checks first: most processes are not shims.
    if (argv.size() < 3 || argv[1] != kShimVerb) continue;
    std::optional<ShimCommandLine> line = ParseShimArgv(argv);
    if (!line || !line->run_dir.starts_with(run_dir_prefix)) continue;
    // The command, between the shim's fork and its exec, has the shim's command line too; the
    // shim alone leads its process group. Start ticks 0 when the shim ended since its cmdline
    // was read: Signal then still reaches the group it may have left behind, and Poll reads its
    // exit file.
    ProcStat st = ReadProcStat(static_cast<pid_t>(pid));
    if (st.presence == ProcPresence::kPresent && st.pgid != pid) continue;
    int64_t start_ticks = st.presence == ProcPresence::kPresent ? st.start_ticks : 0;
    out[line->run_dir] =
        TaskHandle{static_cast<pid_t>(pid), start_ticks, line->run_dir, line->cgroup_path};
  }
  closedir(proc);
  return out;
}

}  // namespace kumo::executor
