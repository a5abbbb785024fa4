// BindPod: one pod's binding (POST pods/NAME/binding), and what the API server's answer means.
//
// The Binding names the pod by name AND uid (pod_writes.h, BindingBody), as kube-scheduler's
// default binder does: the API server binds under a storage precondition on the UID, so between
// kumo's pass and its call the pod may be deleted and recreated under the same name (a Job
// controller, a user's `kubectl replace`) and the new pod, with other requests or another
// nodeSelector, is never bound where the old one was placed; the call is refused with 409.
//
// 409 has a second meaning: the pod is already bound. A call sent twice (the first answer lost
// on a broken connection, KubeClient::Session) gets it when the first send got through; so does
// a pod someone else bound. The answer alone does not say which, so a 409 is followed by one GET
// of the pod: the same uid bound to the same node is this binding; anything else is not.
//
// Thread safety: as KubeClient::Call with a Session (one Session per thread).
#pragma once

#include <string>

#include "executor/kubernetes/kube_client.h"

namespace kumo::kubesched {

enum class BindOutcome {
  kBound,     // the pod of `uid` is bound to `node` (by this call or an earlier send of it)
  kReplaced,  // the pod of `uid` is gone: deleted, or recreated under its name (another uid)
  kRefused,   // an answer other than these (bound elsewhere, being deleted, forbidden, ...)
  kNoAnswer,  // the API server did not answer, twice
};

struct BindResult {
  BindOutcome outcome = BindOutcome::kNoAnswer;
  std::string error;  // for the log; empty when kBound
};

// `pod` is "NS/NAME". A call that gets no answer is sent once more (the session reconnects).
BindResult BindPod(executor::kube::KubeClient& client, executor::kube::KubeClient::Session& session,
                   const std::string& pod, const std::string& uid, const std::string& node);

}  // namespace kumo::kubesched
