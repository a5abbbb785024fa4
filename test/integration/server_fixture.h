// Starts the real `kumo server` binary on 127.0.0.1 (port 0) with a temp data dir, for
// integration tests; kills it by PID and removes the temp dir at the end.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/http.h"
#include "test/support/temp_dir.h"

namespace kumo::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Writes `text` to `path`, creating its directories.
inline void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `cmd` with /bin/sh; its exit code (-1: killed) and its stdout and stderr together.
inline std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// One server process. Start() may be called again after Kill() (a restart on the same dir).
class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::string inventory)
      : data_dir_(std::move(data_dir)), args_{"--inventory", std::move(inventory), "--no-cgroups"} {}
  // With other flags than an inventory (e.g. --config FILE for another executor).
  ServerProcess(std::string data_dir, std::vector<std::string> args)
      : data_dir_(std::move(data_dir)), args_(std::move(args)) {}
  ~ServerProcess() {
    Kill(SIGKILL);
    KillTasks();
  }

  // Returns false when the server did not come up within ~30 s.
  bool Start() {
    std::filesystem::remove(data_dir_ + "/server.port");
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = data_dir_ + ".log";
      FILE* f = std::fopen(log.c_str(), "a");
      if (f) {
        dup2(fileno(f), 1);
        dup2(fileno(f), 2);
      }
      std::vector<std::string> args = {KUMO_BINARY, "server", "--data-dir", data_dir_, "--listen",
                                       "127.0.0.1:0"};
      args.insert(args.end(), args_.begin(), args_.end());
      args.insert(args.end(), extra_args_.begin(), extra_args_.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(KUMO_BINARY, argv.data());
      _exit(127);
    }
    for (int i = 0; i < 3000; ++i) {
      std::string port = ReadFile(data_dir_ + "/server.port");
      if (!port.empty()) {
        port_ = static_cast<uint16_t>(std::stoi(port));
        token_ = ReadFile(data_dir_ + "/admin.token");
        while (!token_.empty() && token_.back() == '\n') token_.pop_back();
        return true;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  // Kills every task shim (and its process group) still running under this data dir.
  void KillTasks() {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      // Not ReadFile: libstdc++'s filebuf throws when read(2) fails, and reading the cmdline
      // of a process that just exited fails with ESRCH.
      std::string cmd;
      int fd = ::open((entry.path().string() + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) cmd.append(buf, static_cast<size_t>(n));
      ::close(fd);
      if (cmd.find("__task-shim") != std::string::npos &&
          cmd.find(data_dir_ + "/") != std::string::npos)
        kill(-std::stoi(name), SIGKILL);
    }
  }

  pid_t pid() const { return pid_; }
  // More flags for the next Start (e.g. {"--config", path}).
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  uint16_t port() const { return port_; }
  const std::string& admin_token() const { return token_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string data_dir_;
  std::vector<std::string> args_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
  std::string token_;
};

// A JSON API client with one token.
class Api {
 public:
  Api(uint16_t port, std::string token) : client_("127.0.0.1", port), token_(std::move(token)) {}
  struct Reply {
    int status = 0;
    nlohmann::json body;
    std::string text;
  };
  Reply Call(const std::string& method, const std::string& target, const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
    auto r = client_.Call(method, target, body, headers);
    if (!r) return {0, nullptr, r.error().message()};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false), r->body};
  }
  Reply Submit(const std::string& yaml, const std::string& dir) {
    return Call("POST", "/v1/jobs", yaml, {{"X-Kumo-Submit-Dir", dir}});
  }
  const std::string& token() const { return token_; }
  nlohmann::json Job(int64_t id) { return Call("GET", "/v1/jobs/" + std::to_string(id)).body; }
  // Polls until the job reaches `phase` (bounded: ~timeout_s); returns the last job JSON.
  nlohmann::json WaitPhase(int64_t id, const std::string& phase, int timeout_s = 120) {
    nlohmann::json j;
    for (int i = 0; i < timeout_s * 20; ++i) {
      j = Job(id);
      if (j.is_object() && j.value("phase", "") == phase) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return j;
  }

 private:
  http::Client client_;
  std::string token_;
};

}  // namespace kumo::testing
