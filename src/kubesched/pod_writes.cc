#include "kubesched/pod_writes.h"

#include <algorithm>

#include "kubesched/scheduling_view.h"

namespace kumo::kubesched {
using nlohmann::json;

std::string PodPath(const std::string& pod) {
  size_t slash = pod.find('/');
  return "/api/v1/namespaces/" + pod.substr(0, slash) + "/pods/" + pod.substr(slash + 1);
}

json BindingBody(const std::string& pod_name, const std::string& pod_uid,
                 const std::string& node) {
  return {{"apiVersion", "v1"},
          {"kind", "Binding"},
          {"metadata", {{"name", pod_name}, {"uid", pod_uid}}},
          {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
}

json WaitingNoticePatch(const json& pod, const std::string& message, core::Seconds now) {
  json patch = executor::kube::WaitingConditionPatch(pod, message, now);
  const json metadata = pod.value("metadata", json::object());
  if (auto rv = metadata.find("resourceVersion"); rv != metadata.end() && rv->is_string())
    patch["metadata"]["resourceVersion"] = *rv;
  return patch;
}

json DeleteBody(int64_t grace_period_s, const std::string& pod_uid) {
  return {{"apiVersion", "v1"},
          {"kind", "DeleteOptions"},
          {"gracePeriodSeconds", grace_period_s},
          {"preconditions", {{"uid", pod_uid}}}};
}

int64_t GracePeriodSeconds(const json& pod) {
  const json spec = pod.value("spec", json::object());
  auto it = spec.find("terminationGracePeriodSeconds");
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 30;
}

NoticeLimiter::Due NoticeLimiter::Check(const std::string& pod, const std::string& message,
                                        core::Seconds now) const {
  auto it = told_.find(pod);
  if (it == told_.end()) return Due::kFirst;
  return executor::kube::NoticeDue(it->second, message, now, interval_s_) ? Due::kChanged : Due::kNo;
}

void NoticeLimiter::Told(const std::string& pod, const std::string& message, core::Seconds now) {
  told_[pod] = {message, static_cast<double>(now)};
}

bool NoticeLimiter::ShouldTell(const std::string& pod, const std::string& message,
                               core::Seconds now) {
  if (Check(pod, message, now) == Due::kNo) return false;
  Told(pod, message, now);
  return true;
}

bool NoticeBudget::Take(double now_s, int writes) {
  if (last_s_ >= 0) tokens_ = std::min(burst_, tokens_ + std::max(0.0, now_s - last_s_) * per_second_);
  last_s_ = now_s;
  if (tokens_ < writes) return false;
  tokens_ -= writes;
  return true;
}

}  // namespace kumo::kubesched
