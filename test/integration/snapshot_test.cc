// Code snapshots end to end: `kumo submit` (the real CLI, run in the submit directory) uploads
// the directory; the directory is edited right after; the task still runs the submitted code
// in its own copy, and the Result names the digest of exactly the submitted tree.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "api/dataset_manifest.h"
#include "base/sha256.h"
#include "test/integration/server_fixture.h"

namespace kumo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Api;
using testing::ServerProcess;
using testing::TempDir;
using testing::WriteFile;
using testing::Shell;

class SnapshotTest : public ::testing::Test {
 protected:
  void Start(const std::string& config = "") {
    std::string inv = dir_.path() + "/inv.yaml";
    WriteFile(inv, "nodes:\n  - {name: n, cpu: 4, memory: 8Gi}\n");
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", inv);
    if (!config.empty()) {
      WriteFile(dir_.path() + "/server.yaml", config);
      server_->set_extra_args({"--config", dir_.path() + "/server.yaml"});
    }
    ASSERT_TRUE(server_->Start());
  }
  std::string Kumo(const std::string& dir) {
    return "cd " + dir + " && KUMO_CONFIG= HOME=" + dir_.path() + " KUMO_SERVER=127.0.0.1:" +
           std::to_string(server_->port()) + " KUMO_TOKEN=" + server_->admin_token() + " " +
           KUMO_BINARY + " ";
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SnapshotTest, EditsAfterSubmitChangeNothingAndTheResultNamesTheTree) {
  Start();
  std::string src = dir_.path() + "/src";
  WriteFile(src + "/msg.txt", "submitted\n");
  WriteFile(src + "/run.sh", "#!/bin/sh\nsleep 1\ncat msg.txt\nls\n");
  ::chmod((src + "/run.sh").c_str(), 0755);
  WriteFile(src + "/.gitignore", "ignored.bin\n");
  WriteFile(src + "/ignored.bin", "not code");
  ASSERT_EQ(Shell("cd " + src + " && git init -q . && git add msg.txt run.sh .gitignore").first, 0);
  WriteFile(src + "/untracked.txt", "also code\n");  // untracked, not ignored: in the snapshot
  WriteFile(src + "/job.yaml",
            "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: snap}\nspec:\n  project: default\n"
            "  taskGroups:\n    - name: main\n      command: [\"./run.sh\"]\n"
            "      resources: {cpu: 1, memory: 1Gi}\n");
  // What the Result must name: the manifest of the tree as submitted (job.yaml is untracked too).
  auto entry = [&](const std::string& path, bool exec = false) {
    std::ifstream in(src + "/" + path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json e = {{"path", path}, {"size", bytes.size()}, {"sha256", Sha256Hex(bytes)}};
    if (exec) e["executable"] = true;
    return e;
  };
  auto expected = api::ParseManifest({{"files",
                                       {entry("msg.txt"), entry("run.sh", true),
                                        entry(".gitignore"), entry("untracked.txt"),
                                        entry("job.yaml")}}});
  ASSERT_TRUE(expected.has_value());

  auto [rc, out] = Shell(Kumo(src) + "submit -f job.yaml");
  ASSERT_EQ(rc, 0) << out;
  WriteFile(src + "/msg.txt", "edited after submit\n");
  WriteFile(src + "/run.sh", "#!/bin/sh\necho edited script\n");

  Api api(server_->port(), server_->admin_token());
  json job = api.WaitPhase(1, "Succeeded");
  ASSERT_EQ(job.value("phase", ""), "Succeeded") << job.dump();
  json logs = api.Call("GET", "/v1/jobs/1/logs").body;
  std::string log = logs.value("data", "");
  EXPECT_NE(log.find("submitted\n"), std::string::npos) << log;
  EXPECT_EQ(log.find("edited"), std::string::npos) << log;
  EXPECT_NE(log.find("untracked.txt"), std::string::npos) << log;
  EXPECT_EQ(log.find("ignored.bin"), std::string::npos) << log;
  json results = api.Call("GET", "/v1/jobs/1/results").body;
  ASSERT_EQ(results["items"].size(), 1u) << results.dump();
  EXPECT_EQ(results["items"][0]["codeVersion"]["snapshot"], expected->Digest());
  EXPECT_EQ(results["items"][0]["codeVersion"]["submitDir"], src);
  // The snapshot is readable back as that manifest.
  json manifest = api.Call("GET", "/v1/snapshots/" + expected->Digest()).body;
  EXPECT_EQ(manifest["files"], api::ManifestJson(*expected)["files"]);
}

TEST_F(SnapshotTest, OverTheCapIsAClearErrorAndNothingIsSubmitted) {
  Start("snapshotMaxBytes: 1Mi\n");
  std::string src = dir_.path() + "/big";
  WriteFile(src + "/weights.bin", std::string(2 << 20, 'w'));
  WriteFile(src + "/job.yaml",
            "apiVersion: kumo/v1\nkind: Job\nspec:\n  project: default\n  taskGroups:\n"
            "    - name: main\n      command: [\"true\"]\n      resources: {cpu: 1}\n");
  auto [rc, out] = Shell(Kumo(src) + "submit -f job.yaml");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("over the server's cap of 1Mi"), std::string::npos) << out;
  EXPECT_NE(out.find("weights.bin (2Mi)"), std::string::npos) << out;
  Api api(server_->port(), server_->admin_token());
  EXPECT_EQ(api.Call("GET", "/v1/jobs").body["items"].size(), 0u);
  // --no-snapshot runs in the directory itself.
  auto [rc2, out2] = Shell(Kumo(src) + "submit -f job.yaml --no-snapshot");
  EXPECT_EQ(rc2, 0) << out2;
}

}  // namespace
}  // namespace kumo
