#include "executor/kubernetes/pod_manifest.h"

#include <gtest/gtest.h>

#include "executor/kubernetes/cluster_view.h"

namespace kumo::executor::kube {
namespace {
using nlohmann::json;

TaskLaunch Worker(int rank) {
  TaskLaunch l;
  l.argv = {"python3", "train.py"};
  l.cwd = "/home/ada/proj";
  l.env = {{"PATH", "/usr/bin"}, {"HOME", "/home/ada"}, {"FOO", "bar"}, {"RANK", std::to_string(rank)},
           {"CUDA_VISIBLE_DEVICES", "0,1,2,3"}, {"MASTER_ADDR", "127.0.0.1"},
           {"KUMO_CHECKPOINT_DIR", "/var/kumo/jobs/12/checkpoint"},
           {"KUMO_OUTPUT_DIR", "/var/kumo/jobs/12/attempt-3/output"},
           {"ELSEWHERE", "/var/kumo-other/x"}};
  l.run_dir = "/var/kumo/jobs/12/attempt-3/task-" + std::to_string(rank);
  l.cpu_millis = 8000;
  l.memory_bytes = int64_t{32} << 30;
  l.node = "gpu-" + std::to_string(rank);
  l.image = "pytorch/pytorch:2.3.0";
  l.annotations = {{"example.org/owner", "ada"}};
  l.gpu_milli = 4000;
  l.extended = {{"rdma/hca", 1}};
  l.grace_period_s = 45;
  l.job_id = 12;
  l.attempt = 3;
  l.rank = rank;
  return l;
}

PodOptions Options() {
  PodOptions o;
  o.namespace_name = "ml";
  o.data_dir = "/var/kumo";
  o.data_claim = "kumo-data";
  return o;
}

std::map<std::string, std::string> EnvOf(const json& pod) {
  std::map<std::string, std::string> env;
  for (const json& e : pod["spec"]["containers"][0]["env"]) env[e["name"]] = e.value("value", "");
  return env;
}

TEST(PodManifest, NamesLabelsAndScheduling) {
  auto pod = PodManifest(Worker(1), Options());
  ASSERT_TRUE(pod) << pod.error().message();
  const json& md = (*pod)["metadata"];
  EXPECT_EQ(md["name"], "kumo-job-12-a3-t1");
  EXPECT_EQ(md["namespace"], "ml");
  EXPECT_EQ(md["labels"][kLabelJob], "12");
  EXPECT_EQ(md["labels"][kLabelAttempt], "3");
  EXPECT_EQ(md["labels"][kLabelRank], "1");
  EXPECT_EQ(md["labels"][kLabelGang], "kumo-job-12-a3");
  EXPECT_EQ(md["annotations"][kAnnotationRunDir], "/var/kumo/jobs/12/attempt-3/task-1");
  EXPECT_EQ(md["annotations"]["example.org/owner"], "ada");
  const json& spec = (*pod)["spec"];
  EXPECT_EQ(spec["schedulerName"], "kumo");
  EXPECT_FALSE(spec.contains("nodeName"));  // bound through pods/binding, not at creation
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 45);
  EXPECT_EQ(spec["hostname"], "kumo-job-12-a3-t1");
  EXPECT_EQ(spec["subdomain"], "kumo-job-12-a3");
  EXPECT_EQ(spec["volumes"][0]["persistentVolumeClaim"]["claimName"], "kumo-data");
}

TEST(PodManifest, RequestsEqualLimitsIncludingGpus) {
  auto pod = PodManifest(Worker(0), Options());
  ASSERT_TRUE(pod);
  const json& c = (*pod)["spec"]["containers"][0];
  EXPECT_EQ(c["image"], "pytorch/pytorch:2.3.0");
  EXPECT_EQ(c["command"], json::array({"python3", "train.py"}));
  json expected = {{"cpu", "8000m"}, {"memory", std::to_string(int64_t{32} << 30)},
                   {"nvidia.com/gpu", "4"}, {"rdma/hca", "1"}};
  EXPECT_EQ(c["resources"]["requests"], expected);
  EXPECT_EQ(c["resources"]["limits"], expected);
}

TEST(PodManifest, EnvironmentForTheClusterNetworkAndVolume) {
  auto pod = PodManifest(Worker(1), Options());
  ASSERT_TRUE(pod);
  auto env = EnvOf(*pod);
  EXPECT_EQ(env.count("PATH"), 0u);  // the server machine's; the image has its own
  EXPECT_EQ(env.count("HOME"), 0u);
  EXPECT_EQ(env.count("CUDA_VISIBLE_DEVICES"), 0u);  // the device plugin's choice
  EXPECT_EQ(env["FOO"], "bar");
  EXPECT_EQ(env["RANK"], "1");
  // Every rank reaches rank 0 by its DNS name in the gang's headless Service.
  EXPECT_EQ(env["MASTER_ADDR"], "kumo-job-12-a3-t0.kumo-job-12-a3.ml.svc");
  EXPECT_EQ(env["MASTER_PORT"], "29500");
  // Paths under the data dir move to the data volume, the same on every node.
  EXPECT_EQ(env["KUMO_CHECKPOINT_DIR"], "/kumo/jobs/12/checkpoint");
  EXPECT_EQ(env["KUMO_OUTPUT_DIR"], "/kumo/jobs/12/attempt-3/output");
  EXPECT_EQ(env["ELSEWHERE"], "/var/kumo-other/x");  // a prefix of a name is not a parent dir
}

// A waiting gang's pods are created before the core places them and bound later as they are:
// nothing in a pod may depend on its node. The node reaches the task through the downward API.
TEST(PodManifest, DoesNotDependOnTheNode) {
  TaskLaunch on_a = Worker(1), unplaced = Worker(1);
  on_a.env["KUMO_NODE"] = on_a.node = "gpu-a";
  on_a.env["LOCAL_RANK"] = "1";  // the second task on gpu-a, to the server
  unplaced.env["KUMO_NODE"] = unplaced.node = "";
  unplaced.env["LOCAL_RANK"] = "0";
  auto a = PodManifest(on_a, Options()), u = PodManifest(unplaced, Options());
  ASSERT_TRUE(a && u);
  EXPECT_EQ(*a, *u);
  EXPECT_EQ(EnvOf(*a)["LOCAL_RANK"], "0");  // a pod sees its own devices only, from 0
  json node_env;
  for (const json& e : (*a)["spec"]["containers"][0]["env"])
    if (e["name"] == "KUMO_NODE") node_env = e;
  EXPECT_EQ(node_env, json::parse(R"({"name": "KUMO_NODE",
      "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}})"));
  EXPECT_FALSE((*a)["spec"].contains("nodeName"));  // bound later, through pods/binding
}

TEST(PodManifest, RefusesWhatAPodCannotExpress) {
  TaskLaunch no_image = Worker(0);
  no_image.image.clear();
  auto a = PodManifest(no_image, Options());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.error().message().find("image"), std::string::npos);
  TaskLaunch share = Worker(0);
  share.gpu_milli = 500;
  auto b = PodManifest(share, Options());
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("whole devices"), std::string::npos);
}

TEST(PodManifest, HeadlessServiceOwnedByRankZero) {
  json owner = {{"metadata", {{"name", "kumo-job-12-a3-t0"}, {"uid", "u-1"}}}};
  json svc = ServiceManifest(Worker(0), owner, Options());
  EXPECT_EQ(svc["metadata"]["name"], "kumo-job-12-a3");
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  EXPECT_EQ(svc["spec"]["selector"][kLabelGang], "kumo-job-12-a3");
  EXPECT_EQ(svc["metadata"]["ownerReferences"][0]["uid"], "u-1");
  EXPECT_EQ(svc["metadata"]["ownerReferences"][0]["kind"], "Pod");
}

}  // namespace
}  // namespace kumo::executor::kube
