#include "kubesched/pod_writes.h"

#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {
using nlohmann::json;

json BindingBody(const std::string& pod_name, const std::string& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Binding"},
          {"metadata", {{"name", pod_name}}},
          {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
}

int64_t GracePeriodSeconds(const json& pod) {
  const json spec = pod.value("spec", json::object());
  auto it = spec.find("terminationGracePeriodSeconds");
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 30;
}

bool NoticeLimiter::ShouldTell(const std::string& pod, const std::string& message,
                               core::Seconds now) {
  auto it = told_.find(pod);
  if (it != told_.end() && !executor::kube::NoticeDue(it->second, message, now, interval_s_))
    return false;
  told_[pod] = {message, static_cast<double>(now)};
  return true;
}

}  // namespace kumo::kubesched
