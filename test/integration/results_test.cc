// Results end to end: metrics.json recorded in the Result, `kumo results`, `kumo get results`,
// `kumo cp` from a server whose data dir shares no path with the client's, and `kumo rerun` of a
// deterministic PyTorch CPU training job giving a bit-identical model.pt and the same metrics.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

std::string Job(const std::string& name, const std::string& command) {
  return "apiVersion: kumo/v1\nkind: Job\nmetadata: {name: " + name +
         "}\nspec:\n  project: default\n  taskGroups:\n    - name: main\n      command: " +
         command + "\n      resources: {cpu: 1, memory: 1Gi}\n";
}

class ResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server's temp dir and the client's are different trees: nothing reaches the outputs
    // but the API.
    std::string inv = server_dir_.path() + "/inv.yaml";
    WriteFile(inv, "nodes:\n  - {name: n, cpu: 4, memory: 8Gi}\n");
    server_ = std::make_unique<ServerProcess>(server_dir_.path() + "/data", inv);
    ASSERT_TRUE(server_->Start());
  }
  // `kumo ARGS` run in `dir`.
  std::pair<int, std::string> Kumo(const std::string& dir, const std::string& args) {
    return Shell("cd " + dir + " && KUMO_CONFIG= HOME=" + client_dir_.path() +
                 " KUMO_SERVER=127.0.0.1:" + std::to_string(server_->port()) +
                 " KUMO_TOKEN=" + server_->admin_token() + " " + KUMO_BINARY + " " + args);
  }

  TempDir server_dir_, client_dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ResultsTest, MetricsResultsAndCpFromAnotherTree) {
  std::string src = client_dir_.path() + "/src";
  WriteFile(src + "/job.yaml",
            Job("outputs", "[\"/bin/sh\", \"-c\", \"cd $KUMO_OUTPUT_DIR && head -c 20000000 "
                           "/dev/urandom > big.bin && sha256sum big.bin > big.sha && mkdir sub && "
                           "echo hi > sub/notes.txt && echo '{\\\"loss\\\": 0.5}' > "
                           "metrics.json\"]"));
  auto [rc, out] = Kumo(src, "submit -f job.yaml");
  ASSERT_EQ(rc, 0) << out;
  Api api(server_->port(), server_->admin_token());
  ASSERT_EQ(api.WaitPhase(1, "Succeeded").value("phase", ""), "Succeeded");

  auto [rrc, results] = Kumo(src, "results 1 -o json");
  ASSERT_EQ(rrc, 0) << results;
  json items = json::parse(results);
  EXPECT_EQ(items[0]["metrics"], json({{"loss", 0.5}})) << results;
  auto [grc, table] = Kumo(src, "get results --project default");
  EXPECT_EQ(grc, 0) << table;
  EXPECT_NE(table.find("loss"), std::string::npos) << table;
  EXPECT_NE(table.find("0.5"), std::string::npos) << table;

  std::string dest = client_dir_.path() + "/got";
  auto [crc, cp] = Kumo(client_dir_.path(), "cp 1 " + dest);
  ASSERT_EQ(crc, 0) << cp;
  std::string big = testing::ReadFile(dest + "/big.bin");
  EXPECT_EQ(big.size(), 20000000u);  // three pieces of at most 8 MiB
  EXPECT_EQ(testing::ReadFile(dest + "/big.sha").substr(0, 64), Sha256Hex(big));
  EXPECT_EQ(testing::ReadFile(dest + "/sub/notes.txt"), "hi\n");
  auto [frc, one] = Kumo(client_dir_.path(), "cp 1:sub/notes.txt notes.copy");
  ASSERT_EQ(frc, 0) << one;
  EXPECT_EQ(testing::ReadFile(client_dir_.path() + "/notes.copy"), "hi\n");
  auto [mrc, missing] = Kumo(client_dir_.path(), "cp 1:nope x");
  EXPECT_EQ(mrc, 1);
  EXPECT_NE(missing.find("no output \"nope\""), std::string::npos) << missing;
  EXPECT_FALSE(fs::exists(client_dir_.path() + "/x"));
}

TEST_F(ResultsTest, RerunOfADeterministicTorchJobIsBitIdentical) {
  std::string src = client_dir_.path() + "/train";
  WriteFile(src + "/train.py", R"(import json, os, torch
torch.manual_seed(int(os.environ["KUMO_SEED"]))
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
x = torch.randn(256, 8)
y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for _ in range(100):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
out = os.environ["KUMO_OUTPUT_DIR"]
torch.save(model.state_dict(), out + "/model.pt")
with open(out + "/metrics.json", "w") as f:
    json.dump({"loss": loss.item()}, f)
)");
  WriteFile(src + "/job.yaml", Job("torch", "[\"/usr/bin/python3\", \"train.py\"]"));
  auto [rc, out] = Kumo(src, "submit -f job.yaml");
  ASSERT_EQ(rc, 0) << out;
  // The rerun must not depend on the directory: it runs the snapshot.
  WriteFile(src + "/train.py", "raise SystemExit('edited after submit')\n");
  Api api(server_->port(), server_->admin_token());
  ASSERT_EQ(api.WaitPhase(1, "Succeeded", 300).value("phase", ""), "Succeeded")
      << api.Call("GET", "/v1/jobs/1/logs?stream=stderr").text;
  auto [rrc, rerun] = Kumo(src, "rerun 1");
  ASSERT_EQ(rrc, 0) << rerun;
  EXPECT_NE(rerun.find("job 2 submitted (rerun of job 1"), std::string::npos) << rerun;
  ASSERT_EQ(api.WaitPhase(2, "Succeeded", 300).value("phase", ""), "Succeeded")
      << api.Call("GET", "/v1/jobs/2/logs?stream=stderr").text;

  json r1 = api.Call("GET", "/v1/jobs/1/results").body["items"][0];
  json r2 = api.Call("GET", "/v1/jobs/2/results").body["items"][0];
  EXPECT_EQ(r2["seed"], r1["seed"]);
  EXPECT_EQ(r2["codeVersion"]["snapshot"], r1["codeVersion"]["snapshot"]);
  EXPECT_EQ(r2["codeVersion"]["rerunOf"], 1);
  EXPECT_EQ(r2["specSha256"], r1["specSha256"]);
  ASSERT_TRUE(r1["metrics"].contains("loss")) << r1.dump();
  EXPECT_EQ(r2["metrics"], r1["metrics"]);
  ASSERT_EQ(Kumo(client_dir_.path(), "cp 1:model.pt m1.pt").first, 0);
  ASSERT_EQ(Kumo(client_dir_.path(), "cp 2:model.pt m2.pt").first, 0);
  std::string m1 = testing::ReadFile(client_dir_.path() + "/m1.pt"), m2 = testing::ReadFile(client_dir_.path() + "/m2.pt");
  EXPECT_GT(m1.size(), 0u);
  EXPECT_EQ(Sha256Hex(m1), Sha256Hex(m2));
}

}  // namespace
}  // namespace kumo
