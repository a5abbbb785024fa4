// GET /metrics of the real `kumo server`: who may read it, that Prometheus' own checker accepts
// it (promtool, Debian's `prometheus` package), and that its counters move when a job runs.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test/integration/server_fixture.h"

namespace kumo::testing {
namespace {

const std::string kExamples = KUMO_EXAMPLES_DIR;
const std::string kMetricsToken = "prometheus-scrape-token-0123456789";

// The value of the sample written exactly as `series` (name and labels), or -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return -1;
}

class ServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_.path() + "/data";
    std::ofstream(tmp_.path() + "/metrics.token") << kMetricsToken << "\n";
    std::ofstream(tmp_.path() + "/server.yaml") << "metricsTokenFile: metrics.token\n";
    server_ = std::make_unique<ServerProcess>(data_, kExamples + "/inventory-2x4.yaml");
    server_->set_extra_args({"--config", tmp_.path() + "/server.yaml"});
    ASSERT_TRUE(server_->Start()) << ReadFile(data_ + ".log");
    admin_ = std::make_unique<Api>(server_->port(), server_->admin_token());
  }
  std::string Scrape() {
    Api prometheus(server_->port(), kMetricsToken);
    auto r = prometheus.Call("GET", "/metrics");
    EXPECT_EQ(r.status, 200) << r.text;
    return r.text;
  }

  TempDir tmp_;
  std::string data_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> admin_;
};

TEST_F(ServerMetricsTest, OnlyAnAdminOrTheMetricsTokenReadsIt) {
  auto alice = admin_->Call("POST", "/v1/users", R"({"name": "alice", "projects": ["default"]})");
  ASSERT_EQ(alice.status, 201) << alice.text;
  EXPECT_EQ(Api(server_->port(), "").Call("GET", "/metrics").status, 401);
  EXPECT_EQ(Api(server_->port(), "kumo_wrong").Call("GET", "/metrics").status, 401);
  EXPECT_EQ(Api(server_->port(), alice.body["token"]).Call("GET", "/metrics").status, 403);
  EXPECT_EQ(admin_->Call("GET", "/metrics").status, 200);
  EXPECT_EQ(Api(server_->port(), kMetricsToken).Call("GET", "/metrics").status, 200);
  // The metrics token reads nothing else.
  EXPECT_EQ(Api(server_->port(), kMetricsToken).Call("GET", "/v1/jobs").status, 401);
}

TEST_F(ServerMetricsTest, CountersMoveWhenAJobRunsAndPromtoolAcceptsTheText) {
  std::string before = Scrape();
  EXPECT_EQ(Sample(before, "kumo_server_jobs_submitted_total{project=\"default\"}"), -1);
  EXPECT_EQ(Sample(before, "kumo_server_gpus{node=\"node-0\",model=\"fake-a100\"}"), 4) << before;
  auto r = admin_->Submit(R"(apiVersion: kumo/v1
kind: Job
spec:
  project: default
  taskGroups: [{name: main, command: ["sh", "-c", "sleep 1"], resources: {cpu: 100m, memory: 64Mi, gpu: 2}}]
)",
                          "/tmp");
  ASSERT_EQ(r.status, 201) << r.text;
  int64_t id = r.body["id"];
  ASSERT_EQ(admin_->WaitPhase(id, "Running", 60)["phase"], "Running");
  std::string running = Scrape();
  EXPECT_EQ(Sample(running, "kumo_server_jobs{project=\"default\",phase=\"Running\"}"), 1)
      << running;
  double allocated = 0;
  for (const char* node : {"node-0", "node-1"})
    allocated +=
        std::max(0.0, Sample(running, std::string("kumo_server_gpus_allocated{node=\"") + node +
                                          "\",model=\"fake-a100\",project=\"default\"}"));
  EXPECT_EQ(allocated, 2) << running;

  ASSERT_EQ(admin_->WaitPhase(id, "Succeeded", 60)["phase"], "Succeeded");
  std::string after = Scrape();
  EXPECT_EQ(Sample(after, "kumo_server_jobs_submitted_total{project=\"default\"}"), 1) << after;
  EXPECT_EQ(Sample(after, "kumo_server_job_starts_total{project=\"default\"}"), 1);
  EXPECT_EQ(Sample(after, "kumo_server_jobs{project=\"default\",phase=\"Succeeded\"}"), 1);
  EXPECT_EQ(Sample(after, "kumo_server_submit_duration_seconds_count"), 1);
  EXPECT_EQ(Sample(after, "kumo_server_job_wait_seconds_count"), 1);
  EXPECT_GT(Sample(after, "kumo_server_scheduling_passes_total"),
            Sample(before, "kumo_server_scheduling_passes_total"));
  EXPECT_GT(Sample(after, "kumo_server_store_commit_duration_seconds_count"),
            Sample(before, "kumo_server_store_commit_duration_seconds_count"));
  EXPECT_EQ(Sample(after,
                   "kumo_server_http_requests_total{route=\"/v1/jobs\",method=\"POST\","
                   "code=\"201\"}"),
            1);
  EXPECT_GE(Sample(after,
                   "kumo_server_http_requests_total{route=\"/v1/jobs/{id}\",method=\"GET\","
                   "code=\"200\"}"),
            2);

  // Every family the Grafana dashboard queries is one the server writes.
  std::string dashboard = ReadFile(kExamples + "/../deploy/grafana/kumo.json");
  ASSERT_FALSE(dashboard.empty());
  std::regex name("kumo_server_[a-z_]+");
  int queried = 0;
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), name);
       it != std::sregex_iterator(); ++it, ++queried) {
    std::string family = it->str();
    if (family.ends_with("_bucket")) family.resize(family.size() - 7);
    EXPECT_NE(after.find("# TYPE " + family + " "), std::string::npos) << family;
  }
  EXPECT_GT(queried, 10);

  if (!std::filesystem::exists("/usr/bin/promtool"))
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/install-deps)";
  std::string file = tmp_.path() + "/metrics.txt";
  std::ofstream(file) << after;
  std::string command = "/usr/bin/promtool check metrics < " + file + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << output << "\n" << after;
  EXPECT_EQ(output, "") << "promtool found problems";
}

}  // namespace
}  // namespace kumo::testing
