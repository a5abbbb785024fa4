#include "load_spec.h"

#include <gtest/gtest.h>

namespace kumo::bench {
namespace {

LoadSpec Gangs() {
  LoadSpec s;
  s.namespace_name = "bench-1";
  s.scheduler_name = "kumo";
  s.pods = 8;
  s.group_size = 4;
  s.gpus_per_pod = 2;
  s.run_duration = "20s";
  s.node_selector = "kumo.bench/pool=gang";
  return s;
}

TEST(LoadSpecTest, ValidateNamesTheFlag) {
  EXPECT_TRUE(Validate(Gangs()).ok());
  LoadSpec s = Gangs();
  s.pods = 6;  // 4 does not divide 6
  EXPECT_EQ(Validate(s).message(), "--group-size: 4 does not divide --pods 6");
  s = Gangs();
  s.pods = 0;
  EXPECT_EQ(Validate(s).message(), "--pods: 0 is not > 0");
  s = Gangs();
  s.node_selector = "=x";
  EXPECT_EQ(Validate(s).message(), "--node-selector: \"=x\" is not KEY=VALUE");
  s = Gangs();
  s.gpus_per_pod = -1;
  EXPECT_EQ(Validate(s).message(), "--gpus: -1 is < 0");
}

TEST(LoadSpecTest, GangPodCarriesGroupLabelSchedulerGpusAndSelector) {
  nlohmann::json pod = PodManifest(Gangs(), 5);
  EXPECT_EQ(pod["metadata"]["name"], "p-000005");
  EXPECT_EQ(pod["metadata"]["namespace"], "bench-1");
  EXPECT_EQ(pod["metadata"]["labels"][kPodGroupLabel], "g-00001");  // 5 / 4
  EXPECT_EQ(pod["metadata"]["annotations"]["kumo.test/run-duration"], "20s");
  EXPECT_FALSE(pod["metadata"]["annotations"].contains("kumo.test/start-delay"));
  EXPECT_EQ(pod["spec"]["schedulerName"], "kumo");
  const auto& res = pod["spec"]["containers"][0]["resources"];
  EXPECT_EQ(res["requests"]["nvidia.com/gpu"], "2");
  EXPECT_EQ(res["limits"]["nvidia.com/gpu"], "2");
  EXPECT_EQ(pod["spec"]["nodeSelector"]["kumo.bench/pool"], "gang");
}

TEST(LoadSpecTest, StartDelayIsAnAnnotationBesideTheRunDuration) {
  LoadSpec s = Gangs();
  s.start_delay = "40s";
  nlohmann::json pod = PodManifest(s, 0);
  EXPECT_EQ(pod["metadata"]["annotations"]["kumo.test/start-delay"], "40s");
  EXPECT_EQ(pod["metadata"]["annotations"]["kumo.test/run-duration"], "20s");
}

TEST(LoadSpecTest, ExitAfterIsAnAnnotationAndExcludesTheRunAndStartTimes) {
  LoadSpec s = Gangs();
  s.run_duration = "";
  s.exit_after = "45s";
  ASSERT_TRUE(Validate(s).ok());
  nlohmann::json pod = PodManifest(s, 0);
  EXPECT_EQ(pod["metadata"]["annotations"]["kumo.test/exit-after"], "45s");
  EXPECT_FALSE(pod["metadata"]["annotations"].contains("kumo.test/run-duration"));
  s.start_delay = "40s";
  EXPECT_EQ(Validate(s).message(),
            "--exit-after: a pod that exits unstarted has no --run-duration or --start-delay");
}

TEST(LoadSpecTest, PlainPodHasNoGroupNoDurationNoSelector) {
  LoadSpec s;
  s.namespace_name = "bench-2";
  s.pods = 3;
  nlohmann::json pod = PodManifest(s, 2);
  EXPECT_EQ(pod["spec"]["schedulerName"], "default-scheduler");
  EXPECT_FALSE(pod["metadata"]["labels"].contains(kPodGroupLabel));
  EXPECT_FALSE(pod["metadata"].contains("annotations"));
  EXPECT_FALSE(pod["spec"].contains("nodeSelector"));
  EXPECT_EQ(GroupOf(s, 2), -1);
}

TEST(LoadSpecTest, PodGroupHasMinMember) {
  nlohmann::json g = PodGroupManifest(Gangs(), 1);
  EXPECT_EQ(g["apiVersion"], "scheduling.x-k8s.io/v1alpha1");
  EXPECT_EQ(g["kind"], "PodGroup");
  EXPECT_EQ(g["metadata"]["name"], "g-00001");
  EXPECT_EQ(g["spec"]["minMember"], 4);
}

TEST(LoadSpecTest, VolcanoGangsUseItsAnnotationPodGroupAndQueue) {
  LoadSpec s = Gangs();
  s.gang_api = GangApi::kVolcano;
  nlohmann::json pod = PodManifest(s, 5);
  EXPECT_EQ(pod["metadata"]["annotations"][kVolcanoGroupAnnotation], "g-00001");
  EXPECT_FALSE(pod["metadata"]["labels"].contains(kPodGroupLabel));
  nlohmann::json g = PodGroupManifest(s, 1);
  EXPECT_EQ(g["apiVersion"], "scheduling.volcano.sh/v1beta1");
  EXPECT_EQ(g["kind"], "PodGroup");
  EXPECT_EQ(g["metadata"]["name"], "g-00001");
  EXPECT_EQ(g["spec"]["minMember"], 4);
  EXPECT_EQ(g["spec"]["queue"], "default");
  EXPECT_EQ(PodGroupPath(s), "/apis/scheduling.volcano.sh/v1beta1/namespaces/bench-1/podgroups");
  EXPECT_EQ(PodGroupPath(Gangs()), "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/bench-1/podgroups");
}

}  // namespace
}  // namespace kumo::bench
