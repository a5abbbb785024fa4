#include "executor/kubernetes/cluster_view.h"

#include <algorithm>

#include "base/quantity.h"

namespace kumo::executor::kube {
using nlohmann::json;

namespace {

// A Kubernetes quantity in milli-units ("4" -> 4000, "500m" -> 500); 0 when malformed.
int64_t Milli(const json& q) {
  if (!q.is_string()) return q.is_number_integer() ? q.get<int64_t>() * 1000 : 0;
  auto v = ParseMilli(q.get<std::string>());
  return v ? *v : 0;
}

int64_t Bytes(const json& q) {
  if (!q.is_string()) return q.is_number_integer() ? q.get<int64_t>() : 0;
  auto v = ParseBytes(q.get<std::string>());
  return v ? *v : 0;
}

const json& Field(const json& object, const char* name) {
  static const json kEmpty = json::object();
  auto it = object.find(name);
  return it == object.end() || it->is_null() ? kEmpty : *it;
}

// The pod's requests, summed over its containers, by resource name, in milli-units
// (memory in bytes).
std::map<std::string, int64_t> PodRequests(const json& pod) {
  std::map<std::string, int64_t> sum;
  for (const json& c : Field(Field(pod, "spec"), "containers").is_array()
                           ? pod["spec"]["containers"]
                           : json::array()) {
    const json& requests = Field(Field(c, "resources"), "requests");
    for (auto it = requests.begin(); it != requests.end(); ++it)
      sum[it.key()] += it.key() == "memory" ? Bytes(it.value()) : Milli(it.value());
  }
  return sum;
}

// Taints the node lifecycle controller derives from what kumo reads itself (the Ready condition,
// spec.unschedulable): counting them again would only go stale where that controller lags or
// does not run.
bool DerivedTaint(const std::string& key) {
  return key == "node.kubernetes.io/not-ready" || key == "node.kubernetes.io/unreachable" ||
         key == "node.kubernetes.io/unschedulable";
}

std::optional<core::TaintEffect> Effect(const std::string& e) {
  if (e == "NoSchedule") return core::TaintEffect::kNoSchedule;
  if (e == "PreferNoSchedule") return core::TaintEffect::kPreferNoSchedule;
  if (e == "NoExecute") return core::TaintEffect::kNoExecute;
  return std::nullopt;
}

core::Node NodeFromObject(const json& node, const ClusterOptions& o) {
  core::Node n;
  const json& md = Field(node, "metadata");
  n.name = md.value("name", "");
  const json& alloc = Field(Field(node, "status"), "allocatable");
  n.allocatable[core::kCpu] = alloc.contains("cpu") ? Milli(alloc["cpu"]) : 0;
  n.allocatable[core::kMemory] = alloc.contains("memory") ? Bytes(alloc["memory"]) : 0;
  for (size_t i = 0; i < o.extended_resources.size(); ++i) {
    const std::string& r = o.extended_resources[i];
    if (alloc.contains(r)) n.allocatable[core::kExtended0 + static_cast<int>(i)] = Milli(alloc[r]) / 1000;
  }
  const json& labels = Field(md, "labels");
  int64_t gpus = alloc.contains(o.gpu_resource) ? Milli(alloc[o.gpu_resource]) / 1000 : 0;
  std::string model = labels.value(o.gpu_model_label, "");
  for (int32_t i = 0; i < gpus; ++i) n.gpus.push_back({i, model, 0});
  for (auto it = labels.begin(); it != labels.end(); ++it)
    if (it->is_string()) n.labels.push_back({it.key(), it->get<std::string>()});
  const json& spec = Field(node, "spec");
  for (const json& t : Field(spec, "taints").is_array() ? spec["taints"] : json::array())
    if (auto e = Effect(t.value("effect", "")); e && !DerivedTaint(t.value("key", "")))
      n.taints.push_back({t.value("key", ""), t.value("value", ""), *e});
  for (const std::string& level : o.topology_labels) n.topology.push_back(labels.value(level, "none"));
  n.unschedulable = spec.value("unschedulable", false) || !NodeReady(node);
  return n;
}

}  // namespace

bool NodeReady(const json& node) {
  const json& conditions = Field(Field(node, "status"), "conditions");
  if (!conditions.is_array()) return false;
  for (const json& c : conditions)
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

bool IsManagedPod(const json& pod) { return Field(Field(pod, "metadata"), "labels").contains(kLabelJob); }

bool PodEnded(const json& pod) {
  std::string phase = Field(pod, "status").value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

std::vector<core::Node> NodesFromObjects(const std::vector<json>& nodes,
                                         const std::vector<json>& pods,
                                         const ClusterOptions& options, ManagedPods managed) {
  std::vector<core::Node> out;
  std::map<std::string, size_t> by_name;
  for (const json& node : nodes) {
    by_name[Field(node, "metadata").value("name", "")] = out.size();
    out.push_back(NodeFromObject(node, options));
  }
  for (const json& pod : pods) {
    if ((managed == ManagedPods::kSkip && IsManagedPod(pod)) || PodEnded(pod)) continue;
    auto it = by_name.find(Field(pod, "spec").value("nodeName", ""));
    if (it == by_name.end()) continue;
    core::Node& n = out[it->second];
    std::map<std::string, int64_t> req = PodRequests(pod);
    n.allocatable[core::kCpu] = std::max<int64_t>(0, n.allocatable[core::kCpu] - req["cpu"]);
    n.allocatable[core::kMemory] = std::max<int64_t>(0, n.allocatable[core::kMemory] - req["memory"]);
    for (size_t i = 0; i < options.extended_resources.size(); ++i) {
      int64_t& v = n.allocatable[core::kExtended0 + static_cast<int>(i)];
      v = std::max<int64_t>(0, v - req[options.extended_resources[i]] / 1000);
    }
    size_t taken = static_cast<size_t>(std::max<int64_t>(0, req[options.gpu_resource] / 1000));
    n.gpus.resize(n.gpus.size() - std::min(taken, n.gpus.size()));
  }
  return out;
}

}  // namespace kumo::executor::kube
