// KubernetesExecutor: the Executor (executor.h) that runs each task as a pod on a Kubernetes
// cluster, on the node the scheduling core chose. kumo stays the scheduler of record: its pods
// name schedulerName "kumo", so no other scheduler places them, and kumo binds each one through
// the pods/binding subresource (what kube-scheduler itself does).
//
//   Nodes        Node objects (informer) -> core nodes (cluster_view.h); pods kumo does not
//                manage take capacity; NotReady or cordoned nodes get no new work
//   LaunchGang   all or nothing: create every pod (unbound), the gang's headless Service, then
//                bind each pod; any failure deletes every pod of the gang (grace 0) and returns
//                kUnavailable, so the server requeues the job. Invalid launches (no image, GPU
//                shares) fail before anything is created (kInvalidArgument)
//   Poll         the pod's last known state (informer, tombstones for deleted pods) through
//                pod_status.h; a pod on a node NotReady for longer than not_ready_grace_s is lost
//   Signal       SIGKILL deletes the pod with gracePeriodSeconds 0; any other signal deletes it
//                with the job's grace (the pod's terminationGracePeriodSeconds): the kubelet
//                sends SIGTERM, the checkpoint signal on Kubernetes, then SIGKILL after the
//                grace. Deletes run on a worker thread: callers hold the server's lock
//   GangWaits    the gang's pods are created unbound (Pending, as any pod waiting for its
//                scheduler), their PodScheduled condition False with kumo's sentence
//                (pods/status), and a FailedScheduling Event on each when the sentence changes,
//                at most one a minute per pod (pod_scheduling.h). LaunchGang binds those pods
//                when its own manifests equal them (pod_manifest.h keeps them node-free) and
//                replaces any that differ; GangStopsWaiting deletes them. All of it runs on the
//                worker thread: the callers hold the server's lock
//   clean-up     pods of ended tasks are deleted ended_pod_ttl_s after they ended
//   FindRunningTasks  every pod kumo created in the namespace, by its run-dir annotation (the
//                server deletes those no attempt claims: a gang caught half-bound by a crash,
//                pods of attempts that ended)
//
// A handle is the task's run dir (pods carry it as the kumo.dev/run-dir annotation), so handles
// persisted by the server find their pods after a restart. watching() is false: the server polls
// each task every tick, and Poll only reads the informer's copy.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "executor/executor.h"
#include "executor/kubernetes/cluster_view.h"
#include "executor/kubernetes/kubernetes_config.h"
#include "executor/kubernetes/informer.h"
#include "executor/kubernetes/kube_client.h"
#include "executor/kubernetes/pod_manifest.h"
#include "executor/kubernetes/pod_scheduling.h"

namespace kumo::executor::kube {

class KubernetesExecutor final : public Executor {
 public:
  // Connects, starts the node and pod informers and waits for their first lists (the server
  // reconciles right after). `clock` must outlive the executor.
  static Result<std::unique_ptr<KubernetesExecutor>> Create(KubernetesConfig config,
                                                            const Clock& clock);
  ~KubernetesExecutor() override;

  Result<TaskHandle> Launch(const TaskLaunch& launch) override;
  Result<std::vector<TaskHandle>> LaunchGang(const std::vector<TaskLaunch>& launches) override;
  void GangWaits(const WaitingGang& gang) override;
  void GangStopsWaiting(int64_t job_id) override;
  bool NodesAreElastic() const override { return true; }
  bool NeedsLocalSandbox() const override { return false; }
  std::vector<core::Node> Nodes(const std::vector<core::Node>& configured) override;
  void Signal(const TaskHandle& handle, int sig) override;
  TaskStatus Poll(const TaskHandle& handle) override;
  void Watch(const TaskHandle&) override {}
  std::vector<pid_t> WaitForExits(int timeout_ms) override;
  bool watching() const override { return false; }
  std::map<std::string, TaskHandle> FindRunningTasks(const std::string& run_dir_prefix) override;

  // For tests: how many times the pod informer listed (each 410 adds one).
  uint64_t pod_lists() const { return pods_->lists(); }

 private:
  // One pod of a waiting gang, and what the worker has written about it so far.
  struct WaitingPod {
    nlohmann::json manifest;        // as sent: LaunchGang reuses the pod only if its own is equal
    nlohmann::json created;         // as the API server returned it (its uid); null until then
    Notice condition;         // the sentence on its PodScheduled condition
    Notice event;             // its last Event's
  };
  struct WaitingPods {
    std::string message;  // the core's latest sentence
    std::vector<WaitingPod> pods;
  };

  KubernetesExecutor(KubernetesConfig config, const Clock& clock, std::unique_ptr<KubeClient> c);
  std::string PodsPath() const;  // the namespace's pods collection
  Status CreateGang(const std::vector<TaskLaunch>& launches,
                    std::map<std::string, WaitingPod>& waiting, std::vector<nlohmann::json>* pods);
  void DeleteNow(const std::vector<std::string>& names);  // grace 0, waits for the answers
  bool NodeLost(const std::string& node);
  std::optional<nlohmann::json> FindPod(const std::string& run_dir, bool* deleted);
  void RunWorker();
  void SendDeletes();
  void SyncWaitingGangs();
  void SyncWaitingPod(WaitingPod& pod, const std::string& message);
  std::map<std::string, WaitingPod> ClaimWaitingPods(int64_t job_id);
  void DropWaitingPodLocked(const WaitingPod& pod);
  void CollectEndedPodsLocked(const std::map<std::string, nlohmann::json>& pods);

  const KubernetesConfig config_;
  const Clock& clock_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<Informer> nodes_, pods_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, double> not_ready_since_;  // node -> when first seen NotReady; mu_
  std::map<std::string, int64_t> deletes_;         // pod -> grace (s) to delete with; mu_
  std::map<std::string, nlohmann::json> created_;  // run dir -> pod as created, until the
                                                   // informer has it; mu_
  std::map<std::string, double> ended_since_;      // ended pod -> when first seen ended; mu_
  std::map<int64_t, WaitingPods> waiting_;         // job -> its waiting gang's pods; mu_
  bool waiting_changed_ = false;                   // GangWaits since the worker last looked; mu_
  // Held by the worker while it writes waiting pods, and by LaunchGang while it takes them
  // over, so a gang is never created and bound at once. Taken before mu_.
  std::mutex waiting_mu_;
  bool stopping_ = false;                          // mu_
  std::thread worker_;  // deletes, waiting gangs, clean-up
};

}  // namespace kumo::executor::kube
