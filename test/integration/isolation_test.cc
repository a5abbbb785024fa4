// Issue #12's acceptance for task isolation and state on disk, against the real `kumo server`
// (which runs tasks isolated by default; these tests run as root, as the server must for it):
// a job of a non-admin user cannot read the admin token, the database or another project's
// logs, and runs as neither root nor the server's uid; a second server on the same data dir
// refuses to start naming the first one's pid; the data dir is owner-only under umask 000.
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

namespace fs = std::filesystem;
const std::string kExamples = KUMO_EXAMPLES_DIR;

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "task isolation needs a root server";
    data_ = tmp_.path() + "/data";
    server_ = std::make_unique<ServerProcess>(data_, kExamples + "/inventory-2x4.yaml");
    // Under umask 000 every mode below is the server's own choice, not the umask's.
    mode_t old = umask(0);
    bool up = server_->Start();
    umask(old);
    ASSERT_TRUE(up) << ReadFile(data_ + ".log");
    data_ = fs::canonical(data_).string();
    admin_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }

  // Submits `script` (sh -c) as `api` in `project`, with `datasets` (spec.datasets); waits for
  // it to end; returns its job JSON. (Datasets in isolated jobs: job_dataset_test.cc.)
  nlohmann::json Run(Api& api, const std::string& project, const std::string& script,
                     nlohmann::json datasets = nlohmann::json::array()) {
    nlohmann::json spec = {{"apiVersion", "kumo/v1"}, {"kind", "Job"},
                           {"spec", {{"project", project}, {"datasets", datasets},
                                     {"taskGroups", {{{"name", "main"},
                                                      {"command", {"sh", "-c", script}}}}}}}};
    auto r = api.Submit(spec.dump(), "/tmp");  // JSON is YAML
    EXPECT_EQ(r.status, 201) << r.text;
    if (r.status != 201) return nullptr;
    int64_t id = r.body["id"];
    nlohmann::json j = api.WaitPhase(id, "Succeeded", 60);
    EXPECT_EQ(j.value("phase", ""), "Succeeded") << j.dump();
    return j;
  }
  std::string Log(int64_t id, const std::string& stream) {
    return ReadFile(data_ + "/jobs/" + std::to_string(id) + "/attempt-1/task-0/" + stream);
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> admin_;
};

TEST_F(IsolationTest, AUsersJobCannotReadTheTokenTheDatabaseOrAnotherProjectsLogs) {
  ASSERT_EQ(admin_->Call("POST", "/v1/projects", R"({"name": "vision"})").status, 201);
  ASSERT_EQ(admin_->Call("POST", "/v1/projects", R"({"name": "secret"})").status, 201);
  auto bob = admin_->Call("POST", "/v1/users", R"({"name": "bob", "projects": ["vision"]})");
  ASSERT_EQ(bob.status, 201) << bob.text;
  Api as_bob(server_->port(), bob.body["token"]);

  // Another project's job leaves a secret in its log and its output.
  nlohmann::json other = Run(*admin_, "secret",
                             "echo other-projects-secret; echo other-projects-secret > "
                             "$KUMO_OUTPUT_DIR/out.txt");
  ASSERT_TRUE(other.is_object());
  const std::string other_dir = data_ + "/jobs/" + std::to_string(other["id"].get<int64_t>());

  // Bob's job tries what the issue's attacker did, and a few more (the server's command line
  // names its data dir); each cat must fail.
  const std::string script =
      "id -u; for f in " + data_ + "/admin.token " + data_ + "/kumo.db " + other_dir +
      "/attempt-1/task-0/stdout " + other_dir + "/attempt-1/output/out.txt " +
      "${KUMO_OUTPUT_DIR%%/jobs/*}/admin.token /proc/" + std::to_string(server_->pid()) +
      "/cmdline; do cat $f; echo \"status $?\"; done; "
      "echo mine > $KUMO_OUTPUT_DIR/mine.txt";
  nlohmann::json mine = Run(as_bob, "vision", script);
  ASSERT_TRUE(mine.is_object());
  const int64_t id = mine["id"];
  const std::string out = Log(id, "stdout"), err = Log(id, "stderr");

  const std::string first_line = out.substr(0, out.find('\n'));
  EXPECT_NE(first_line, "0") << out;
  EXPECT_NE(first_line, std::to_string(getuid())) << "the server's uid";
  EXPECT_EQ(out.find(server_->admin_token()), std::string::npos) << out;
  EXPECT_EQ(out.find("other-projects-secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("SQLite format"), std::string::npos) << out;
  size_t failures = 0;
  for (size_t at = out.find("status 1"); at != std::string::npos; at = out.find("status 1", at + 1))
    ++failures;
  EXPECT_EQ(failures, 6u) << out << err;  // the last: the server's process is invisible
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;

  // What it may do: write its own output dir, which belongs to its uid, 0700.
  const std::string output = data_ + "/jobs/" + std::to_string(id) + "/attempt-1/output";
  EXPECT_EQ(ReadFile(output + "/mine.txt"), "mine\n");
  struct stat st;
  ASSERT_EQ(stat(output.c_str(), &st), 0);
  EXPECT_EQ(std::to_string(st.st_uid), first_line);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// The server (root) reads the task's output dir to describe its outputs: a symlink the task
// planted there is not followed (it would tell the size of any file on the machine).
TEST_F(IsolationTest, OutputsAreNotFollowedThroughTheTasksSymlinks) {
  nlohmann::json spec = {
      {"apiVersion", "kumo/v1"}, {"kind", "Job"},
      {"spec", {{"project", "default"}, {"outputs", {"model.txt", "token", "sub/passwd"}},
                {"taskGroups", {{{"name", "main"},
                                 {"command", {"sh", "-c",
                                              "echo weights > $KUMO_OUTPUT_DIR/model.txt; "
                                              "ln -s " + data_ + "/admin.token $KUMO_OUTPUT_DIR/token; "
                                              "ln -s /etc $KUMO_OUTPUT_DIR/sub"}}}}}}}};
  auto r = admin_->Submit(spec.dump(), "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  const int64_t id = r.body["id"];
  ASSERT_EQ(admin_->WaitPhase(id, "Succeeded", 60).value("phase", ""), "Succeeded");
  auto results = admin_->Call("GET", "/v1/jobs/" + std::to_string(id) + "/results").body["items"];
  ASSERT_EQ(results.size(), 1u);
  const nlohmann::json& outputs = results[0]["outputs"];
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0], (nlohmann::json{{"path", "model.txt"}, {"exists", true}, {"bytes", 8}}));
  EXPECT_EQ(outputs[1], (nlohmann::json{{"path", "token"}, {"exists", false}, {"bytes", 0}}));
  EXPECT_EQ(outputs[2], (nlohmann::json{{"path", "sub/passwd"}, {"exists", false}, {"bytes", 0}}));
}

TEST_F(IsolationTest, ASecondServerOnTheSameDataDirRefusesNamingTheHoldersPid) {
  const std::string log = tmp_.path() + "/second.log";
  pid_t second = fork();
  if (second == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) dup2(fileno(f), 2);
    execl(KUMO_BINARY, KUMO_BINARY, "server", "--data-dir", data_.c_str(), "--listen",
          "127.0.0.1:0", "--no-cgroups", nullptr);
    _exit(127);
  }
  ASSERT_GT(second, 0);
  int status = 0;
  pid_t r = 0;
  for (int i = 0; i < 1000 && (r = waitpid(second, &status, WNOHANG)) == 0; ++i) usleep(10000);
  if (r != second) {
    kill(second, SIGKILL);
    waitpid(second, &status, 0);
    FAIL() << "the second server did not exit within 10 s";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  std::string message = ReadFile(log);
  EXPECT_NE(message.find(data_), std::string::npos) << message;
  EXPECT_NE(message.find("pid " + std::to_string(server_->pid())), std::string::npos) << message;
  // The first one is unharmed.
  EXPECT_EQ(admin_->Call("GET", "/v1/jobs").status, 200);
}

TEST_F(IsolationTest, TheDataDirIsOwnerOnlyUnderUmaskZero) {
  nlohmann::json j = Run(*admin_, "default", "echo out; echo err >&2");
  ASSERT_TRUE(j.is_object());
  const std::string job = data_ + "/jobs/" + std::to_string(j["id"].get<int64_t>());
  auto mode = [](const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 01;
  };
  for (const std::string& dir : {data_, data_ + "/jobs", job, job + "/attempt-1",
                                 job + "/attempt-1/task-0"})
    EXPECT_EQ(mode(dir), 0700u) << dir;
  for (const char* name : {"kumo.db", "kumo.db-wal", "kumo.db-shm", "admin.token", "server.port",
                           "server.lock"})
    EXPECT_EQ(mode(data_ + "/" + name), 0600u) << name;
  for (const char* name : {"stdout", "stderr", "exit"})
    EXPECT_EQ(mode(job + "/attempt-1/task-0/" + name), 0600u) << name;
  // The task's own dirs are its uid's, 0700; the result record in its output 0600.
  EXPECT_EQ(mode(job + "/checkpoint"), 0700u);
  EXPECT_EQ(mode(job + "/attempt-1/output"), 0700u);
  EXPECT_EQ(mode(job + "/attempt-1/output/result.json"), 0600u);
}

// Starts `kumo server` as uid/gid 65534 (nobody) on `data` with `config`, stderr to `log`.
pid_t StartServerAsNobody(const std::string& data, const std::string& config,
                          const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) dup2(fileno(f), 1), dup2(fileno(f), 2);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0)
      _exit(126);
    execl(KUMO_BINARY, KUMO_BINARY, "server", "--data-dir", data.c_str(), "--listen",
          "127.0.0.1:0", "--no-cgroups", "--config", config.c_str(), nullptr);
    _exit(127);
  }
  return pid;
}

// Isolation needs root: a non-root server with it on refuses to start and says what to do;
// with it off it starts, and says loudly that tasks run unisolated.
TEST_F(IsolationTest, WithoutRootIsolationRefusesToStartAndOffWarnsLoudly) {
  const std::string home = tmp_.path() + "/nobody";
  chmod(tmp_.path().c_str(), 0711);
  fs::create_directories(home);
  ASSERT_EQ(chown(home.c_str(), 65534, 65534), 0);
  std::ofstream(home + "/on.yaml") << "isolation: {enabled: true}\n";
  std::ofstream(home + "/off.yaml") << "isolation: {enabled: false}\n";

  pid_t on = StartServerAsNobody(home + "/data-on", home + "/on.yaml", home + "/on.log");
  int status = 0;
  pid_t r = 0;
  for (int i = 0; i < 1000 && (r = waitpid(on, &status, WNOHANG)) == 0; ++i) usleep(10000);
  if (r != on) kill(on, SIGKILL), waitpid(on, &status, 0);
  EXPECT_TRUE(r == on && WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_NE(ReadFile(home + "/on.log").find("task isolation needs root"), std::string::npos)
      << ReadFile(home + "/on.log");

  pid_t off = StartServerAsNobody(home + "/data-off", home + "/off.yaml", home + "/off.log");
  bool up = false;
  for (int i = 0; i < 1000 && !up && waitpid(off, &status, WNOHANG) == 0; ++i) {
    up = !ReadFile(home + "/data-off/server.port").empty();
    if (!up) usleep(10000);
  }
  kill(off, SIGKILL);
  waitpid(off, &status, 0);
  EXPECT_TRUE(up) << ReadFile(home + "/off.log");
  EXPECT_NE(ReadFile(home + "/off.log").find("WARNING: task isolation is OFF"), std::string::npos)
      << ReadFile(home + "/off.log");
}

}  // namespace
}  // namespace kumo::testing
