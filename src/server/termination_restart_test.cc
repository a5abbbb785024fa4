// A job terminating within its checkpoint grace keeps a grace across a server restart. The
// SIGKILL deadline lived in memory only, so a restarted server killed the adopted task at its
// first tick and the checkpoint it was writing was lost.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/control_plane_test_fixture.h"

namespace kumo::server {
namespace {
using nlohmann::json;

constexpr char kCheckpointing[] = R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  checkpoint: {enabled: true, signal: SIGTERM, gracePeriod: 5m}
  taskGroups:
    - name: main
      command: [sh, -c, "trap 'echo checkpointing' TERM; echo ready; while :; do sleep 0.1; done"]
      workingDir: /tmp
      resources: {cpu: 1}
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class GraceRestartTest : public ControlPlaneFixture {
 protected:
  void Configure(ServerConfig& config) override { config.shim_binary = KUMO_SHIM_BINARY; }
  json Job(int64_t id) { return Call("GET", "/v1/jobs/" + std::to_string(id)); }
};

TEST_F(GraceRestartTest, AnAdoptedTerminatingJobIsNotKilledBeforeItsGrace) {
  json job = Call("POST", "/v1/jobs", kCheckpointing);
  ASSERT_TRUE(job.contains("id")) << job.dump();
  const int64_t id = job["id"];
  // Passes run on the fake clock: each step moves it a second.
  auto reaches = [&](const std::string& phase) {
    return WaitFor([&] {
      clock_.Advance(1);
      return Job(id)["phase"] == phase;
    });
  };
  ASSERT_TRUE(reaches("Running")) << Job(id).dump();
  const std::string log = dir_.Path("data") + "/jobs/" + std::to_string(id) +
                          "/attempt-1/task-0/stdout";
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log) == "ready\n"; }));  // its trap is set
  Call("POST", "/v1/jobs/" + std::to_string(id) + "/cancel");
  ASSERT_TRUE(reaches("Terminating")) << Job(id).dump();
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log) == "ready\ncheckpointing\n"; })) << ReadFile(log);

  Restart();
  clock_.Advance(60);  // a minute into the 5-minute grace: the task must be left alone
  ASSERT_TRUE(WaitFor([&] { return Job(id).contains("phase"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several loop ticks
  EXPECT_EQ(Job(id)["phase"], "Terminating") << Job(id).dump();

  clock_.Advance(300);  // past the grace given at adoption: SIGKILL, then Cancelled
  EXPECT_TRUE(reaches("Cancelled")) << Job(id).dump();
}

}  // namespace
}  // namespace kumo::server
