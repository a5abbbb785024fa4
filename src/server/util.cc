#include "server/util.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace kumo::server {

static int64_t StartTicks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  // Fields after "pid (comm)": state is field 3; starttime is field 22.
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) return std::stoll(field);
  return 0;
}

std::map<std::string, std::pair<pid_t, int64_t>> FindShims(const std::string& prefix) {
  std::map<std::string, std::pair<pid_t, int64_t>> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end || pid <= 0) continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::string> argv;
    size_t start = 0;
    for (size_t i = 0; i < cmd.size() && argv.size() < 3; ++i)
      if (cmd[i] == '\0') {
        argv.push_back(cmd.substr(start, i - start));
        start = i + 1;
      }
    if (argv.size() < 3 || argv[1] != "__task-shim" || !argv[2].starts_with(prefix)) continue;
    out[argv[2]] = {static_cast<pid_t>(pid), StartTicks(static_cast<pid_t>(pid))};
  }
  closedir(d);
  return out;
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 29500;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max, int64_t* size) {
  std::ifstream f(path, std::ios::binary);
  if (size) *size = 0;
  if (!f) return "";
  f.seekg(0, std::ios::end);
  int64_t n = f.tellg();
  if (size) *size = n;
  if (offset < 0) offset = std::max<int64_t>(0, n + offset);
  if (offset >= n) return "";
  f.seekg(offset);
  std::string out(static_cast<size_t>(std::min(max, n - offset)), '\0');
  f.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(f.gcount()));
  return out;
}

}  // namespace kumo::server
