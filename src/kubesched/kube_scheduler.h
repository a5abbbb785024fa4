// KubeScheduler: kumo as a secondary Kubernetes scheduler (`kumo kube-scheduler`): it places
// every pod whose spec.schedulerName is kumo's, pods other tools created included, with the
// same core (core::Scheduler) `kumo server` runs.
//
//   watches (informer.h: list + watch, bookmarks, 410 -> relist)        the apiserver is the
//     Nodes, Pods (all namespaces: other pods take capacity; only       store of record: kumo
//     pods not Succeeded or Failed), PodGroups                          keeps nothing on disk
//     (scheduling.x-k8s.io/v1alpha1), PriorityClasses
//        │ on_change wakes the loop
//        ▼
//   one pass (at least every max_pass_interval_s; after a pass, a gap of min_pass_interval_s or
//   the pass's own duration, whichever is longer):
//     BuildView (scheduling_view.h) on the watches' copies — never a list — plus `assumed_`
//     core::Scheduler::Schedule
//     starts      -> pods/binding naming the pod's uid (pod_binder.h: a pod recreated under
//                    its name since the pass is refused), the pass's bindings queued as one
//                    batch on the CallPool
//                    (call_pool.h: bind_workers threads, each on a kept-alive connection); the
//                    loop does not wait for them: the next pass may run while they are in
//                    flight, their pods assumed bound. When a batch is done, the next pass
//                    settles it: a gang whose binding failed anywhere has its bound pods
//                    deleted (grace 0), so no gang is left partly bound
//     preemptions -> DELETE of the victims' pods with their terminationGracePeriodSeconds,
//                    on the same pool, after the bindings already queued
//     a gang bound in part (a kill -9 between its bindings; scheduling_view.h) whose rest the
//                    pass did not start -> DELETE of its bound pods, with their grace period
//     waiting     -> PodScheduled=False when kumo's sentence changes, at most once per
//                    kConditionIntervalS (10 s) per pod, and a FailedScheduling Event on change,
//                    at most once a minute per pod (NoticeLimiter); at most kNoticesPerSecond
//                    writes a second in all, pods never told first (NoticeBudget); on a pool of
//                    their own (kNoticeWorkers), so a binding never waits behind them
//     nominations and reservations carried into the next pass (core/driver.h)
//
// `assumed_` is kube-scheduler's "assume" step: a pod kumo bound counts as bound on its node
// until the pod watch shows it so, so the next pass never places it twice.
//
// Thread safety: Start and Stop from one thread; the pass runs on the loop thread only; the
// pool's threads hand finished binding batches to it through `finished_` (under mu_).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/scheduler.h"
#include "executor/kubernetes/informer.h"
#include "executor/kubernetes/kube_client.h"
#include "kubesched/call_pool.h"
#include "kubesched/kube_scheduler_config.h"
#include "kubesched/pod_writes.h"

namespace kumo::kubesched {

class KubeScheduler {
 public:
  // Connects (one call, so that a wrong address or credential is an error now), starts the
  // watches and waits for their first lists. A missing PodGroup CRD is not an error: gangs wait
  // (with that reason) until it is installed.
  static Result<std::unique_ptr<KubeScheduler>> Create(KubeSchedulerConfig config, const Clock& clock);
  ~KubeScheduler();
  KubeScheduler(const KubeScheduler&) = delete;
  KubeScheduler& operator=(const KubeScheduler&) = delete;

  void Start();  // the scheduling loop
  void Stop();   // ends the loop and the watches; idempotent

 private:
  KubeScheduler(KubeSchedulerConfig config, core::Scheduler core, const Clock& clock,
                executor::kube::KubeConfig kube_config);
  void Loop();
  void Pass();
  ClusterObjects Collect();
  struct BindBatch;
  void Bind(const core::Decisions& d, const SchedulingView& view);
  void Settle(const BindBatch& batch);
  void Preempt(const core::Decisions& d, const SchedulingView& view);
  void EvictPartlyBound(const core::Decisions& d, const SchedulingView& view);
  CallPool::Call EvictCall(const std::string& pod, const char* why);
  void Explain(const core::Decisions& d, const SchedulingView& view);
  CallPool::Call NoticeCall(const nlohmann::json& pod, const std::string& message, bool condition,
                            bool event, core::Seconds now);
  const PodFacts* LiveFacts(const std::string& key) const;     // nullptr: gone or ended
  const nlohmann::json* LivePod(const std::string& key) const;  // nullptr: gone or ended
  void CarryForward(const core::Decisions& d, const SchedulingView& view);

  const KubeSchedulerConfig config_;
  const core::Scheduler core_;
  const Clock& clock_;
  const executor::kube::KubeConfig kube_config_;
  std::unique_ptr<executor::kube::KubeClient> client_;  // bindings, status, events, deletes
  std::unique_ptr<CallPool> pool_;         // bindings and deletes on client_; reset by Stop
  std::unique_ptr<CallPool> notice_pool_;  // conditions and Events on client_; reset by Stop
  std::vector<std::unique_ptr<executor::kube::KubeClient>> watch_clients_;
  std::unique_ptr<executor::kube::Informer> nodes_, pods_, pod_groups_, priority_classes_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true, stopping_ = false;  // guarded by mu_
  std::vector<std::shared_ptr<BindBatch>> finished_;  // binding batches done; guarded by mu_
  std::thread loop_;

  // The loop thread's only:
  std::map<std::string, std::string> assumed_;  // pod -> node: bound by kumo, not yet seen so
  // What a watched object is made into for the passes, kept until its resourceVersion changes.
  template <typename T>
  struct Cached {
    std::string resource_version;
    std::shared_ptr<const T> value;  // nullptr: an object the passes skip (a pod that ended)
    bool seen = false;               // in the current Collect
  };
  std::map<std::string, Cached<PodFacts>> pods_cache_;         // ParsePod(SlimPod), by key
  std::map<std::string, Cached<nlohmann::json>> nodes_cache_;  // SlimNode, by name
  // Pods kumo deleted -> their uid, until they are gone (or their name is another pod's).
  std::map<std::string, std::string> deleting_;
  struct Carried {
    bool nominated = false;
    std::vector<core::TaskPlacement> reservation;
  };
  std::map<std::string, Carried> carried_;  // pending job -> what the last pass decided
  // A waiting pod's sentence names what is free ("3 GPUs free on the 250 nodes it may use"), so
  // it changes with every binding and every pod that ends: told on every change, a thousand
  // waiting pods meant a thousand status writes per pass, which slowed the apiserver for
  // everything else (at 500 PodGroups kumo's makespan doubled). kube-scheduler rewrites a
  // failed pod's condition when it retries it, at most every 10 s (podMaxBackoffSeconds).
  static constexpr core::Seconds kConditionIntervalS = 10;
  static constexpr int kNoticeWorkers = 4;
  // Notice writes a second, and how many may be saved up (pod_writes.h, NoticeBudget).
  static constexpr double kNoticesPerSecond = 20, kNoticeBurst = 200;
  NoticeLimiter conditions_;  // on change, at most once per kConditionIntervalS
  NoticeLimiter events_;      // on change, at most once per notice interval
  NoticeBudget notice_budget_{kNoticesPerSecond, kNoticeBurst};
  uint64_t notices_queued_ = 0;  // since the last pass logged, for the pass log
};

}  // namespace kumo::kubesched
