#include "kubesched/kube_scheduler_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kumo::kubesched {
namespace {

class KubeSchedulerConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    path_ = (std::filesystem::temp_directory_path() /
             ("kubesched-config-" + std::to_string(::getpid()) + ".yaml")).string();
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(KubeSchedulerConfigTest, ProjectsPoliciesAndResources) {
  auto c = LoadKubeSchedulerConfig(Write(R"(projects:
- namespace: team-a
  weight: 2
  quota: {guaranteedGpus: 8, maxGpus: 16}
- name: team-b
policy: {placement: spread, backfill: none, preemption: false, ageing: {after: 10m}}
extendedResources: [rdma/hca]
bindWorkers: 4
)"), {});
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->view.projects.size(), 2u);
  EXPECT_EQ(c->view.projects[0].name, "team-a");
  EXPECT_EQ(c->view.projects[0].weight, 2.0);
  EXPECT_EQ(c->view.projects[0].guaranteed[core::kGpu], 8000);
  EXPECT_EQ(c->view.projects[0].max[core::kGpu], 16000);
  EXPECT_EQ(c->view.projects[1].name, "team-b");
  EXPECT_EQ(c->view.projects[1].weight, 1.0);
  EXPECT_EQ(c->view.projects[1].max[core::kGpu], core::kUnlimited);
  EXPECT_EQ(c->scheduler.placement, "spread");
  EXPECT_EQ(c->scheduler.backfill, core::BackfillMode::kNone);
  EXPECT_FALSE(c->scheduler.preemption);
  EXPECT_EQ(c->scheduler.age_after_s, 600);
  EXPECT_EQ(c->view.cluster.extended_resources, std::vector<std::string>{"rdma/hca"});
  EXPECT_EQ(c->bind_workers, 4);
}

TEST_F(KubeSchedulerConfigTest, PreemptionDefaultsToPriorityAndReclaimOnly) {
  KubeSchedulerConfig c;
  EXPECT_EQ(c.scheduler.preemption.names, (std::vector<std::string>{"priority", "reclaim"}));
  auto loaded = LoadKubeSchedulerConfig(Write("policy: {preemption: true}\n"), {});
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->scheduler.preemption.names, (std::vector<std::string>{"priority", "reclaim"}));
}

TEST_F(KubeSchedulerConfigTest, ErrorsNameTheLineAndField) {
  struct Case {
    std::string yaml, error;
  } cases[] = {
      {"projects:\n- namespace: a\n  weight: 0\n", ":3: projects[0].weight: must be > 0"},
      {"projects:\n- weight: 2\n", ":2: projects[0].namespace: required"},
      {"projects:\n- namespace: a\n- namespace: a\n", ":3: projects[1].namespace: \"a\" given twice"},
      {"projects:\n- namespace: a\n  quota: {maxGpus: 1, guaranteedGpus: 2}\n",
       "projects[0].quota.guaranteedGpus: larger than maxGpus"},
      {"projects:\n- namespace: a\n  colour: red\n", ":3: projects[0].colour: unknown field"},
      {"tickSeconds: 1\n", ":1: tickSeconds: unknown field"},
      {"policy:\n  backfill: sometimes\n", ":2: policy.backfill: unknown backfill mode"},
      {"policy:\n  las: {enabled: true}\n", ":2: policy.las: not used by kumo kube-scheduler"},
      {"policy:\n  preemption: [priority, defragment]\n",
       ":2: policy.preemption: defragment is not available"},
      {"policy:\n  preemption: [fill]\n", ":2: policy.preemption: fill is not available"},
      {"placement: spread\n", ":1: placement: unknown field"},
  };
  for (const Case& c : cases) {
    auto r = LoadKubeSchedulerConfig(Write(c.yaml), {});
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_NE(r.error().message().find(c.error), std::string::npos)
        << c.yaml << " -> " << r.error().message();
  }
}

}  // namespace
}  // namespace kumo::kubesched
