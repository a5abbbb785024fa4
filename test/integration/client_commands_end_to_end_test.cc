// `kumo submit`, `get`, `describe` and `logs` end to end: the real kumo binary as the server and
// as the CLI, on loopback, in a temp dir (moved here from src/cli: it starts processes).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test/integration/server_fixture.h"
#include "test/support/temp_dir.h"

namespace kumo::client {
namespace {

using nlohmann::json;
using ::kumo::testing::TempDir;

struct RunResult {
  int rc = -1;
  std::string out;
};

// Runs a shell command, stdout (and stderr when asked) captured.
RunResult Shell(const std::string& cmd) {
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ClientCommandsEndToEnd, SubmitGetDescribeLogs) {
  TempDir dir;
  const std::string bin = KUMO_BINARY;
  std::string inv = dir.Write(
      "inv.yaml", "nodes:\n  - {name: node, count: 2, cpu: 8, memory: 16Gi, gpus: {count: 4}}\n");
  dir.Write("job.yaml",
            "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: hello}\nspec:\n  project: default\n"
            "  taskGroups:\n    - name: main\n      command: [\"/bin/sh\", \"-c\", "
            "\"echo hello-from-kumo; echo oops >&2\"]\n"
            "      resources: {cpu: 1, memory: 1Gi, gpu: 1}\n");
  dir.Write("bad.yaml",
            "apiVersion: kumo/v1\nkind: Job\nspec:\n  project: default\n  taskGroups:\n"
            "    - name: main\n      command: [x]\n      resources: {gpu: 1.5}\n");
  std::string data = dir.Path("data");

  ::kumo::testing::ServerProcess server(data, inv);
  ASSERT_TRUE(server.Start()) << Slurp(data + ".log");
  const std::string port = std::to_string(server.port());
  const std::string token = server.admin_token();

  // Connection via the environment; the config file is pointed at nothing so ~ cannot leak in.
  std::string kumo = "cd " + dir.Path("") + " && KUMO_CONFIG= HOME=" + dir.Path("") +
                     " KUMO_SERVER=127.0.0.1:" + port + " KUMO_TOKEN=" + token + " " + bin + " ";

  RunResult submit = Shell(kumo + "submit -f job.yaml");
  ASSERT_EQ(submit.rc, 0) << submit.out;
  EXPECT_EQ(submit.out, "job 1 submitted\n");

  RunResult list = Shell(kumo + "get jobs -o json");
  ASSERT_EQ(list.rc, 0) << list.out;
  json jobs = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(jobs.is_object()) << list.out;
  ASSERT_EQ(jobs["items"].size(), 1u) << list.out;
  EXPECT_EQ(jobs["items"][0]["id"], 1);
  EXPECT_EQ(jobs["items"][0]["name"], "hello");

  // Wait (bounded) for the job to finish.
  std::string phase;
  for (int i = 0; i < 150 && phase != "Succeeded" && phase != "Failed"; ++i) {
    RunResult one = Shell(kumo + "get job 1 -o json");
    ASSERT_EQ(one.rc, 0) << one.out;
    phase = json::parse(one.out, nullptr, false).value("phase", "");
    if (phase != "Succeeded") std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(phase, "Succeeded");

  RunResult table = Shell(kumo + "get jobs");
  EXPECT_EQ(table.rc, 0);
  EXPECT_TRUE(table.out.starts_with("ID   NAME    PROJECT   USER    PHASE")) << table.out;

  RunResult describe = Shell(kumo + "describe job 1");
  ASSERT_EQ(describe.rc, 0) << describe.out;
  for (const char* want : {"Job:              1 (hello)", "Phase:            Succeeded",
                           "Spec SHA256:", "Code Version:     not a git checkout", "Attempt 1",
                           "Outputs:", "Events:", "RANK"})
    EXPECT_NE(describe.out.find(want), std::string::npos) << want << "\n" << describe.out;

  RunResult logs = Shell(kumo + "logs 1");
  EXPECT_EQ(logs.rc, 0);
  EXPECT_EQ(logs.out, "hello-from-kumo\n");
  RunResult err = Shell(kumo + "logs 1 --stderr -f");  // -f ends: the job is done
  EXPECT_EQ(err.rc, 0);
  EXPECT_EQ(err.out, "oops\n");

  RunResult yaml = Shell(kumo + "get nodes -o yaml");
  EXPECT_EQ(yaml.rc, 0);
  EXPECT_NE(yaml.out.find("- cordonReason: \"\""), std::string::npos) << yaml.out;

  // Exit codes: 1 when the server says no, 2 for bad usage; messages on stderr.
  RunResult missing = Shell(kumo + "describe job 99 2>&1");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.out.find("job 99 not found"), std::string::npos) << missing.out;
  RunResult bad = Shell(kumo + "submit -f bad.yaml 2>&1");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.out.find("bad.yaml:8: spec."), std::string::npos) << bad.out;
  EXPECT_EQ(Shell(kumo + "get widgets 2>/dev/null").rc, 2);
  EXPECT_EQ(Shell(kumo + "get jobs --bogus 2>/dev/null").rc, 2);
  RunResult no_token =
      Shell("cd " + dir.Path("") + " && KUMO_CONFIG= HOME=" + dir.Path("") + " KUMO_TOKEN= " + bin +
            " whoami --server 127.0.0.1:" + port + " 2>&1");
  EXPECT_EQ(no_token.rc, 1) << no_token.out;
  EXPECT_NE(no_token.out.find("no API token"), std::string::npos) << no_token.out;
  RunResult wrong_token = Shell(kumo + "whoami --token nope 2>&1");
  EXPECT_EQ(wrong_token.rc, 1);
  EXPECT_NE(wrong_token.out.find("invalid token (token from --token)"), std::string::npos)
      << wrong_token.out;
}

}  // namespace
}  // namespace kumo::client
