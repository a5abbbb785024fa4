#include "client/code_version.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sha256.h"

namespace kumo::client {

std::optional<std::string> RunExact(const std::string& dir, const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return std::nullopt;
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    dup2(pipefd[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    close(pipefd[0]);
    close(pipefd[1]);
    if (chdir(dir.c_str()) != 0) _exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

// stdout of `argv` in `dir` without trailing whitespace; "" when it fails.
static std::string RunTrimmed(const std::string& dir, const std::vector<std::string>& argv) {
  std::string out = RunExact(dir, argv).value_or("");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

nlohmann::json CodeVersion(const std::string& dir) {
  nlohmann::json cv = {{"dir", dir}};
  std::string commit = RunTrimmed(dir, {"git", "rev-parse", "HEAD"});
  if (commit.empty()) return cv;  // not a git work tree, or one without commits yet
  // --no-color/--no-ext-diff: a user's color.ui=always or external diff tool must not change
  // what is hashed.
  auto diff = RunExact(dir, {"git", "diff", "--no-color", "--no-ext-diff", "HEAD"});
  std::string status = RunTrimmed(dir, {"git", "status", "--porcelain"});
  bool has_diff = diff && !diff->empty();
  return {{"gitCommit", commit},
          {"gitDirty", has_diff || !status.empty()},
          {"gitDiffSha256", has_diff ? Sha256Hex(*diff) : ""},
          {"dir", dir}};
}

}  // namespace kumo::client
