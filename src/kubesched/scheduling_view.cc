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

// The containers' requests by name, summed (ParsePod; their meaning comes per pass, Requests).
std::vector<std::pair<std::string, int64_t>> RawRequests(const json& pod) {
  std::map<std::string, int64_t> sum;
  const json& containers = At(At(pod, "spec"), "containers");
  for (const json& c : containers.is_array() ? containers : json::array()) {
    const json& req = At(At(c, "resources"), "requests");
    for (auto it = req.begin(); it != req.end(); ++it)
      sum[it.key()] += Quantity(it.key(), it.value());
  }
  return {sum.begin(), sum.end()};
}

core::ResourceVector Requests(const PodFacts& pod, const kube::ClusterOptions& o) {
  core::ResourceVector r;
  for (const auto& [name, v] : pod.requests) {
    if (name == "cpu") r[core::kCpu] += v;
    else if (name == "memory") r[core::kMemory] += v;
    else if (name == o.gpu_resource) r[core::kGpu] += v / 1000 * core::kMilliPerGpu;
    for (size_t i = 0; i < o.extended_resources.size(); ++i)
      if (name == o.extended_resources[i]) r[core::kExtended0 + static_cast<int>(i)] += v / 1000;
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
core::Seconds CreatedAt(const PodFacts& pod, core::Seconds now) {
  return pod.created < 0 ? now : pod.created;
}

// A pod of ours as one pass sees it: its facts, and its node (or the one kumo assumed).
struct OurPod {
  const PodFacts* facts;
  std::string node;
  bool going = false;  // being deleted (deletionTimestamp, or kumo asked to)
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
  void AddRunning(const std::vector<const OurPod*>& pods, const std::string& id);
  void AddPending(const std::vector<const OurPod*>& pods, const std::string& id);
  void AddGang(const std::string& group_key, const std::vector<const OurPod*>& pending,
               const std::vector<std::string>& staying);
  core::Job JobOf(const PodFacts& first, const std::string& id) const;

  const ClusterObjects& objects_;
  const ViewOptions& options_;
  std::map<std::string, const json*> classes_, groups_;
  std::map<std::string, int32_t> next_gpu_;  // node -> the next GPU index for a running pod
  std::map<std::string, size_t> node_gpus_;
  SchedulingView view_;
};

SchedulingView Builder::Build() {
  std::vector<OurPod> ours;
  std::vector<json> others;
  ours.reserve(objects_.pods.size());
  for (const auto& shared : objects_.pods) {
    const PodFacts& pod = *shared;
    if (!IsOurs(pod, options_)) {
      others.push_back(*pod.object);
      continue;
    }
    // A gated pod is not ready to be scheduled (spec.schedulingGates: Kueue and others hold pods
    // back this way until they admit them); it holds nothing and is told nothing.
    if (pod.ended || pod.gated) continue;
    OurPod f{&pod, pod.node};
    if (auto a = objects_.assumed.find(pod.key); f.node.empty() && a != objects_.assumed.end())
      f.node = a->second;
    f.going = pod.deleting || objects_.deleting.count(pod.key) > 0;
    // A pod on its way out is never placed (the API server refuses to bind it; kube-scheduler
    // skips it too); bound, it holds its node until it is gone.
    if (f.going && f.node.empty()) continue;
    ours.push_back(std::move(f));
  }
  view_.snapshot.extended_resources = options_.cluster.extended_resources;
  view_.snapshot.nodes = kube::NodesFromObjects(objects_.nodes, others, options_.cluster,
                                                kube::ManagedPods::kCount);
  for (const core::Node& n : view_.snapshot.nodes) node_gpus_[n.name] = n.gpus.size();

  std::set<std::string> namespaces;
  std::map<std::string, std::vector<const OurPod*>> bound_groups, pending_groups;
  std::map<std::string, std::vector<std::string>> staying;  // bound pods of a group not going
  for (const OurPod& f : ours) {
    const PodFacts& p = *f.facts;
    namespaces.insert(p.ns);
    std::string group = p.group.empty() ? "" : p.ns + "/" + p.group;
    if (!f.node.empty() && group.empty()) AddRunning({&f}, p.key);
    else if (!f.node.empty()) {
      bound_groups[group].push_back(&f);
      if (!f.going) staying[group].push_back(p.key);
    }
    else if (group.empty()) AddPending({&f}, p.key);
    else pending_groups[group].push_back(&f);
  }
  for (const auto& [group, pods] : bound_groups) AddRunning(pods, "pg:" + group + "+bound");
  // A gang's bound pods count toward its minMember only while they stay: the pods of a gang
  // whose bindings failed are being deleted, and its one unbound pod is not a whole gang.
  for (const auto& [group, pods] : pending_groups) AddGang(group, pods, staying[group]);
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
  core::Job job;
  job.id = id;
  job.project = first.ns;
  job.user = first.ns;
  auto pc = classes_.find(first.priority_class);
  if (pc != classes_.end()) {
    job.priority = At(*pc->second, "value").is_number() ? At(*pc->second, "value").get<int32_t>() : 0;
    job.may_preempt = Str(*pc->second, "preemptionPolicy") != "Never";
  } else if (first.priority) {
    job.priority = *first.priority;
  }
  if (first.preempt_never) job.may_preempt = false;
  job.node_selector = first.node_selector;
  job.tolerations = first.tolerations;
  if (first.active_deadline_s) job.max_runtime = *first.active_deadline_s;
  job.submit_time = CreatedAt(first, view_.snapshot.now);
  return job;
}

void Builder::AddPending(const std::vector<const OurPod*>& pods, const std::string& id) {
  core::Job job = JobOf(*pods.front()->facts, id);
  std::vector<std::string> keys;
  for (const OurPod* f : pods) {
    const PodFacts& p = *f->facts;
    job.groups.push_back({p.key, 1, Requests(p, options_.cluster), {}});
    job.submit_time = std::min(job.submit_time, CreatedAt(p, view_.snapshot.now));
    keys.push_back(p.key);
  }
  view_.snapshot.jobs.push_back(std::move(job));
  view_.pods_of_job.push_back(std::move(keys));
}

// A running job holds what its pods request on their nodes. GPU indices are handed out in pod
// order from 0 (those of other schedulers' pods were taken off the top); a pod that does not
// fit any more (its node shrank under it) is left out rather than fail the whole pass.
void Builder::AddRunning(const std::vector<const OurPod*>& pods, const std::string& id) {
  core::Job job = JobOf(*pods.front()->facts, id);
  job.phase = core::JobPhase::kRunning;
  job.start_time = view_.snapshot.now;
  std::vector<std::string> keys;
  for (const OurPod* f : pods) {
    const PodFacts& p = *f->facts;
    core::ResourceVector r = Requests(p, options_.cluster);
    int64_t gpus = r.gpu_milli() / core::kMilliPerGpu;
    int32_t& next = next_gpu_[f->node];
    auto size = node_gpus_.find(f->node);
    if (size == node_gpus_.end() || static_cast<size_t>(next + gpus) > size->second) continue;
    core::TaskPlacement t{static_cast<int32_t>(job.groups.size()), 0, f->node, {}};
    for (int64_t g = 0; g < gpus; ++g) t.gpus.push_back({next++, core::kMilliPerGpu});
    job.groups.push_back({p.key, 1, r, {}});
    job.placements.push_back(std::move(t));
    if (f->going) job.phase = core::JobPhase::kTerminating;
    if (p.started >= 0) job.start_time = std::min(job.start_time, p.started);
    keys.push_back(p.key);
  }
  if (keys.empty()) return;
  view_.snapshot.jobs.push_back(std::move(job));
  view_.pods_of_job.push_back(std::move(keys));
}

void Builder::AddGang(const std::string& group_key, const std::vector<const OurPod*>& pending,
                      const std::vector<std::string>& staying) {
  auto wait = [&](const std::string& message) {
    for (const OurPod* f : pending) view_.waits.push_back({f->facts->key, message});
  };
  auto pg = groups_.find(group_key);
  if (pg == groups_.end())
    return wait("waiting for its PodGroup " + group_key + " (scheduling.x-k8s.io/v1alpha1)");
  const json& min = At(At(*pg->second, "spec"), "minMember");
  int64_t min_member = min.is_number_integer() ? min.get<int64_t>() : 1;
  size_t have = pending.size() + staying.size();
  if (static_cast<int64_t>(have) < min_member)
    // No count in the sentence: it would change with every pod that arrives, and a pod is told
    // at most once a minute (pod_writes.h), so a count would mostly be stale.
    return wait("PodGroup " + group_key + " has fewer pods than its minMember " +
                std::to_string(min_member) + "; kumo binds none of them until all exist");
  const std::string& first = pending.front()->facts->constraints;
  for (const OurPod* f : pending) {
    if (f->facts->constraints != first)
      return wait("the pods of PodGroup " + group_key +
                  " differ in nodeSelector or tolerations; kumo places a gang under one");
  }
  AddPending(pending, "pg:" + group_key);
  if (!staying.empty() && static_cast<int64_t>(staying.size()) < min_member)
    view_.partly_bound["pg:" + group_key] = staying;
}

}  // namespace

bool IsOurs(const PodFacts& pod, const ViewOptions& options) {
  if (pod.scheduler_name != options.scheduler_name) return false;
  // A pod kumo server created (its executor binds it; both default to the name "kumo") is
  // another scheduler's: never placed or preempted here, its requests taken off its node.
  if (pod.managed) return false;
  return options.namespaces.empty() ||
         std::find(options.namespaces.begin(), options.namespaces.end(), pod.ns) !=
             options.namespaces.end();
}

PodFacts ParsePod(std::shared_ptr<const json> pod) {
  PodFacts f;
  const json& md = At(*pod, "metadata");
  const json& spec = At(*pod, "spec");
  f.key = KeyOf(*pod);
  f.ns = Str(md, "namespace");
  f.uid = Str(md, "uid");
  f.scheduler_name = Str(spec, "schedulerName");
  f.group = Str(At(md, "labels"), kPodGroupLabel);
  f.managed = At(md, "labels").contains(kube::kLabelJob);
  f.node = Str(spec, "nodeName");
  f.ended = kube::PodEnded(*pod);
  f.gated = !At(spec, "schedulingGates").empty();
  f.deleting = md.contains("deletionTimestamp");
  f.requests = RawRequests(*pod);
  f.node_selector = NodeSelector(spec);
  f.tolerations = Tolerations(spec);
  f.constraints = At(spec, "nodeSelector").dump() + At(spec, "tolerations").dump();
  f.priority_class = Str(spec, "priorityClassName");
  if (At(spec, "priority").is_number_integer()) f.priority = At(spec, "priority").get<int32_t>();
  f.preempt_never = Str(spec, "preemptionPolicy") == "Never";
  if (At(spec, "activeDeadlineSeconds").is_number_integer())
    f.active_deadline_s = At(spec, "activeDeadlineSeconds").get<int64_t>();
  f.created = ParseTimestamp(Str(md, "creationTimestamp"));
  f.started = ParseTimestamp(Str(At(*pod, "status"), "startTime"));
  f.object = std::move(pod);
  return f;
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
