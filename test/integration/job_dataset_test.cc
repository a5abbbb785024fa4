// Datasets in jobs (docs/datasets.md "Datasets in jobs"): a job names a dataset version; the
// server pins it at submit, materialises it on the node from kumo cache into the node store
// when the job starts, and the task reads it read-only at its mountPath. The real server, cache
// and CLI on loopback (dataset_fixture.h); tasks run isolated (the server is root here).
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "base/sha256.h"
#include "test/integration/dataset_fixture.h"

namespace kumo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Api;
using testing::WriteFile;
using dataset_testing::DatasetTest;

class JobDatasetTest : public DatasetTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "tasks read datasets through the root server's sandbox";
    DatasetTest::SetUp();
    src_ = dir_.path() + "/src";
    WriteFile(src_ + "/train/a.bin", std::string(200000, 'a'));
    WriteFile(src_ + "/labels.txt", "a\nb\n");
    Run v1 = Kumo(alice_, {"push", "mnist", src_, "--project", "team-a"});
    ASSERT_EQ(v1.rc, 0) << v1.out;
    mount_ = dir_.path() + "/mnt/mnist";
  }

  // A job of `project` reading `dataset` (a JSON item of spec.datasets) and running `script`.
  Api::Reply Submit(const std::string& token, const std::string& project, json dataset,
                    const std::string& script, int cpu = 1) {
    json spec = {{"apiVersion", "kumo/v1"}, {"kind", "Job"},
                 {"spec", {{"project", project}, {"datasets", {dataset}},
                           {"taskGroups", {{{"name", "main"},
                                            {"resources", {{"cpu", cpu}}},
                                            {"command", {"sh", "-c", script}}}}}}}};
    return Api(server_port_, token).Submit(spec.dump(), "/tmp");  // JSON is YAML
  }
  json Version(int v) {
    return Api(server_port_, alice_)
        .Call("GET", "/v1/datasets/mnist/versions/" + std::to_string(v)).body;
  }
  std::string Log(int64_t id, const std::string& stream) {
    return testing::ReadFile(data_ + "/jobs/" + std::to_string(id) + "/attempt-1/task-0/" + stream);
  }
  // path -> content, of every object in the node store.
  std::map<std::string, std::string> NodeStore() {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(data_ + "/node-store/objects", ec), end;
         !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) out[it->path()] = testing::ReadFile(it->path());
    return out;
  }

  std::string src_, mount_;
};

// The task reads the pinned version at mountPath (files' SHA-256 as the manifest says), cannot
// write there, and the node store stays as it was; the Result names the manifest digest.
TEST_F(JobDatasetTest, ATaskReadsItsDatasetAtMountPathReadOnly) {
  const std::string script =
      "echo \"$KUMO_DATASET_MNIST\"; cd " + mount_ + " && sha256sum labels.txt train/a.bin; "
      "touch new; echo \"touch $?\"; (echo x >> labels.txt); echo \"append $?\"";
  auto r = Submit(alice_, "team-a", {{"name", "mnist"}, {"mountPath", mount_}}, script);
  ASSERT_EQ(r.status, 201) << r.text;
  const int64_t id = r.body["id"];
  json j = Api(server_port_, alice_).WaitPhase(id, "Succeeded", 60);
  ASSERT_EQ(j.value("phase", ""), "Succeeded") << j.dump() << Log(id, "stderr");

  json v1 = Version(1);
  std::map<std::string, std::string> digests;
  for (const auto& f : v1["manifest"]["files"]) digests[f["path"]] = f["sha256"];
  EXPECT_EQ(Log(id, "stdout"), mount_ + "\n" + digests["labels.txt"] + "  labels.txt\n" +
                                   digests["train/a.bin"] + "  train/a.bin\ntouch 1\nappend 2\n")
      << Log(id, "stderr");
  // A new file: EROFS (the bind is read-only); an existing one: EACCES first (0444).
  const std::string err = Log(id, "stderr");
  EXPECT_NE(err.find("'new': Read-only file system"), std::string::npos) << err;
  EXPECT_NE(err.find("labels.txt: Permission denied"), std::string::npos) << err;
  EXPECT_EQ(digests["labels.txt"], Sha256Hex("a\nb\n"));

  // The store holds exactly the version's objects, each still hashing to its name.
  std::map<std::string, std::string> store = NodeStore();
  ASSERT_EQ(store.size(), 2u);
  for (const auto& [path, bytes] : store)
    EXPECT_EQ(fs::path(path).filename().string(), Sha256Hex(bytes)) << path;

  auto results = Api(server_port_, alice_)
                     .Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body["items"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["datasets"],
            json::array({{{"name", "mnist"}, {"version", 1}, {"digest", v1["digest"]},
                          {"mountPath", mount_}}}));

  // A version a Result names is not removed (but by an admin who forces it).
  Run rm = Kumo(alice_, {"rm", "mnist@1"});
  EXPECT_EQ(rm.rc, 1);
  EXPECT_NE(rm.out.find("mnist@1 is named by"), std::string::npos) << rm.out;
  EXPECT_EQ(Kumo(alice_, {"describe", "mnist@1"}).rc, 0);
}

// Version omitted: the latest at submit, kept when a push lands before the job starts (the job
// waits behind another that holds the node's every CPU).
TEST_F(JobDatasetTest, AnOmittedVersionIsPinnedAtSubmit) {
  auto blocker = Submit(alice_, "team-a", {{"name", "mnist"}, {"mountPath", mount_}}, "sleep 600",
                        /*cpu=*/4);
  ASSERT_EQ(blocker.status, 201) << blocker.text;
  const int64_t blocker_id = blocker.body["id"];
  Api alice(server_port_, alice_);
  ASSERT_EQ(alice.WaitPhase(blocker_id, "Running", 60).value("phase", ""), "Running");
  auto r = Submit(alice_, "team-a", {{"name", "mnist"}, {"mountPath", mount_}},
                  "cat " + mount_ + "/labels.txt");
  ASSERT_EQ(r.status, 201) << r.text;
  const int64_t id = r.body["id"];
  EXPECT_EQ(alice.Job(id)["spec"]["spec"]["datasets"][0]["version"], 1);

  WriteFile(src_ + "/labels.txt", "changed\n");
  Run v2 = Kumo(alice_, {"push", "mnist", src_});
  ASSERT_EQ(v2.rc, 0) << v2.out;
  ASSERT_NE(v2.out.find("mnist@2"), std::string::npos) << v2.out;
  ASSERT_EQ(alice.Call("POST", "/v1/jobs/" + std::to_string(blocker_id) + "/cancel").status, 202);

  json j = alice.WaitPhase(id, "Succeeded", 60);
  ASSERT_EQ(j.value("phase", ""), "Succeeded") << j.dump() << Log(id, "stderr");
  EXPECT_EQ(Log(id, "stdout"), "a\nb\n");
  EXPECT_EQ(j["spec"]["spec"]["datasets"][0]["digest"], Version(1)["digest"]);
}

// Another project's dataset: 403 at submit, naming the field; nothing is queued.
TEST_F(JobDatasetTest, AnotherProjectsDatasetIsRefusedAtSubmit) {
  auto denied = Submit(bob_, "team-b", {{"name", "mnist"}, {"mountPath", mount_}}, "true");
  EXPECT_EQ(denied.status, 403) << denied.text;
  EXPECT_NE(denied.text.find("spec.datasets[0].name: project \\\"team-b\\\" may not read"),
            std::string::npos)
      << denied.text;
  auto missing = Submit(alice_, "team-a", {{"name", "mnist"}, {"version", 9}, {"mountPath", mount_}},
                        "true");
  EXPECT_EQ(missing.status, 400) << missing.text;
  EXPECT_NE(missing.text.find("spec.datasets[0].version: dataset \\\"mnist\\\" has no version 9"),
            std::string::npos)
      << missing.text;
  EXPECT_EQ(Api(server_port_, bob_).Call("GET", "/v1/jobs").body["items"].size(), 0u);
  // A grant lets team-b's jobs read it.
  ASSERT_EQ(Kumo(alice_, {"grant", "mnist", "--project", "team-b"}).rc, 0);
  auto granted = Submit(bob_, "team-b", {{"name", "mnist"}, {"mountPath", mount_}}, "true");
  EXPECT_EQ(granted.status, 201) << granted.text;
}

// A job's data is staged before it is offered to the scheduler, off the loop's thread: with
// the cache frozen mid-fetch the job waits as StagingDatasets, and the loop goes on running
// other jobs; once the cache answers, the job starts and reads its data.
TEST_F(JobDatasetTest, DataIsStagedOffTheLoopWhichKeepsRunningOtherJobs) {
  ASSERT_EQ(::kill(cache_pid_, SIGSTOP), 0);  // accepts connections, answers nothing
  struct Thaw {
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{cache_pid_};
  Api alice(server_port_, alice_);
  auto staged = Submit(alice_, "team-a", {{"name", "mnist"}, {"mountPath", mount_}},
                       "cat " + mount_ + "/labels.txt");
  ASSERT_EQ(staged.status, 201) << staged.text;
  const std::string staged_path = "/v1/jobs/" + std::to_string(staged.body["id"].get<int64_t>());
  json waiting = json::object();
  for (int i = 0; i < 200 && waiting.value("reason", "") != "StagingDatasets"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    waiting = alice.Call("GET", staged_path).body;
  }
  ASSERT_EQ(waiting.value("reason", ""), "StagingDatasets") << waiting.dump();
  EXPECT_NE(waiting.value("message", "").find("fetching dataset mnist@1"), std::string::npos)
      << waiting.dump();

  json plain = {{"apiVersion", "kumo/v1"}, {"kind", "Job"},
                {"spec", {{"project", "team-a"},
                          {"taskGroups", {{{"name", "main"}, {"command", {"true"}}}}}}}};
  auto other = alice.Submit(plain.dump(), "/tmp");
  ASSERT_EQ(other.status, 201) << other.text;
  EXPECT_EQ(alice.WaitPhase(other.body["id"], "Succeeded", 60).value("phase", ""), "Succeeded");
  EXPECT_EQ(alice.Call("GET", staged_path).body.value("reason", ""), "StagingDatasets");

  ASSERT_EQ(::kill(cache_pid_, SIGCONT), 0);
  json done = alice.WaitPhase(staged.body["id"], "Succeeded", 60);
  ASSERT_EQ(done.value("phase", ""), "Succeeded") << done.dump();
  EXPECT_EQ(Log(staged.body["id"], "stdout"), "a\nb\n");
}

// The cache gone when the job starts: the attempt fails, its reason naming the dataset.
TEST_F(JobDatasetTest, AnUnreachableCacheFailsTheAttemptNamingTheDataset) {
  dataset_testing::test_process::StopProcess(cache_pid_);
  cache_pid_ = -1;
  json spec = {{"apiVersion", "kumo/v1"}, {"kind", "Job"},
               {"spec", {{"project", "team-a"}, {"retry", {{"backoffLimit", 0}}},
                         {"datasets", {{{"name", "mnist"}, {"mountPath", mount_}}}},
                         {"taskGroups", {{{"name", "main"}, {"command", {"true"}}}}}}}};
  Api alice(server_port_, alice_);
  auto r = alice.Submit(spec.dump(), "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  const int64_t id = r.body["id"];
  ASSERT_EQ(alice.WaitPhase(id, "Failed", 120).value("phase", ""), "Failed");
  auto results = alice.Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body["items"];
  ASSERT_EQ(results.size(), 1u);
  const std::string reason = results[0]["reason"];
  EXPECT_NE(reason.find("dataset mnist@1 (sha256:"), std::string::npos) << reason;
  EXPECT_FALSE(fs::exists(data_ + "/datasets/" +
                          Version(1)["digest"].get<std::string>().substr(7)));
}

// The node store capped at 300 KiB (nodeStoreMaxBytes): mnist@1 (a.bin 200,000 bytes + labels)
// and mnist@2 (another a.bin + the same labels) do not both fit. While a job reads @1 its tree
// stays, over the cap; once no live job reads it, the next materialisation removes it and its
// a.bin, and keeps the labels object that @2 shares.
class NodeStoreCapTest : public JobDatasetTest {
 protected:
  std::string ServerConfigFile() override {
    WriteFile(dir_.path() + "/server.yaml", "nodeStoreMaxBytes: 300Ki\n");
    return dir_.path() + "/server.yaml";
  }
  std::string Tree(int version) {
    return data_ + "/datasets/" + Version(version)["digest"].get<std::string>().substr(7);
  }
};

TEST_F(NodeStoreCapTest, UnusedVersionsGoLeastRecentlyUsedFirstAndLiveOnesStay) {
  Api alice(server_port_, alice_);
  auto holder = Submit(alice_, "team-a", {{"name", "mnist"}, {"version", 1}, {"mountPath", mount_}},
                       "sleep 600");
  ASSERT_EQ(holder.status, 201) << holder.text;
  const int64_t holder_id = holder.body["id"];
  ASSERT_EQ(alice.WaitPhase(holder_id, "Running", 60).value("phase", ""), "Running");
  WriteFile(src_ + "/train/a.bin", std::string(200000, 'b'));
  ASSERT_EQ(Kumo(alice_, {"push", "mnist", src_}).rc, 0);

  auto reader = [&] {
    auto r = Submit(alice_, "team-a", {{"name", "mnist"}, {"version", 2}, {"mountPath", mount_}},
                    "head -c 1 " + mount_ + "/train/a.bin");
    EXPECT_EQ(r.status, 201) << r.text;
    const int64_t id = r.body["id"];
    json j = alice.WaitPhase(id, "Succeeded", 60);
    EXPECT_EQ(j.value("phase", ""), "Succeeded") << j.dump() << Log(id, "stderr");
    EXPECT_EQ(Log(id, "stdout"), "b");
  };
  reader();
  EXPECT_TRUE(fs::exists(Tree(1)));  // in use: kept, though the store is over its cap
  EXPECT_TRUE(fs::exists(Tree(2)));
  EXPECT_EQ(NodeStore().size(), 3u);

  ASSERT_EQ(alice.Call("POST", "/v1/jobs/" + std::to_string(holder_id) + "/cancel").status, 202);
  ASSERT_EQ(alice.WaitPhase(holder_id, "Cancelled", 60).value("phase", ""), "Cancelled");
  reader();
  EXPECT_FALSE(fs::exists(Tree(1)));
  EXPECT_TRUE(fs::exists(Tree(2)));
  std::map<std::string, std::string> store = NodeStore();
  ASSERT_EQ(store.size(), 2u);  // @2's a.bin and the shared labels
  for (const auto& [path, bytes] : store) EXPECT_NE(bytes, std::string(200000, 'a')) << path;
}

}  // namespace
}  // namespace kumo
