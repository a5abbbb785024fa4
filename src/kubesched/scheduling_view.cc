#include "kubesched/scheduling_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "base/quantity.h"

namespace kumo::kubesched {
using nlohmann::json;
namespace kube = executor::kube;

namespace {

const json& At(const json& object, const char* name) {
  static const json kEmpty = json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(name);
  return it == object.end() || it->is_null() ? kEmpty : *it;
}

std::string Str(const json& object, const char* name) {
  const json& v = At(object, name);
  return v.is_string() ? v.get<std::string>() : "";
}

// A Kubernetes quantity in milli-units ("2" -> 2000); memory in bytes.
int64_t Quantity(const std::string& resource, const json& q) {
  if (q.is_number_integer()) return resource == "memory" ? q.get<int64_t>() : q.get<int64_t>() * 1000;
  if (!q.is_string()) return 0;
  auto v = resource == "memory" ? ParseBytes(q.get<std::string>()) : ParseMilli(q.get<std::string>());
  return v ? *v : 0;
}

core::ResourceVector Requests(const json& pod, const kube::ClusterOptions& o) {
  core::ResourceVector r;
  const json& containers = At(At(pod, "spec"), "containers");
  for (const json& c : containers.is_array() ? containers : json::array()) {
    const json& req = At(At(c, "resources"), "requests");
    for (auto it = req.begin(); it != req.end(); ++it) {
      int64_t v = Quantity(it.key(), it.value());
      if (it.key() == "cpu") r[core::kCpu] += v;
      else if (it.key() == "memory") r[core::kMemory] += v;
      else if (it.key() == o.gpu_resource) r[core::kGpu] += v / 1000 * core::kMilliPerGpu;
      for (size_t i = 0; i < o.extended_resources.size(); ++i)
        if (it.key() == o.extended_resources[i]) r[core::kExtended0 + static_cast<int>(i)] += v / 1000;
    }
  }
  return r;
}

std::vector<core::Label> NodeSelector(const json& spec) {
  std::vector<core::Label> out;
  const json& sel = At(spec, "nodeSelector");
  for (auto it = sel.begin(); it != sel.end(); ++it)
    if (it->is_string()) out.push_back({it.key(), it->get<std::string>()});
  return out;
}

std::vector<core::Toleration> Tolerations(const json& spec) {
  std::vector<core::Toleration> out;
  const json& list = At(spec, "tolerations");
  for (const json& t : list.is_array() ? list : json::array()) {
    core::Toleration tol;
    tol.key = Str(t, "key");
    tol.op = Str(t, "operator") == "Exists" ? core::Toleration::Operator::kExists
                                            : core::Toleration::Operator::kEqual;
    tol.value = Str(t, "value");
    std::string effect = Str(t, "effect");
    if (effect == "NoSchedule") tol.effect = core::TaintEffect::kNoSchedule;
    else if (effect == "PreferNoSchedule") tol.effect = core::TaintEffect::kPreferNoSchedule;
    else if (effect == "NoExecute") tol.effect = core::TaintEffect::kNoExecute;
    out.push_back(std::move(tol));
  }
  return out;
}

// When the pod was created; `now` for an object without a readable timestamp.
core::Seconds CreatedAt(const json& pod, core::Seconds now) {
  core::Seconds t = ParseTimestamp(Str(At(pod, "metadata"), "creationTimestamp"));
  return t < 0 ? now : t;
}

// One pod of ours, as the passes see it.
struct PodFacts {
  const json* pod = nullptr;
  std::string key, ns, group, node;  // group: the pod-group label ("" : none)
  bool deleting = false;
};

class Builder {
 public:
  Builder(const ClusterObjects& objects, const ViewOptions& options, core::Seconds now)
      : objects_(objects), options_(options) {
    view_.snapshot.now = now;
    for (const json& pc : objects.priority_classes) classes_[Str(At(pc, "metadata"), "name")] = &pc;
    for (const json& pg : objects.pod_groups) groups_[KeyOf(pg)] = &pg;
  }
  SchedulingView Build();

 private:
  void AddProjects(const std::set<std::string>& namespaces);
  void AddRunning(const std::vector<const PodFacts*>& pods, const std::string& id);
  void AddPending(const std::vector<const PodFacts*>& pods, const std::string& id);
  void AddGang(const std::string& group_key, const std::vector<const PodFacts*>& pending,
               size_t bound);
  core::Job JobOf(const PodFacts& first, const std::string& id) const;

  const ClusterObjects& objects_;
  const ViewOptions& options_;
  std::map<std::string, const json*> classes_, groups_;
  std::map<std::string, int32_t> next_gpu_;  // node -> the next GPU index for a running pod
  std::map<std::string, size_t> node_gpus_;
  SchedulingView view_;
};

SchedulingView Builder::Build() {
  std::vector<PodFacts> ours;
  std::vector<json> others;
  for (const auto& shared : objects_.pods) {
    const json& pod = *shared;
    if (!IsOurs(pod, options_)) {
      others.push_back(pod);
      continue;
    }
    // A gated pod is not ready to be scheduled (spec.schedulingGates: Kueue and others hold pods
    // back this way until they admit them); it holds nothing and is told nothing.
    if (kube::PodEnded(pod) || !At(At(pod, "spec"), "schedulingGates").empty()) continue;
    PodFacts f{&pod, KeyOf(pod), Str(At(pod, "metadata"), "namespace"),
               Str(At(At(pod, "metadata"), "labels"), kPodGroupLabel), Str(At(pod, "spec"), "nodeName"),
               At(pod, "metadata").contains("deletionTimestamp")};
    if (auto a = objects_.assumed.find(f.key); f.node.empty() && a != objects_.assumed.end())
      f.node = a->second;
    ours.push_back(std::move(f));
  }
  view_.snapshot.extended_resources = options_.cluster.extended_resources;
  view_.snapshot.nodes = kube::NodesFromObjects(objects_.nodes, others, options_.cluster);
  for (const core::Node& n : view_.snapshot.nodes) node_gpus_[n.name] = n.gpus.size();

  std::set<std::string> namespaces;
  std::map<std::string, std::vector<const PodFacts*>> bound_groups, pending_groups;
  std::map<std::string, size_t> bound_count;
  for (const PodFacts& f : ours) {
    namespaces.insert(f.ns);
    std::string group = f.group.empty() ? "" : f.ns + "/" + f.group;
    if (!f.node.empty() && group.empty()) AddRunning({&f}, f.key);
    else if (!f.node.empty()) bound_groups[group].push_back(&f);
    else if (group.empty()) AddPending({&f}, f.key);
    else pending_groups[group].push_back(&f);
  }
  for (const auto& [group, pods] : bound_groups) AddRunning(pods, "pg:" + group + "+bound");
  for (const auto& [group, pods] : pending_groups) {
    auto b = bound_groups.find(group);
    AddGang(group, pods, b == bound_groups.end() ? 0 : b->second.size());
  }
  AddProjects(namespaces);
  return std::move(view_);
}

void Builder::AddProjects(const std::set<std::string>& namespaces) {
  std::set<std::string> named;
  for (const core::Project& p : options_.projects) {
    view_.snapshot.projects.push_back(p);
    named.insert(p.name);
  }
  for (const std::string& ns : namespaces)
    if (!named.count(ns)) view_.snapshot.projects.push_back(core::Project{.name = ns});
}

core::Job Builder::JobOf(const PodFacts& first, const std::string& id) const {
  const json& spec = At(*first.pod, "spec");
  core::Job job;
  job.id = id;
  job.project = first.ns;
  job.user = first.ns;
  std::string class_name = Str(spec, "priorityClassName");
  auto pc = classes_.find(class_name);
  if (pc != classes_.end()) {
    job.priority = At(*pc->second, "value").is_number() ? At(*pc->second, "value").get<int32_t>() : 0;
    job.may_preempt = Str(*pc->second, "preemptionPolicy") != "Never";
  } else if (At(spec, "priority").is_number_integer()) {
    job.priority = At(spec, "priority").get<int32_t>();
  }
  if (Str(spec, "preemptionPolicy") == "Never") job.may_preempt = false;
  job.node_selector = NodeSelector(spec);
  job.tolerations = Tolerations(spec);
  if (At(spec, "activeDeadlineSeconds").is_number_integer())
    job.max_runtime = At(spec, "activeDeadlineSeconds").get<int64_t>();
  job.submit_time = CreatedAt(*first.pod, view_.snapshot.now);
  return job;
}

void Builder::AddPending(const std::vector<const PodFacts*>& pods, const std::string& id) {
  core::Job job = JobOf(*pods.front(), id);
  std::vector<std::string> keys;
  for (const PodFacts* f : pods) {
    job.groups.push_back({f->key, 1, Requests(*f->pod, options_.cluster), {}});
    job.submit_time = std::min(job.submit_time, CreatedAt(*f->pod, view_.snapshot.now));
    keys.push_back(f->key);
  }
  view_.snapshot.jobs.push_back(std::move(job));
  view_.pods_of_job.push_back(std::move(keys));
}

// A running job holds what its pods request on their nodes. GPU indices are handed out in pod
// order from 0 (those of other schedulers' pods were taken off the top); a pod that does not
// fit any more (its node shrank under it) is left out rather than fail the whole pass.
void Builder::AddRunning(const std::vector<const PodFacts*>& pods, const std::string& id) {
  core::Job job = JobOf(*pods.front(), id);
  job.phase = core::JobPhase::kRunning;
  job.start_time = view_.snapshot.now;
  std::vector<std::string> keys;
  for (const PodFacts* f : pods) {
    core::ResourceVector r = Requests(*f->pod, options_.cluster);
    int64_t gpus = r.gpu_milli() / core::kMilliPerGpu;
    int32_t& next = next_gpu_[f->node];
    auto size = node_gpus_.find(f->node);
    if (size == node_gpus_.end() || static_cast<size_t>(next + gpus) > size->second) continue;
    core::TaskPlacement t{static_cast<int32_t>(job.groups.size()), 0, f->node, {}};
    for (int64_t g = 0; g < gpus; ++g) t.gpus.push_back({next++, core::kMilliPerGpu});
    job.groups.push_back({f->key, 1, r, {}});
    job.placements.push_back(std::move(t));
    if (f->deleting) job.phase = core::JobPhase::kTerminating;
    core::Seconds started = ParseTimestamp(Str(At(*f->pod, "status"), "startTime"));
    if (started >= 0) job.start_time = std::min(job.start_time, started);
    keys.push_back(f->key);
  }
  if (keys.empty()) return;
  view_.snapshot.jobs.push_back(std::move(job));
  view_.pods_of_job.push_back(std::move(keys));
}

void Builder::AddGang(const std::string& group_key, const std::vector<const PodFacts*>& pending,
                      size_t bound) {
  auto wait = [&](const std::string& message) {
    for (const PodFacts* f : pending) view_.waits.push_back({f->key, message});
  };
  auto pg = groups_.find(group_key);
  if (pg == groups_.end())
    return wait("waiting for its PodGroup " + group_key + " (scheduling.x-k8s.io/v1alpha1)");
  const json& min = At(At(*pg->second, "spec"), "minMember");
  int64_t min_member = min.is_number_integer() ? min.get<int64_t>() : 1;
  size_t have = pending.size() + bound;
  if (static_cast<int64_t>(have) < min_member)
    // No count in the sentence: it would change with every pod that arrives, and a pod is told
    // at most once a minute (pod_writes.h), so a count would mostly be stale.
    return wait("PodGroup " + group_key + " has fewer pods than its minMember " +
                std::to_string(min_member) + "; kumo binds none of them until all exist");
  const json& first = At(*pending.front()->pod, "spec");
  for (const PodFacts* f : pending) {
    const json& spec = At(*f->pod, "spec");
    if (At(spec, "nodeSelector") != At(first, "nodeSelector") ||
        At(spec, "tolerations") != At(first, "tolerations"))
      return wait("the pods of PodGroup " + group_key +
                  " differ in nodeSelector or tolerations; kumo places a gang under one");
  }
  AddPending(pending, "pg:" + group_key);
}

}  // namespace

bool IsOurs(const json& pod, const ViewOptions& options) {
  if (Str(At(pod, "spec"), "schedulerName") != options.scheduler_name) return false;
  if (options.namespaces.empty()) return true;
  std::string ns = Str(At(pod, "metadata"), "namespace");
  return std::find(options.namespaces.begin(), options.namespaces.end(), ns) != options.namespaces.end();
}

namespace {

void CopyFields(const json& from, json& to, std::initializer_list<const char*> fields) {
  for (const char* f : fields)
    if (const json& v = At(from, f); !v.empty()) to[f] = v;  // a scalar is never empty
}

}  // namespace

json SlimPod(const json& pod) {
  json slim = {{"metadata", json::object()}, {"spec", json::object()}, {"status", json::object()}};
  CopyFields(At(pod, "metadata"), slim["metadata"],
             {"name", "namespace", "uid", "resourceVersion", "labels", "creationTimestamp",
              "deletionTimestamp"});
  const json& spec = At(pod, "spec");
  CopyFields(spec, slim["spec"],
             {"schedulerName", "nodeName", "schedulingGates", "nodeSelector", "tolerations",
              "priorityClassName", "priority", "preemptionPolicy", "activeDeadlineSeconds",
              "terminationGracePeriodSeconds"});
  json containers = json::array();
  for (const json& c : At(spec, "containers").is_array() ? spec["containers"] : json::array())
    containers.push_back({{"resources", {{"requests", At(At(c, "resources"), "requests")}}}});
  slim["spec"]["containers"] = std::move(containers);
  CopyFields(At(pod, "status"), slim["status"], {"phase", "startTime", "conditions"});
  return slim;
}

json SlimNode(const json& node) {
  json slim = {{"metadata", json::object()}, {"spec", json::object()}, {"status", json::object()}};
  CopyFields(At(node, "metadata"), slim["metadata"], {"name", "resourceVersion", "labels"});
  CopyFields(At(node, "spec"), slim["spec"], {"taints", "unschedulable"});
  CopyFields(At(node, "status"), slim["status"], {"allocatable"});
  const json& conditions = At(At(node, "status"), "conditions");
  for (const json& c : conditions.is_array() ? conditions : json::array())
    if (Str(c, "type") == "Ready")
      slim["status"]["conditions"] = json::array({{{"type", "Ready"}, {"status", Str(c, "status")}}});
  return slim;
}

std::string KeyOf(const json& object) {
  const json& md = At(object, "metadata");
  return Str(md, "namespace") + "/" + Str(md, "name");
}

SchedulingView BuildView(const ClusterObjects& objects, const ViewOptions& options,
                         core::Seconds now) {
  return Builder(objects, options, now).Build();
}

core::Seconds ParseTimestamp(const std::string& text) {
  std::tm tm{};
  char zone = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
                      &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &zone);
  if (n != 7 || (zone != 'Z' && zone != '.')) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<core::Seconds>(timegm(&tm));
}

}  // namespace kumo::kubesched
