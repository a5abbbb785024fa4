// Test-only: what the cache tests that run real processes share. Spawning a program with
// posix_spawn (stdin /dev/null, stdout and stderr to log files, KUMO_CACHE_* removed from the
// inherited environment so a developer's settings never reach a test), running one to
// completion, a `kumo cache serve` on loopback that reports its port through --port-file, runs
// on the I/O backend KUMO_TEST_CACHE_IO names (test_io_backend.h) and is stopped by its PID, and
// the few HTTP/1.1 helpers the tests speak over raw sockets (loopback only; the tests control
// every byte, so no client library sits in between).
//
// Header-only so that every *_test.cc can include it without a library of its own. Not
// thread-safe unless said otherwise; a ServeProcess belongs to one test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "test/support/test_io_backend.h"

extern char** environ;

namespace kumo::cache::test_process {

// ---- Files ----

// A fresh directory /tmp/PREFIX-XXXXXX (mkdtemp); "" and a failed test when it cannot be made.
// The caller removes it (std::filesystem::remove_all) when done.
inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    return "";
  }
  return tmpl;
}

// Writes `text` to PATH.tmp and renames it over `path` (readers never see half a file).
inline void WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
    f << text;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) ADD_FAILURE() << "rename " << tmp;
}

// The whole file, or "" when it cannot be read.
inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `n` bytes from a fixed seed (the same bytes on every run).
inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// ---- Processes ----

struct SpawnOptions {
  std::string stdin_path = "/dev/null";
  std::string stdout_path;  // required
  std::string stderr_path;  // empty: the same file as stdout
  bool append = false;      // O_APPEND (a log kept across restarts) instead of O_TRUNC
  std::vector<std::string> env;  // "NAME=value", added to the inherited environment
};

// Starts args[0] (a path, not searched in PATH) with args; -1 when posix_spawn fails (and the
// test is marked failed).
inline pid_t Spawn(const std::vector<std::string>& args, const SpawnOptions& o) {
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (std::string& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> e = o.env;
  for (char** p = environ; *p != nullptr; ++p)
    if (!std::string_view(*p).starts_with("KUMO_CACHE_")) e.push_back(*p);
  std::vector<char*> envp;
  for (std::string& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  int mode = O_WRONLY | O_CREAT | (o.append ? O_APPEND : O_TRUNC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, o.stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, o.stdout_path.c_str(), mode, 0644);
  if (o.stderr_path.empty() || o.stderr_path == o.stdout_path) {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, o.stderr_path.c_str(), mode, 0644);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "posix_spawn " << args[0] << ": " << std::strerror(rc);
  return rc == 0 ? pid : -1;
}

// Runs args to completion; its exit code, or -1 when it could not start or died of a signal.
inline int RunToExit(const std::vector<std::string>& args, const SpawnOptions& o) {
  pid_t pid = Spawn(args, o);
  if (pid <= 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Sends `sig` to `pid` and reaps it: up to 5 s for it to exit (polled every 50 ms), then
// SIGKILL. SIGKILL itself is a crash, as the full-disk test wants.
inline void StopProcess(pid_t pid, int sig = SIGTERM) {
  if (pid <= 0) return;
  kill(pid, sig);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
}

// `kumo cache serve` on 127.0.0.1 port 0 with --port-file; stopped (SIGTERM, then SIGKILL) by
// its PID when destroyed. Movable, so tests can keep a vector of them.
class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess() { Stop(); }
  ServeProcess(ServeProcess&& o) noexcept { *this = std::move(o); }
  ServeProcess& operator=(ServeProcess&& o) noexcept {
    if (this != &o) {
      Stop();
      pid_ = std::exchange(o.pid_, -1);
      port_ = std::exchange(o.port_, 0);
      port_file_ = std::move(o.port_file_);
      log_ = std::move(o.log_);
    }
    return *this;
  }

  // Spawns KUMO_BINARY cache serve --listen 127.0.0.1:0 --port-file PORT_FILE SERVE_ARGS...
  // [--io KUMO_TEST_CACHE_IO], stdout and stderr to `log` (appended with `append_log`). Does not
  // wait: see AwaitPort.
  ::testing::AssertionResult Spawn(const std::vector<std::string>& serve_args,
                                   const std::string& port_file, const std::string& log,
                                   bool append_log = false) {
    Stop();
    std::filesystem::remove(port_file);  // a restart must not read the previous port
    port_file_ = port_file;
    log_ = log;
    std::vector<std::string> args = {KUMO_BINARY, "cache",       "serve",  "--listen",
                                     "127.0.0.1:0", "--port-file", port_file};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    AddTestIoFlag(&args);
    SpawnOptions o;
    o.stdout_path = log;
    o.append = append_log;
    pid_ = test_process::Spawn(args, o);
    if (pid_ <= 0) return ::testing::AssertionFailure() << "posix_spawn " << KUMO_BINARY;
    return ::testing::AssertionSuccess();
  }

  // Waits (up to 20 s, polled every 50 ms) until the port file holds a port.
  ::testing::AssertionResult AwaitPort() {
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::ifstream pf(port_file_);
      int p = 0;
      if (pf >> p && p > 0) port_ = static_cast<uint16_t>(p);
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (port_ == 0)
      return ::testing::AssertionFailure() << "kumo cache serve did not start; log: " << Log();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult Start(const std::vector<std::string>& serve_args,
                                   const std::string& port_file, const std::string& log,
                                   bool append_log = false) {
    ::testing::AssertionResult spawned = Spawn(serve_args, port_file, log, append_log);
    return spawned ? AwaitPort() : spawned;
  }

  // See StopProcess; a no-op when not running.
  void Stop(int sig = SIGTERM) {
    StopProcess(pid_, sig);
    pid_ = -1;
    port_ = 0;
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadAll(log_); }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string port_file_, log_;
};

// ---- HTTP over loopback ----

// A connected TCP socket to 127.0.0.1:port, or -1.
inline int ConnectLoopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// False when the peer is gone (no SIGPIPE).
inline bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Reads one response from `fd`; `*buf` holds bytes read but not yet used (pipelined answers).
// A HEAD, 204 or 304 has no body whatever Content-Length says. False on EOF before the end.
inline bool ReadReply(int fd, std::string* buf, bool head_request, HttpReply* r) {
  auto fill = [&] {
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = buf->find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return false;
  std::string head = buf->substr(0, end + 2);
  buf->erase(0, end + 4);
  *r = HttpReply{};
  r->status = std::atoi(head.substr(9, 3).c_str());
  for (size_t pos = head.find("\r\n") + 2; pos < head.size();) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r->headers[name] = line.substr(colon + 2);
    pos = eol + 2;
  }
  size_t len = r->headers.count("content-length") ? std::stoul(r->headers["content-length"]) : 0;
  if (head_request || r->status == 204 || r->status == 304) len = 0;
  while (buf->size() < len)
    if (!fill()) return false;
  r->body = buf->substr(0, len);
  buf->erase(0, len);
  return true;
}

// GET /metrics (no auth) on a fresh connection; the whole response, head included ("" when
// the server cannot be reached).
inline std::string Metrics(uint16_t port) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  std::string out;
  if (SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")) {
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The value of the unlabelled sample line "name N" in `metrics`, or UINT64_MAX when absent.
inline uint64_t MetricValue(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? UINT64_MAX : std::stoull(metrics.substr(at + name.size() + 2));
}

}  // namespace kumo::cache::test_process
