#include "executor/kubernetes/pod_scheduling.h"

#include <ctime>

namespace kumo::executor::kube {
using nlohmann::json;

std::string Rfc3339(double seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

json WaitingConditionPatch(const json& pod, const std::string& message, double now_s) {
  std::string since = Rfc3339(now_s);
  const json status = pod.is_object() ? pod.value("status", json::object()) : json::object();
  for (const json& c : status.value("conditions", json::array()))
    if (c.value("type", "") == "PodScheduled" && c.value("status", "") == "False")
      since = c.value("lastTransitionTime", since);
  json condition = {{"type", "PodScheduled"},
                    {"status", "False"},
                    {"reason", "Unschedulable"},
                    {"message", message},
                    {"lastProbeTime", nullptr},
                    {"lastTransitionTime", since}};
  return {{"status", {{"conditions", json::array({condition})}}}};
}

json FailedSchedulingEvent(const json& pod, const std::string& message,
                           const std::string& component, double now_s) {
  const json& md = pod.at("metadata");
  const std::string name = md.value("name", ""), ns = md.value("namespace", "");
  const std::string at = Rfc3339(now_s);
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          // generateName: one new Event per sentence, named after its pod as kubectl lists them.
          {"metadata", {{"generateName", name + "."}, {"namespace", ns}}},
          {"involvedObject",
           {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"name", name},
            {"namespace", ns},
            {"uid", md.value("uid", "")}}},
          {"type", "Warning"},
          {"reason", "FailedScheduling"},
          {"message", message},
          {"source", {{"component", component}}},
          {"reportingComponent", component},
          {"reportingInstance", component},
          {"firstTimestamp", at},
          {"lastTimestamp", at},
          {"count", 1}};
}

bool NoticeDue(const Notice& last, const std::string& message, double now_s, double interval_s) {
  if (last.at_s == -std::numeric_limits<double>::infinity()) return true;  // never told
  return last.message != message && now_s - last.at_s >= interval_s;
}

}  // namespace kumo::executor::kube
