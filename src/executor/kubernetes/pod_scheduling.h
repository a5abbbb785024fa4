// PodScheduling: what a scheduler writes on a pod it cannot place yet, so that `kubectl describe
// pod` and every tool that watches pods see why it waits — as kube-scheduler does for its own.
//
// Pure: JSON in, JSON out; the executor (kubernetes_executor.h) and `kumo kube-scheduler`
// (kubesched/kube_scheduler.h) send them.
//
//   WaitingConditionPatch  a strategic-merge patch of the pods/status subresource: the
//                          PodScheduled condition False, reason Unschedulable, message = the
//                          sentence. Strategic merge keys `status.conditions` by `type`, so the
//                          pod's other conditions stay (a JSON merge patch would replace the list).
//   FailedSchedulingEvent  a core/v1 Event, type Warning, reason FailedScheduling, about the pod
//                          (involvedObject with its uid), from `component` (source.component and
//                          reportingComponent). Each Event is one occurrence (count 1, no
//                          `series`): the executor writes one only when the sentence changes,
//                          never the same sentence again, so there is no series to count.
//   Notice / NoticeDue     when to write either again: the one rule for both senders (an
//                          apiserver of thousands of waiting pods is not rewritten every pass).
//
// Times are RFC 3339 in UTC, whole seconds (metav1.Time), from clock seconds since the epoch.
#pragma once

#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace kumo::executor::kube {

// "2026-12-06T11:25:08Z".
std::string Rfc3339(double seconds);

// `pod` as last seen (may be {}): while it is already PodScheduled=False, its
// lastTransitionTime is kept (the transition happened when it first became unschedulable).
nlohmann::json WaitingConditionPatch(const nlohmann::json& pod, const std::string& message,
                                     double now_s);

// REQUIRES: `pod` as the API server returned it (metadata.name, namespace, uid).
nlohmann::json FailedSchedulingEvent(const nlohmann::json& pod, const std::string& message,
                                     const std::string& component, double now_s);

// What a pod was last told (its condition's or its last Event's sentence) and when.
struct Notice {
  std::string message;
  double at_s = -std::numeric_limits<double>::infinity();  // clock seconds; -inf: never told
};

// True when a pod last told `last` should be told `message` at `now_s`: it was never told, or the
// sentence changed and at least `interval_s` passed since the last telling (0: at once). The same
// sentence is never told twice. The caller records `{message, now_s}` once the write succeeded,
// so a failed write is tried again on the next pass.
bool NoticeDue(const Notice& last, const std::string& message, double now_s, double interval_s);

}  // namespace kumo::executor::kube
