#include "kubesched/pod_binder.h"

#include "kubesched/pod_writes.h"

namespace kumo::kubesched {
using executor::kube::ErrorText;
using executor::kube::KubeClient;
using executor::kube::KubeResponse;
using executor::kube::Verb;
using nlohmann::json;

namespace {

// After a 409: which pod now has the name, and where it is bound.
BindResult ExplainConflict(KubeClient& client, KubeClient::Session& session, const std::string& pod,
                           const std::string& uid, const std::string& node,
                           const KubeResponse& conflict) {
  Result<KubeResponse> now = client.Call(session, Verb::kGet, PodPath(pod));
  if (!now) return {BindOutcome::kNoAnswer, ErrorText(conflict) + "; then " + now.error().message()};
  if (now->status == 404) return {BindOutcome::kReplaced, "the pod was deleted"};
  if (!now->ok()) return {BindOutcome::kRefused, ErrorText(conflict) + "; then " + ErrorText(*now)};
  const json& md = now->body.value("metadata", json::object());
  std::string now_uid = md.value("uid", "");
  std::string now_node = now->body.value("spec", json::object()).value("nodeName", "");
  if (now_uid != uid)
    return {BindOutcome::kReplaced, "the pod was recreated (uid " + uid + ", now " + now_uid +
                                        "): " + ErrorText(conflict)};
  if (now_node == node) return {BindOutcome::kBound, ""};
  return {BindOutcome::kRefused, ErrorText(conflict)};
}

}  // namespace

BindResult BindPod(KubeClient& client, KubeClient::Session& session, const std::string& pod,
                   const std::string& uid, const std::string& node) {
  json body = BindingBody(pod.substr(pod.find('/') + 1), uid, node);
  std::string path = PodPath(pod) + "/binding";
  Result<KubeResponse> r = client.Call(session, Verb::kPost, path, &body);
  if (!r) r = client.Call(session, Verb::kPost, path, &body);
  if (!r) return {BindOutcome::kNoAnswer, r.error().message()};
  if (r->ok()) return {BindOutcome::kBound, ""};
  if (r->status == 409) return ExplainConflict(client, session, pod, uid, node, *r);
  if (r->status == 404) return {BindOutcome::kReplaced, "the pod was deleted: " + ErrorText(*r)};
  return {BindOutcome::kRefused, ErrorText(*r)};
}

}  // namespace kumo::kubesched
