// The datasets tests' setup (dataset_test.cc, job_dataset_test.cc): the real `kumo server` with
// its cache signing key and the real `kumo cache serve` trusting the server's JWKS, on loopback
// in a temp dir; projects team-a (user alice) and team-b (user bob); `kumo dataset` as either.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/util.h"
#include "test/integration/server_fixture.h"
#include "test/support/test_process.h"

namespace kumo::dataset_testing {

namespace fs = std::filesystem;
using ::kumo::testing::Api;
using ::kumo::testing::TempDir;
using ::kumo::testing::WriteFile;
namespace test_process = ::kumo::cache::test_process;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/server";
    fs::create_directories(data_);
    WriteFile(dir_.path() + "/inv.yaml", "nodes:\n  - {name: n, cpu: 4, memory: 8Gi}\n");
    // The cache's address is decided first: the server only hands it out, and the cache reads
    // the JWKS that the server writes when it starts.
    cache_port_ = server::FreeLoopbackPort();
    server_ = std::make_unique<testing::ServerProcess>(
        data_, std::vector<std::string>{"--inventory", dir_.path() + "/inv.yaml", "--no-cgroups",
                                        "--cache", "127.0.0.1:" + std::to_string(cache_port_),
                                        "--config", ServerConfigFile()});
    ASSERT_TRUE(server_->Start()) << testing::ReadFile(data_ + ".log");
    server_port_ = server_->port();
    admin_ = server_->admin_token();

    WriteFile(dir_.path() + "/acl.yaml",
              "namespaces:\n  kumo:\n    read: [datasets]\n    write: [datasets]\n");
    test_process::SpawnOptions co;
    co.stdout_path = dir_.path() + "/cache.log";
    fs::create_directories(dir_.path() + "/cache");
    std::string port_file = dir_.path() + "/cache.port";
    cache_pid_ = test_process::Spawn(
        {KUMO_BINARY, "cache", "serve", "--listen", "127.0.0.1:" + std::to_string(cache_port_),
         "--port-file", port_file, "--dir", dir_.path() + "/cache", "--capacity", "256Mi",
         "--jwks", data_ + "/cache-jwks.json", "--acl", dir_.path() + "/acl.yaml"},
        co);
    for (int i = 0; i < 400 && testing::ReadFile(port_file).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(testing::ReadFile(port_file).empty()) << testing::ReadFile(co.stdout_path);

    Api admin(server_port_, admin_);
    ASSERT_EQ(admin.Call("POST", "/v1/projects", R"({"name": "team-a"})").status, 201);
    ASSERT_EQ(admin.Call("POST", "/v1/projects", R"({"name": "team-b"})").status, 201);
    alice_ = admin.Call("POST", "/v1/users", R"({"name": "alice", "projects": ["team-a"]})")
                 .body["token"];
    bob_ = admin.Call("POST", "/v1/users", R"({"name": "bob", "projects": ["team-b"]})")
               .body["token"];
  }
  // The server's --config file; a test with settings of its own writes them in its override.
  virtual std::string ServerConfigFile() {
    WriteFile(dir_.path() + "/server.yaml", "{}\n");
    return dir_.path() + "/server.yaml";
  }
  void TearDown() override {
    test_process::StopProcess(cache_pid_);
    server_.reset();
  }

  struct Run {
    int rc;
    std::string out;
  };
  // `kumo dataset ARGS...` as the user with `token`.
  Run Kumo(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {KUMO_BINARY, "dataset"});
    args.insert(args.end(), {"--server", "127.0.0.1:" + std::to_string(server_port_), "--token",
                             token});
    test_process::SpawnOptions o;
    o.stdout_path = dir_.path() + "/cli.log";
    int rc = test_process::RunToExit(args, o);
    return {rc, testing::ReadFile(o.stdout_path)};
  }

  TempDir dir_;
  std::string data_, admin_, alice_, bob_;
  int cache_port_ = 0;
  uint16_t server_port_ = 0;
  std::unique_ptr<testing::ServerProcess> server_;
  pid_t cache_pid_ = -1;
};

}  // namespace kumo::dataset_testing
