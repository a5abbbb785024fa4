#include "executor/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace kumo::executor {

std::optional<std::string> ReadSmallFile(const std::string& path, int* err) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err != nullptr) *err = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (err != nullptr) *err = errno;
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) break;  // nothing we read is this big; do not trust it further
  }
  close(fd);
  return out;
}

// The command name (field 2) is in parentheses and may itself contain spaces and ')', so
// fields are counted from the last ')'.
ProcStat ReadProcStat(pid_t pid) {
  ProcStat st;
  int err = 0;
  auto text = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat", &err);
  if (!text) {
    st.error = err;
    st.presence = (err == ENOENT || err == ESRCH) ? ProcPresence::kAbsent : ProcPresence::kUnknown;
    return st;
  }
  size_t close_paren = text->rfind(')');
  if (close_paren == std::string::npos) return st;
  std::istringstream fields(text->substr(close_paren + 1));
  std::string field;
  for (int index = 3; index <= 22 && (fields >> field); ++index) {
    if (index == 3) st.state = field.empty() ? '?' : field[0];
    if (index == 4) st.ppid = static_cast<pid_t>(std::atol(field.c_str()));
    if (index == 5) st.pgid = static_cast<pid_t>(std::atol(field.c_str()));
    if (index == 22) {
      int64_t ticks = 0;
      auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), ticks);
      if (ec != std::errc() || ptr != field.data() + field.size()) return st;
      st.start_ticks = ticks;
      st.presence = ProcPresence::kPresent;
    }
  }
  return st;
}

std::vector<std::string> ReadProcCmdline(pid_t pid) {
  std::vector<std::string> argv;
  auto text = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text) return argv;
  // Each argument ends with a NUL, the last one included.
  size_t begin = 0;
  for (size_t end; (end = text->find('\0', begin)) != std::string::npos; begin = end + 1)
    argv.push_back(text->substr(begin, end - begin));
  return argv;
}

}  // namespace kumo::executor
