// PodWrites: the bodies of what `kumo kube-scheduler` writes to the API server, and how often it
// may tell a waiting pod why it waits.
//
// Pure: JSON in and out, the time passed in. The semantics follow kube-scheduler's, so that
// `kubectl describe pod` and tools that read pods (Kueue, dashboards) see kumo as they would see
// the default scheduler:
//   - binding: POST pods/NAME/binding, a core/v1 Binding whose target is the Node and whose
//     metadata.uid is the pod's: the API server binds only the pod of that UID (a storage
//     precondition), so a pod deleted and recreated under its name since the pass is refused
//     with 409 Conflict instead of being bound where the old pod was placed (pod_binder.h);
//   - a pod that cannot be placed: the PodScheduled condition False, reason Unschedulable, the
//     message kumo's sentence (pods/status), and a Warning Event, reason FailedScheduling, about
//     the pod (core/v1 Events, source component = the scheduler's name);
//   - preemption: DELETE of the victim pod with its spec.terminationGracePeriodSeconds (30 when
//     unset, as the API defaults it).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/resources.h"
#include "executor/kubernetes/pod_scheduling.h"

namespace kumo::kubesched {

// The API path of the pod "NS/NAME" (its subresources append "/binding", "/status").
std::string PodPath(const std::string& pod);

nlohmann::json BindingBody(const std::string& pod_name, const std::string& pod_uid,
                           const std::string& node);

// The PodScheduled=False patch and the FailedScheduling Event are the Kubernetes executor's
// (executor/kubernetes/pod_scheduling.h): one account of a waiting pod for both. kumo's patch
// also names the pod's metadata.resourceVersion as the pass saw it (a precondition): notices run
// on their own pool beside the bindings, so a sentence decided while the pod waited can reach
// the API server after a later pass bound it; the API server then answers 409 Conflict instead
// of turning the bound pod's PodScheduled back to False (and waking every watcher of its
// status: a fake kubelet restarts its timers on it). Without a resourceVersion: no precondition.
nlohmann::json WaitingNoticePatch(const nlohmann::json& pod, const std::string& message,
                                  core::Seconds now);

// DeleteOptions for one pod: its grace period, and a precondition on its uid, so that a pod
// recreated under the name since kumo decided is not the one deleted (the API server answers
// 409 Conflict instead).
nlohmann::json DeleteBody(int64_t grace_period_s, const std::string& pod_uid);

// The victim's grace: spec.terminationGracePeriodSeconds, 30 when unset.
int64_t GracePeriodSeconds(const nlohmann::json& pod);

// When to tell a waiting pod why it waits, by the executor's rule (executor::kube::NoticeDue):
// the first time, and then when the sentence changed, at most once per `interval_s`. A telling is
// recorded when it is decided, not when its write returns: the writes run on the call pool, and
// a failed one waits for the next change of the sentence. Not thread-safe: the loop's only.
class NoticeLimiter {
 public:
  explicit NoticeLimiter(core::Seconds interval_s) : interval_s_(interval_s) {}
  enum class Due { kNo, kFirst, kChanged };  // kFirst: the pod was never told
  // Whether `pod` should be told `message` now; records nothing.
  Due Check(const std::string& pod, const std::string& message, core::Seconds now) const;
  // Records that `pod` was told `message` now.
  void Told(const std::string& pod, const std::string& message, core::Seconds now);
  // Check, and Told when due. True when due.
  bool ShouldTell(const std::string& pod, const std::string& message, core::Seconds now);
  // Forgets pods that no longer wait (bound or gone), so that a pod that waits again is told.
  void Forget(const std::string& pod) { told_.erase(pod); }
  template <typename KeepFn>
  void ForgetUnless(KeepFn keep) {
    std::erase_if(told_, [&](const auto& entry) { return !keep(entry.first); });
  }

 private:
  const core::Seconds interval_s_;
  std::map<std::string, executor::kube::Notice> told_;
};

// How many notice writes (conditions, Events) kumo may send: `per_second` a second, up to `burst`
// saved (a token bucket). Waiting pods' notices share the API server with the bindings and with
// the kubelets' status writes; when a thousand pods wait and every pod that ends changes their
// sentences, unbounded notices were a hundred writes a second or more, and the kubelets' writes
// (pods starting and ending) fell behind. kube-scheduler's whole client is held to 50 a second.
// Not thread-safe: the loop's only.
class NoticeBudget {
 public:
  NoticeBudget(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}
  // True (and spent) when `writes` fit in what is saved at now_s (a clock going back adds none).
  bool Take(double now_s, int writes);

 private:
  const double per_second_, burst_;
  double tokens_;
  double last_s_ = -1;  // -1: never asked
};

}  // namespace kumo::kubesched
