// Authorization against the real `kumo server` (issue 12, item 4): admin-only and per-project
// priority classes, token rotation, revocation and expiry (also across kill -9), and
// Idempotency-Keys scoped per user.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "base/sha256.h"
#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

const std::string kExamples = KUMO_EXAMPLES_DIR;

std::string Spec(const std::string& project, const std::string& priority_class) {
  return "apiVersion: kumo/v1\nkind: Job\nspec:\n  project: " + project +
         "\n  priorityClass: " + priority_class +
         "\n  taskGroups: [{name: main, command: [\"true\"], resources: {cpu: 100m, memory: "
         "64Mi}}]\n";
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    server_ = std::make_unique<ServerProcess>(data_, kExamples + "/inventory-2x4.yaml");
    ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
    admin_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  // A new non-admin user in `project`; returns their token.
  std::string User(const std::string& name, const std::string& project) {
    auto r = admin_->Call("POST", "/v1/users",
                          R"({"name": ")" + name + R"(", "projects": [")" + project + R"("]})");
    EXPECT_EQ(r.status, 201) << r.text;
    return r.body.value("token", "");
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> admin_;
};

TEST_F(AuthorizationTest, SystemPriorityIsForAdminsAndProjectsLimitTheirClasses) {
  Api bob(server_->port(), User("bob", "default"));
  auto system = bob.Submit(Spec("default", "system"), "/tmp");
  EXPECT_EQ(system.status, 403) << system.text;
  EXPECT_EQ(bob.Submit(Spec("default", "high"), "/tmp").status, 201);
  EXPECT_EQ(admin_->Submit(Spec("default", "system"), "/tmp").status, 201);
  // The admin limits the project; a project cannot grant an admin-only class.
  EXPECT_EQ(admin_->Call("PATCH", "/v1/projects/default", R"({"priorityClasses": ["system"]})")
                .status,
            400);
  auto limited =
      admin_->Call("PATCH", "/v1/projects/default", R"({"priorityClasses": ["low", "normal"]})");
  ASSERT_EQ(limited.status, 200) << limited.text;
  EXPECT_EQ(limited.body["priorityClasses"], nlohmann::json({"low", "normal"}));
  EXPECT_EQ(bob.Submit(Spec("default", "high"), "/tmp").status, 403);
  EXPECT_EQ(bob.Submit(Spec("default", "low"), "/tmp").status, 201);
  EXPECT_EQ(admin_->Submit(Spec("default", "high"), "/tmp").status, 201);  // admins: any class
  // The limit is stored: it holds after a kill -9 and restart.
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
  Api bob_again(server_->port(), bob.token());
  EXPECT_EQ(bob_again.Submit(Spec("default", "high"), "/tmp").status, 403);
  EXPECT_EQ(bob_again.Submit(Spec("default", "normal"), "/tmp").status, 201);
}

TEST_F(AuthorizationTest, RotatedAndRevokedTokensAreRefusedEvenAfterARestart) {
  std::string old_token = User("carol", "default");
  Api carol(server_->port(), old_token);
  ASSERT_EQ(carol.Call("GET", "/v1/whoami").status, 200);
  auto rotated = carol.Call("POST", "/v1/users/carol/tokens");
  ASSERT_EQ(rotated.status, 201) << rotated.text;
  EXPECT_EQ(rotated.body["revoked"], 1);
  std::string new_token = rotated.body["token"];
  EXPECT_EQ(Api(server_->port(), old_token).Call("GET", "/v1/whoami").status, 401);
  Api fresh(server_->port(), new_token);
  EXPECT_EQ(fresh.Call("GET", "/v1/whoami").status, 200);
  // Only the user or an admin may rotate; others get 403.
  Api dave(server_->port(), User("dave", "default"));
  EXPECT_EQ(dave.Call("POST", "/v1/users/carol/tokens").status, 403);
  EXPECT_EQ(admin_->Call("DELETE", "/v1/users/carol/tokens").status, 200);
  EXPECT_EQ(fresh.Call("GET", "/v1/whoami").status, 401);
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
  EXPECT_EQ(Api(server_->port(), new_token).Call("GET", "/v1/whoami").status, 401);
  EXPECT_EQ(Api(server_->port(), old_token).Call("GET", "/v1/whoami").status, 401);
  EXPECT_EQ(Api(server_->port(), server_->admin_token()).Call("GET", "/v1/whoami").status, 200);
}

// `kumo user token rotate|revoke` as a user would run them; returns stdout, *rc the exit code.
std::string Kumo(uint16_t port, const std::string& token, const std::string& args, int* rc) {
  std::string cmd = "KUMO_SERVER=127.0.0.1:" + std::to_string(port) + " KUMO_TOKEN=" + token +
                    " KUMO_TOKEN_FILE= " + KUMO_BINARY + " " + args + " 2>/dev/null";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  for (size_t n; p != nullptr && (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = p != nullptr ? pclose(p) : -1;
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(AuthorizationTest, TheCliRotatesAndRevokesTheCallersTokens) {
  std::string old_token = User("heidi", "default");
  int rc = -1;
  std::string rotated = Kumo(server_->port(), old_token, "user token rotate --ttl 1h", &rc);
  ASSERT_EQ(rc, 0) << rotated;
  while (!rotated.empty() && rotated.back() == '\n') rotated.pop_back();
  EXPECT_TRUE(rotated.starts_with("kumo_")) << rotated;
  EXPECT_EQ(Api(server_->port(), old_token).Call("GET", "/v1/whoami").status, 401);
  EXPECT_EQ(Api(server_->port(), rotated).Call("GET", "/v1/whoami").status, 200);
  Kumo(server_->port(), rotated, "user token rotate --ttl soon", &rc);
  EXPECT_EQ(rc, 2);  // a usage error, and nothing changed
  EXPECT_EQ(Api(server_->port(), rotated).Call("GET", "/v1/whoami").status, 200);
  Kumo(server_->port(), server_->admin_token(), "user token revoke heidi", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(Api(server_->port(), rotated).Call("GET", "/v1/whoami").status, 401);
}

TEST_F(AuthorizationTest, ATokenWithATtlExpires) {
  User("erin", "default");
  auto r = admin_->Call("POST", "/v1/users/erin/tokens", R"({"ttlSeconds": 1})");
  ASSERT_EQ(r.status, 201) << r.text;
  EXPECT_TRUE(r.body["expiresAt"].is_number());
  Api erin(server_->port(), r.body["token"]);
  EXPECT_EQ(erin.Call("GET", "/v1/whoami").status, 200);
  EXPECT_EQ(admin_->Call("POST", "/v1/users/erin/tokens", R"({"ttlSeconds": -5})").status, 400);
  Api::Reply expired;
  for (int i = 0; i < 100; ++i) {  // bounded: 10 s, for a 1 s TTL
    expired = erin.Call("GET", "/v1/whoami");
    if (expired.status == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.body.value("error", ""), "token expired");
}

// A submit dir is a clean absolute path: "DATA/jobs/N/../.." named the data dir while it began
// with the job's own dir (the sandbox gave that dir to the task).
TEST_F(AuthorizationTest, ASubmitDirWithDotDotIsRefused) {
  Api eve(server_->port(), User("eve", "default"));
  for (const std::string& dir : std::vector<std::string>{data_ + "/jobs/9/../..", "/tmp/./x",
                                                        "/tmp//x", "/tmp/x/.."}) {
    auto r = eve.Call("POST", "/v1/jobs", Spec("default", "normal"), {{"X-Kumo-Submit-Dir", dir}});
    EXPECT_EQ(r.status, 400) << dir << ": " << r.text;
    EXPECT_NE(r.body.value("error", "").find("X-Kumo-Submit-Dir"), std::string::npos) << r.text;
  }
  auto jobs = admin_->Call("GET", "/v1/jobs");
  ASSERT_EQ(jobs.status, 200);
  EXPECT_EQ(jobs.body["items"].size(), 0u) << jobs.text;  // refused: nothing was recorded
}

// Snapshot blobs are shared by content, but what bob sent is his: eve's guess at his file is
// answered like any guess (send the bytes), his manifest is unknown to her, and a job of hers
// cannot name his snapshot — once, one POST confirmed ~10^5 guesses and a job printed the file.
TEST_F(AuthorizationTest, ASnapshotIsItsUploadersAlone) {
  Api bob(server_->port(), User("bob", "default"));
  Api eve(server_->port(), User("eve", "default"));
  const std::string secret = "AWS_SECRET=hunter2\n";
  const std::string sha = Sha256Hex(secret);
  const nlohmann::json manifest = {
      {"files", {{{"path", "secret.env"}, {"size", secret.size()}, {"sha256", sha}}}}};
  ASSERT_EQ(bob.Call("PUT", "/v1/snapshots/blobs/" + sha, secret).status, 201);
  auto recorded = bob.Call("POST", "/v1/snapshots", manifest.dump());
  ASSERT_EQ(recorded.status, 201) << recorded.text;
  const std::string digest = recorded.body["digest"];

  auto guess = eve.Call("POST", "/v1/snapshots", manifest.dump());
  EXPECT_EQ(guess.status, 200) << guess.text;
  EXPECT_EQ(guess.body["missing"], nlohmann::json::array({sha})) << guess.text;
  EXPECT_EQ(eve.Call("GET", "/v1/snapshots/" + digest).status, 404);
  EXPECT_EQ(bob.Call("GET", "/v1/snapshots/" + digest).status, 200);
  const std::vector<std::pair<std::string, std::string>> naming = {
      {"X-Kumo-Submit-Dir", "/tmp"}, {"X-Kumo-Snapshot", digest}};
  auto stolen = eve.Call("POST", "/v1/jobs", Spec("default", "normal"), naming);
  EXPECT_EQ(stolen.status, 403) << stolen.text;
  auto own = bob.Call("POST", "/v1/jobs", Spec("default", "normal"), naming);
  EXPECT_EQ(own.status, 201) << own.text;
}

// A long poll asks for its token again when it wakes: revoking a user's tokens ends their open
// watches with 401 instead of leaving them answering for up to a minute.
TEST_F(AuthorizationTest, RevokingATokenEndsItsLongPoll) {
  const std::string token = User("gina", "default");
  Api gina(server_->port(), token);
  auto latest = gina.Call("GET", "/v1/events?since=latest");
  ASSERT_EQ(latest.status, 200) << latest.text;
  const std::string next = std::to_string(latest.body["next"].get<int64_t>());
  auto poll = std::async(std::launch::async, [&] {
    Api watcher(server_->port(), token);
    return watcher.Call("GET", "/v1/events?since=" + next + "&wait=30");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the poll is waiting
  ASSERT_EQ(admin_->Call("DELETE", "/v1/users/gina/tokens").status, 200);
  ASSERT_EQ(poll.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(poll.get().status, 401);
}

// A dataset's mountPath inside the data dir is refused at submit: the root shim would make it
// among the job's own dirs, through whatever links an earlier attempt of the task left there.
TEST_F(AuthorizationTest, AMountPathInsideTheDataDirIsRefused) {
  Api eve(server_->port(), User("eve2", "default"));
  const std::string spec = "apiVersion: kumo/v1\nkind: Job\nspec:\n  project: default\n"
                           "  datasets: [{name: d, mountPath: " + data_ +
                           "/jobs/1/checkpoint/evil}]\n  taskGroups:\n    - name: main\n"
                           "      command: [\"true\"]\n      resources: {cpu: 1}\n";
  auto r = eve.Submit(spec, "/tmp");
  EXPECT_EQ(r.status, 400) << r.text;
  EXPECT_NE(r.body.value("error", "").find("spec.datasets[0].mountPath: inside the server's data dir"),
            std::string::npos) << r.text;
}

TEST_F(AuthorizationTest, IdempotencyKeysArePerUser) {
  Api frank(server_->port(), User("frank", "default"));
  Api grace(server_->port(), User("grace", "default"));
  std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", "same-key"},
                                                          {"X-Kumo-Submit-Dir", "/tmp"}};
  auto a = frank.Call("POST", "/v1/jobs", Spec("default", "normal"), key);
  auto b = grace.Call("POST", "/v1/jobs", Spec("default", "normal"), key);
  ASSERT_EQ(a.status, 201) << a.text;
  ASSERT_EQ(b.status, 201) << b.text;
  EXPECT_NE(a.body["id"], b.body["id"]);
  EXPECT_EQ(b.body["user"], "grace");
  // A replay by each user answers with their own job, also after a restart.
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
  Api frank2(server_->port(), frank.token()), grace2(server_->port(), grace.token());
  auto again_a = frank2.Call("POST", "/v1/jobs", Spec("default", "normal"), key);
  auto again_b = grace2.Call("POST", "/v1/jobs", Spec("default", "normal"), key);
  EXPECT_EQ(again_a.status, 200);
  EXPECT_EQ(again_a.body["id"], a.body["id"]);
  EXPECT_EQ(again_b.status, 200);
  EXPECT_EQ(again_b.body["id"], b.body["id"]);
}

}  // namespace
}  // namespace kumo::testing
