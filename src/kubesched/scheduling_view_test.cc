#include "kubesched/scheduling_view.h"

#include <gtest/gtest.h>

#include "executor/kubernetes/pod_scheduling.h"

namespace kumo::kubesched {
namespace {
using nlohmann::json;

json Node(const std::string& name, int gpus) {
  return {{"metadata", {{"name", name}}},
          {"status",
           {{"allocatable", {{"cpu", "32"}, {"memory", "256Gi"}, {"nvidia.com/gpu", std::to_string(gpus)}}},
            {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

json Pod(const std::string& ns, const std::string& name, int gpus, const std::string& scheduler = "kumo") {
  return {{"metadata", {{"namespace", ns}, {"name", name}, {"creationTimestamp", "2026-12-06T10:00:00Z"}}},
          {"spec",
           {{"schedulerName", scheduler},
            {"containers",
             json::array({{{"name", "c"},
                           {"resources",
                            {{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}, {"nvidia.com/gpu", std::to_string(gpus)}}}}}}})}}},
          {"status", {{"phase", "Pending"}}}};
}

json InGroup(json pod, const std::string& group) {
  pod["metadata"]["labels"][kPodGroupLabel] = group;
  return pod;
}

// ClusterObjects::pods holds shared parsed pods, as the driver's cache hands them over.
std::shared_ptr<const PodFacts> Parsed(const json& pod) {
  return std::make_shared<const PodFacts>(ParsePod(std::make_shared<const json>(pod)));
}
std::vector<std::shared_ptr<const PodFacts>> Pods(std::initializer_list<json> pods) {
  std::vector<std::shared_ptr<const PodFacts>> out;
  for (const json& p : pods) out.push_back(Parsed(p));
  return out;
}

json Bound(json pod, const std::string& node) {
  pod["spec"]["nodeName"] = node;
  pod["status"]["phase"] = "Running";
  return pod;
}

json PodGroup(const std::string& ns, const std::string& name, int min_member) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}, {"spec", {{"minMember", min_member}}}};
}

const core::Job* FindJob(const SchedulingView& v, const std::string& id) {
  for (const core::Job& j : v.snapshot.jobs)
    if (j.id == id) return &j;
  return nullptr;
}

TEST(SchedulingViewTest, APendingPodIsAOneTaskJobWithItsRequests) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json pod = Pod("team-a", "p", 2);
  pod["spec"]["nodeSelector"] = {{"pool", "a100"}};
  pod["spec"]["tolerations"] = json::array({{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}}});
  pod["spec"]["activeDeadlineSeconds"] = 600;
  o.pods = Pods({pod});
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 1u);
  const core::Job& j = v.snapshot.jobs[0];
  EXPECT_EQ(j.id, "team-a/p");
  EXPECT_EQ(j.project, "team-a");
  EXPECT_EQ(j.phase, core::JobPhase::kPending);
  ASSERT_EQ(j.groups.size(), 1u);
  EXPECT_EQ(j.groups[0].resources, core::ResourceVector::Of(500, int64_t{1} << 30, 2000));
  ASSERT_EQ(j.node_selector.size(), 1u);
  EXPECT_EQ(j.node_selector[0], (core::Label{"pool", "a100"}));
  ASSERT_EQ(j.tolerations.size(), 1u);
  EXPECT_EQ(j.tolerations[0].op, core::Toleration::Operator::kExists);
  EXPECT_EQ(j.max_runtime, 600);
  EXPECT_EQ(j.submit_time, ParseTimestamp("2026-12-06T10:00:00Z"));
  EXPECT_EQ(v.pods_of_job[0], std::vector<std::string>{"team-a/p"});
  ASSERT_EQ(v.snapshot.projects.size(), 1u);
  EXPECT_EQ(v.snapshot.projects[0].name, "team-a");
  EXPECT_EQ(v.snapshot.projects[0].weight, 1.0);
}

TEST(SchedulingViewTest, OtherSchedulersPodsTakeCapacityOursRunAsJobs) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pods = Pods({Bound(Pod("x", "theirs", 3, "default-scheduler"), "n0"), Bound(Pod("a", "ours", 2), "n0"),
            Pod("x", "theirs-pending", 1, "default-scheduler")});
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.nodes.size(), 1u);
  EXPECT_EQ(v.snapshot.nodes[0].gpus.size(), 5u);  // 8 - 3 of the other scheduler's pod
  ASSERT_EQ(v.snapshot.jobs.size(), 1u);           // the other pending pod is not kumo's
  const core::Job& j = v.snapshot.jobs[0];
  EXPECT_EQ(j.phase, core::JobPhase::kRunning);
  ASSERT_EQ(j.placements.size(), 1u);
  EXPECT_EQ(j.placements[0].node, "n0");
  ASSERT_EQ(j.placements[0].gpus.size(), 2u);
  EXPECT_EQ(j.placements[0].gpus[0].gpu_index, 0);
  EXPECT_EQ(j.placements[0].gpus[1].gpu_index, 1);
}

TEST(SchedulingViewTest, AnAssumedPodCountsAsBoundAndADeletedOneAsTerminating) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json deleting = Bound(Pod("a", "old", 1), "n0");
  deleting["metadata"]["deletionTimestamp"] = "2026-12-06T10:00:05Z";
  o.pods = Pods({Pod("a", "new", 2), deleting});
  o.assumed = {{"a/new", "n0"}};
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 2u);
  EXPECT_EQ(FindJob(v, "a/new")->phase, core::JobPhase::kRunning);
  EXPECT_EQ(FindJob(v, "a/new")->placements[0].node, "n0");
  EXPECT_EQ(FindJob(v, "a/old")->phase, core::JobPhase::kTerminating);
}

TEST(SchedulingViewTest, PriorityFromThePriorityClass) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json high = Pod("a", "high", 1);
  high["spec"]["priorityClassName"] = "urgent";
  high["spec"]["priority"] = 5;  // the class wins: it is what the name says now
  json polite = Pod("a", "polite", 1);
  polite["spec"]["priorityClassName"] = "polite";
  json plain = Pod("a", "plain", 1);
  plain["spec"]["priority"] = 7;
  o.pods = Pods({high, polite, plain});
  o.priority_classes = {{{"metadata", {{"name", "urgent"}}}, {"value", 1000}},
                        {{"metadata", {{"name", "polite"}}}, {"value", 500}, {"preemptionPolicy", "Never"}}};
  SchedulingView v = BuildView(o, {}, 1000);
  EXPECT_EQ(FindJob(v, "a/high")->priority, 1000);
  EXPECT_TRUE(FindJob(v, "a/high")->may_preempt);
  EXPECT_EQ(FindJob(v, "a/polite")->priority, 500);
  EXPECT_FALSE(FindJob(v, "a/polite")->may_preempt);
  EXPECT_EQ(FindJob(v, "a/plain")->priority, 7);
}

TEST(SchedulingViewTest, AGangIsOneJobOnlyOnceMinMemberPodsExist) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pod_groups = {PodGroup("a", "g", 3)};
  o.pods = Pods({InGroup(Pod("a", "g-0", 1), "g"), InGroup(Pod("a", "g-1", 1), "g")});
  SchedulingView v = BuildView(o, {}, 1000);
  EXPECT_TRUE(v.snapshot.jobs.empty());
  ASSERT_EQ(v.waits.size(), 2u);
  EXPECT_EQ(v.waits[0].message,
            "PodGroup a/g has fewer pods than its minMember 3; kumo binds none of them until all exist");

  o.pods.push_back(Parsed(InGroup(Pod("a", "g-2", 2), "g")));
  v = BuildView(o, {}, 1000);
  EXPECT_TRUE(v.waits.empty());
  ASSERT_EQ(v.snapshot.jobs.size(), 1u);
  EXPECT_EQ(v.snapshot.jobs[0].id, "pg:a/g");
  ASSERT_EQ(v.snapshot.jobs[0].groups.size(), 3u);
  EXPECT_EQ(v.snapshot.jobs[0].groups[2].resources.gpu_milli(), 2000);
  EXPECT_EQ(v.pods_of_job[0], (std::vector<std::string>{"a/g-0", "a/g-1", "a/g-2"}));
}

TEST(SchedulingViewTest, BoundPodsOfAGangCountTowardsMinMember) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pod_groups = {PodGroup("a", "g", 3)};
  o.pods = Pods({Bound(InGroup(Pod("a", "g-0", 1), "g"), "n0"), Bound(InGroup(Pod("a", "g-1", 1), "g"), "n0"),
            InGroup(Pod("a", "g-2", 1), "g")});
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 2u);
  EXPECT_EQ(FindJob(v, "pg:a/g+bound")->phase, core::JobPhase::kRunning);
  EXPECT_EQ(FindJob(v, "pg:a/g+bound")->placements.size(), 2u);
  EXPECT_EQ(FindJob(v, "pg:a/g")->groups.size(), 1u);
  // Two bound of minMember 3: a gang bound in part, which the driver completes or evicts.
  ASSERT_EQ(v.partly_bound.size(), 1u);
  EXPECT_EQ(v.partly_bound.at("pg:a/g"), (std::vector<std::string>{"a/g-0", "a/g-1"}));
}

// Bound pods that make up minMember are a whole gang: a pod added to it later is an extra, bound
// when it fits, and nothing is partly bound.
TEST(SchedulingViewTest, AGangWithMinMemberBoundIsWhole) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pod_groups = {PodGroup("a", "g", 2)};
  o.pods = Pods({Bound(InGroup(Pod("a", "g-0", 1), "g"), "n0"), InGroup(Pod("a", "g-1", 1), "g"),
                 InGroup(Pod("a", "g-2", 1), "g")});
  o.assumed = {{"a/g-1", "n0"}};  // kumo's binding in flight counts as bound
  SchedulingView v = BuildView(o, {}, 1000);
  EXPECT_EQ(FindJob(v, "pg:a/g")->groups.size(), 1u);
  EXPECT_TRUE(v.partly_bound.empty());
}

// A gang whose bindings failed part-way has its bound pods deleted (kube_scheduler.cc, Settle):
// while they go they hold their node but no longer count toward minMember, so the one pod that
// was not bound is not a gang of its own and is not bound alone. A pod being deleted that was
// never bound is not placed at all.
TEST(SchedulingViewTest, PodsOnTheirWayOutDoNotCompleteAGang) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pod_groups = {PodGroup("a", "g", 3)};
  json marked = Bound(InGroup(Pod("a", "g-1", 1), "g"), "n0");
  marked["metadata"]["deletionTimestamp"] = "2026-12-06T10:00:05Z";
  json unbound_going = Pod("a", "solo", 1);
  unbound_going["metadata"]["deletionTimestamp"] = "2026-12-06T10:00:05Z";
  o.pods = Pods({Bound(InGroup(Pod("a", "g-0", 1), "g"), "n0"), marked,
                 InGroup(Pod("a", "g-2", 1), "g"), unbound_going});
  o.deleting = {"a/g-0"};  // kumo asked; the watch has not shown the deletionTimestamp yet
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 1u);  // only the bound pods, holding n0 while they go
  EXPECT_EQ(v.snapshot.jobs[0].id, "pg:a/g+bound");
  EXPECT_EQ(v.snapshot.jobs[0].phase, core::JobPhase::kTerminating);
  EXPECT_EQ(v.snapshot.jobs[0].placements.size(), 2u);
  ASSERT_EQ(v.waits.size(), 1u);
  EXPECT_EQ(v.waits[0].pod, "a/g-2");
  EXPECT_NE(v.waits[0].message.find("fewer pods than its minMember 3"), std::string::npos);
  EXPECT_TRUE(v.partly_bound.empty());  // no job to complete: nothing to evict either
}

// kumo server's own pods (its Kubernetes executor binds them; both default to the scheduler
// name "kumo") are another scheduler's here: never placed or preempted, their GPUs taken.
TEST(SchedulingViewTest, PodsKumoServerCreatedAreAnotherSchedulers) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json running = Bound(Pod("kumo-jobs", "job-7-0", 3), "n0");
  running["metadata"]["labels"]["kumo.dev/job"] = "7";
  json waiting = Pod("kumo-jobs", "job-8-0", 1);
  waiting["metadata"]["labels"]["kumo.dev/job"] = "8";
  o.pods = Pods({running, waiting, Pod("a", "mine", 1)});
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 1u);
  EXPECT_EQ(v.snapshot.jobs[0].id, "a/mine");
  EXPECT_EQ(v.snapshot.nodes[0].gpus.size(), 5u);  // 8 - the server's running pod's 3
  EXPECT_TRUE(v.waits.empty());
}

TEST(SchedulingViewTest, AGangWaitsForItsPodGroupAndForAgreeingPods) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pods = Pods({InGroup(Pod("a", "g-0", 1), "g")});
  SchedulingView v = BuildView(o, {}, 1000);
  ASSERT_EQ(v.waits.size(), 1u);
  EXPECT_EQ(v.waits[0].message, "waiting for its PodGroup a/g (scheduling.x-k8s.io/v1alpha1)");

  o.pod_groups = {PodGroup("a", "g", 2)};
  json other = InGroup(Pod("a", "g-1", 1), "g");
  other["spec"]["nodeSelector"] = {{"zone", "b"}};
  o.pods.push_back(Parsed(other));
  v = BuildView(o, {}, 1000);
  EXPECT_TRUE(v.snapshot.jobs.empty());
  ASSERT_EQ(v.waits.size(), 2u);
  EXPECT_NE(v.waits[1].message.find("differ in nodeSelector or tolerations"), std::string::npos);
}

TEST(SchedulingViewTest, NamespacesFilterAndProjectWeights) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  o.pods = Pods({Pod("a", "p", 1), Pod("b", "q", 1), Pod("c", "r", 1)});
  ViewOptions options;
  options.namespaces = {"a", "b"};
  options.projects = {core::Project{.name = "a", .weight = 2}};
  SchedulingView v = BuildView(o, options, 1000);
  ASSERT_EQ(v.snapshot.jobs.size(), 2u);
  EXPECT_EQ(FindJob(v, "c/r"), nullptr);
  ASSERT_EQ(v.snapshot.projects.size(), 2u);
  EXPECT_EQ(v.snapshot.projects[0].name, "a");
  EXPECT_EQ(v.snapshot.projects[0].weight, 2.0);
  EXPECT_EQ(v.snapshot.projects[1].name, "b");
  EXPECT_EQ(v.snapshot.projects[1].weight, 1.0);
}

TEST(SchedulingViewTest, AGatedPodIsLeftAlone) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json gated = Pod("a", "gated", 1);
  gated["spec"]["schedulingGates"] = json::array({{{"name", "kueue.x-k8s.io/admission"}}});
  o.pods = Pods({SlimPod(gated)});
  SchedulingView v = BuildView(o, {}, 1000);
  EXPECT_TRUE(v.snapshot.jobs.empty());
  EXPECT_TRUE(v.waits.empty());
}

TEST(SchedulingViewTest, EndedPodsHoldNothing) {
  ClusterObjects o;
  o.nodes = {Node("n0", 8)};
  json done = Bound(Pod("a", "done", 8), "n0");
  done["status"]["phase"] = "Succeeded";
  json theirs = Bound(Pod("x", "theirs", 8, "other"), "n0");
  theirs["status"]["phase"] = "Failed";
  o.pods = Pods({done, theirs});
  SchedulingView v = BuildView(o, {}, 1000);
  EXPECT_TRUE(v.snapshot.jobs.empty());
  EXPECT_EQ(v.snapshot.nodes[0].gpus.size(), 8u);
}

TEST(SchedulingViewTest, ASlimPodGivesTheSameView) {
  json pod = InGroup(Pod("a", "g-0", 2), "g");
  pod["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}, {"operation", "Update"}}});
  pod["metadata"]["uid"] = "u-1";
  pod["spec"]["nodeSelector"] = {{"pool", "a100"}};
  pod["spec"]["tolerations"] = json::array({{{"key", "k"}, {"operator", "Exists"}}});
  pod["spec"]["priorityClassName"] = "urgent";
  pod["spec"]["activeDeadlineSeconds"] = 60;
  pod["spec"]["terminationGracePeriodSeconds"] = 5;
  pod["spec"]["containers"][0]["image"] = "registry.example/train:1";
  pod["status"]["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "False"}}});
  pod["status"]["containerStatuses"] = json::array({{{"name", "main"}}});
  json slim = SlimPod(pod);
  EXPECT_FALSE(slim["metadata"].contains("managedFields"));
  EXPECT_FALSE(slim["status"].contains("containerStatuses"));
  EXPECT_EQ(slim["metadata"]["uid"], "u-1");
  EXPECT_EQ(slim["spec"]["terminationGracePeriodSeconds"], 5);
  EXPECT_EQ(slim["status"]["conditions"], pod["status"]["conditions"]);

  ClusterObjects full, thin;
  full.nodes = thin.nodes = {Node("n0", 8)};
  full.pod_groups = thin.pod_groups = {PodGroup("a", "g", 1)};
  full.priority_classes = thin.priority_classes = {{{"metadata", {{"name", "urgent"}}}, {"value", 9}}};
  full.pods = Pods({pod, Bound(Pod("x", "theirs", 3, "other"), "n0")});
  thin.pods = Pods({slim, SlimPod(*full.pods[1]->object)});
  SchedulingView a = BuildView(full, {}, 1000), b = BuildView(thin, {}, 1000);
  ASSERT_EQ(a.snapshot.jobs.size(), 1u);
  ASSERT_EQ(b.snapshot.jobs.size(), 1u);
  const core::Job &x = a.snapshot.jobs[0], &y = b.snapshot.jobs[0];
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.priority, y.priority);
  EXPECT_EQ(x.priority, 9);
  EXPECT_EQ(x.groups[0].resources, y.groups[0].resources);
  EXPECT_EQ(x.node_selector, y.node_selector);
  EXPECT_EQ(x.tolerations.size(), y.tolerations.size());
  EXPECT_EQ(x.max_runtime, y.max_runtime);
  EXPECT_EQ(x.submit_time, y.submit_time);
  EXPECT_EQ(a.snapshot.nodes[0].gpus.size(), b.snapshot.nodes[0].gpus.size());
  EXPECT_EQ(b.snapshot.nodes[0].gpus.size(), 5u);
}

// A node as KWOK or a kubelet writes it, and its slim form, make the same core node: the fields
// the view reads survive, the rest (managedFields, addresses, other conditions) goes.
TEST(SchedulingViewTest, ASlimNodeKeepsWhatTheViewReads) {
  json node = Node("n0", 8);
  node["metadata"]["labels"] = {{"nvidia.com/gpu.product", "A100"}, {"rack", "r1"}};
  node["metadata"]["managedFields"] = json::array({{{"manager", "kwok"}, {"operation", "Update"}}});
  node["spec"]["taints"] = json::array({{{"key", "dedicated"}, {"value", "ml"}, {"effect", "NoSchedule"}}});
  node["spec"]["unschedulable"] = true;
  node["status"]["addresses"] = json::array({{{"type", "InternalIP"}, {"address", "198.19.0.1"}}});
  node["status"]["conditions"] = json::array({{{"type", "MemoryPressure"}, {"status", "False"}},
                                              {{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}});
  json slim = SlimNode(node);
  EXPECT_FALSE(slim["metadata"].contains("managedFields"));
  EXPECT_FALSE(slim["status"].contains("addresses"));
  EXPECT_EQ(slim["status"]["conditions"], json::array({{{"type", "Ready"}, {"status", "True"}}}));

  ViewOptions options;
  options.cluster.topology_labels = {"rack"};
  ClusterObjects full, thin;
  full.nodes = {node};
  thin.nodes = {slim};
  for (bool cordoned : {true, false}) {
    full.nodes[0]["spec"]["unschedulable"] = thin.nodes[0]["spec"]["unschedulable"] = cordoned;
    SchedulingView a = BuildView(full, options, 1000), b = BuildView(thin, options, 1000);
    ASSERT_EQ(b.snapshot.nodes.size(), 1u);
    const core::Node &x = a.snapshot.nodes[0], &y = b.snapshot.nodes[0];
    EXPECT_EQ(y.name, "n0");
    EXPECT_EQ(y.unschedulable, cordoned);
    EXPECT_EQ(x.unschedulable, y.unschedulable);
    EXPECT_EQ(x.allocatable, y.allocatable);
    ASSERT_EQ(y.gpus.size(), 8u);
    EXPECT_EQ(y.gpus[0].model, "A100");
    EXPECT_EQ(x.labels, y.labels);
    EXPECT_EQ(y.taints.size(), 1u);
    EXPECT_EQ(x.taints.size(), y.taints.size());
    EXPECT_EQ(y.topology, std::vector<std::string>{"r1"});
  }
  // A node that is not Ready stays not Ready in its slim form.
  node["status"]["conditions"][1]["status"] = "False";
  node["spec"].erase("unschedulable");
  thin.nodes = {SlimNode(node)};
  EXPECT_TRUE(BuildView(thin, options, 1000).snapshot.nodes[0].unschedulable);
}

TEST(SchedulingViewTest, Timestamps) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:01:40Z"), 100);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:01:40.123456Z"), 100);
  EXPECT_EQ(ParseTimestamp("yesterday"), -1);
  EXPECT_EQ(ParseTimestamp(executor::kube::Rfc3339(1796548800)), 1796548800);
}

}  // namespace
}  // namespace kumo::kubesched
