#include "kubesched/pod_writes.h"

#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {
using nlohmann::json;

namespace {

const json& Metadata(const json& pod) {
  static const json kEmpty = json::object();
  auto it = pod.find("metadata");
  return it == pod.end() || !it->is_object() ? kEmpty : *it;
}

}  // namespace

json BindingBody(const std::string& pod_name, const std::string& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Binding"},
          {"metadata", {{"name", pod_name}}},
          {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
}

json UnschedulablePatch(const json& pod, const std::string& message, core::Seconds now) {
  json conditions = json::array();
  std::string since = FormatTimestamp(now);
  const json status = pod.value("status", json::object());
  for (const json& c : status.value("conditions", json::array())) {
    if (c.value("type", "") != "PodScheduled") {
      conditions.push_back(c);
    } else if (c.value("status", "") == "False") {
      since = c.value("lastTransitionTime", since);  // still unscheduled: the same transition
    }
  }
  conditions.push_back({{"type", "PodScheduled"},
                        {"status", "False"},
                        {"reason", "Unschedulable"},
                        {"message", message},
                        {"lastProbeTime", nullptr},
                        {"lastTransitionTime", since}});
  return {{"status", {{"conditions", conditions}}}};
}

json FailedSchedulingEvent(const json& pod, const std::string& message,
                           const std::string& scheduler_name, core::Seconds now) {
  const json& md = Metadata(pod);
  std::string name = md.value("name", "");
  std::string when = FormatTimestamp(now);
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata",
           {{"name", name + "." + std::to_string(now) + "." + scheduler_name},
            {"namespace", md.value("namespace", "")}}},
          {"involvedObject",
           {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"namespace", md.value("namespace", "")},
            {"name", name},
            {"uid", md.value("uid", "")},
            {"resourceVersion", md.value("resourceVersion", "")}}},
          {"type", "Warning"},
          {"reason", "FailedScheduling"},
          {"message", message},
          {"source", {{"component", scheduler_name}}},
          {"reportingComponent", scheduler_name},
          {"firstTimestamp", when},
          {"lastTimestamp", when},
          {"count", 1}};
}

int64_t GracePeriodSeconds(const json& pod) {
  const json spec = pod.value("spec", json::object());
  auto it = spec.find("terminationGracePeriodSeconds");
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 30;
}

bool NoticeLimiter::ShouldTell(const std::string& pod, const std::string& message,
                               core::Seconds now) {
  auto it = told_.find(pod);
  if (it != told_.end() &&
      (it->second.message == message || now - it->second.at < interval_s_))
    return false;
  told_[pod] = {message, now};
  return true;
}

}  // namespace kumo::kubesched
