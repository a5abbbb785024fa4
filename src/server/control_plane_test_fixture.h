// Test-only: a ControlPlane in-process on a FakeClock, in a temp dir, over one emulated node with
// two GPUs, and an HTTP client holding the admin's token: the fixture of the tests that drive
// the server's rooms through its API without a process of its own.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/control_plane.h"
#include "test/support/temp_dir.h"

namespace kumo::server {

class ControlPlaneFixture : public ::testing::Test {
 protected:
  // Changes to the config before the start (a test's own settings; the clock may be set too).
  virtual void Configure(ServerConfig& config) { (void)config; }

  void SetUp() override {
    dir_.Write("inventory.yaml",
               "nodes:\n  - {name: node, count: 1, cpu: 4, memory: 8Gi, gpus: {count: 2, model: x}}\n");
    Start();
  }
  // Stops the control plane and starts another on the same data dir (tasks of the local executor
  // keep running: the next one adopts them).
  void Restart() {
    client_.reset();
    cp_.reset();
    Start();
  }
  void Start() {
    ServerConfig config;
    config.data_dir = dir_.Path("data");
    config.inventory_file = dir_.Path("inventory.yaml");
    config.use_cgroups = false;
    Configure(config);
    auto cp = ControlPlane::Start(config, clock_);
    ASSERT_TRUE(cp.has_value()) << cp.error().message();
    cp_ = std::move(*cp);
    std::ifstream(cp_->admin_token_path()) >> admin_;
    client_ = std::make_unique<http::Client>("127.0.0.1", cp_->port());
  }
  void TearDown() override {
    client_.reset();
    cp_.reset();
  }
  // The answer's JSON with its HTTP status added as "status"; null on a transport failure.
  nlohmann::json CallAs(const std::string& token, const std::string& method,
                        const std::string& target, const std::string& body = "") {
    auto r = client_->Call(method, target, body, {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(r.has_value());
    if (!r) return nullptr;
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object()) j["status"] = r->status;
    return j;
  }
  nlohmann::json Call(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    return CallAs(admin_, method, target, body);
  }
  // Polls `done` every 10 ms for at most ~10 s of real time.
  template <typename F>
  bool WaitFor(F done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  FakeClock clock_{1'700'000'000.0};
  ::kumo::testing::TempDir dir_;  // removed after the members below it
  std::string admin_;
  std::unique_ptr<ControlPlane> cp_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace kumo::server
