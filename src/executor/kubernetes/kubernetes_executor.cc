#include "executor/kubernetes/kubernetes_executor.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "executor/kubernetes/pod_scheduling.h"
#include "http/http.h"
#include "executor/kubernetes/pod_status.h"

namespace kumo::executor::kube {
using nlohmann::json;

namespace {

std::string RunDirOf(const json& pod) {
  const json& md = pod.value("metadata", json::object());
  return md.value("annotations", json::object()).value(kAnnotationRunDir, "");
}

std::string NameOf(const json& object) {
  return object.value("metadata", json::object()).value("name", "");
}

std::string NodeOf(const json& pod) { return pod.value("spec", json::object()).value("nodeName", ""); }

// A FailedScheduling Event per pod at most this often (kube-scheduler's own events are
// rate-limited too: a waiting gang must not flood the cluster's event store).
constexpr double kEventIntervalSeconds = 60;

// A refusal by the cluster (the server requeues the gang) unless the request itself was bad.
Status Refused(const std::string& what, const Result<KubeResponse>& r) {
  if (!r) return Status::Unavailable(what + ": " + r.error().message());
  if (r->status == 400 || r->status == 422)
    return Status::InvalidArgument(what + ": " + ErrorText(*r));
  return Status::Unavailable(what + ": " + ErrorText(*r));
}

}  // namespace

Result<std::unique_ptr<KubernetesExecutor>> KubernetesExecutor::Create(KubernetesConfig config,
                                                                         const Clock& clock) {
  auto kc = config.kubeconfig.empty() ? InClusterConfig() : LoadKubeconfig(config.kubeconfig);
  if (!kc) return Error(kc.error());
  auto client = std::make_unique<KubeClient>(*kc);
  // One call first, so that a wrong address, credential or namespace is an error now, not a
  // log line: listing the namespace's pods is something kumo may do anyway (RBAC).
  auto probe = client->Call(
      Verb::kGet, "/api/v1/namespaces/" + config.pods.namespace_name + "/pods?limit=1");
  if (!probe) return Error(probe.error());
  if (!probe->ok())
    return Error(Status::FailedPrecondition("kubernetes namespace " +
                                            config.pods.namespace_name + ": " +
                                            ErrorText(*probe)));
  std::unique_ptr<KubernetesExecutor> e(
      new KubernetesExecutor(std::move(config), clock, std::move(client)));
  if (!e->nodes_->WaitSynced(e->config_.sync_timeout_s) ||
      !e->pods_->WaitSynced(e->config_.sync_timeout_s))
    return Error(Status::Unavailable("kubernetes: nodes and pods not listed within " +
                                     std::to_string(e->config_.sync_timeout_s) + " s"));
  return e;
}

KubernetesExecutor::KubernetesExecutor(KubernetesConfig config, const Clock& clock,
                                       std::unique_ptr<KubeClient> client)
    : config_(std::move(config)), clock_(clock), client_(std::move(client)) {
  // The selector goes to the API server (labelSelector): nodes outside the partition never
  // reach kumo, so nothing is placed on them and their pods are not counted.
  std::string selector;
  for (const auto& [k, v] : config_.node_selector) selector += (selector.empty() ? "" : ",") + k + "=" + v;
  nodes_ = std::make_unique<Informer>(
      *client_, "/api/v1/nodes",
      selector.empty() ? "" : "labelSelector=" + http::PercentEncode(selector), nullptr);
  // Every pod of the cluster: those kumo does not manage take capacity on their nodes.
  pods_ = std::make_unique<Informer>(*client_, "/api/v1/pods", "", nullptr, 60, [](const json& p) {
    return IsManagedPod(p) ? RunDirOf(p) : std::string();
  });
  nodes_->Start();
  pods_->Start();
  worker_ = std::thread([this] { RunWorker(); });
}

KubernetesExecutor::~KubernetesExecutor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  nodes_->Stop();
  pods_->Stop();
}

std::string KubernetesExecutor::PodsPath() const {
  return "/api/v1/namespaces/" + config_.pods.namespace_name + "/pods";
}

Result<TaskHandle> KubernetesExecutor::Launch(const TaskLaunch& launch) {
  auto handles = LaunchGang({launch});
  if (!handles) return Error(handles.error());
  return handles->front();
}

Result<std::vector<TaskHandle>> KubernetesExecutor::LaunchGang(
    const std::vector<TaskLaunch>& launches) {
  std::lock_guard<std::mutex> gang_lock(waiting_mu_);
  std::map<std::string, WaitingPod> waiting;
  if (!launches.empty()) waiting = ClaimWaitingPods(launches.front().job_id);
  std::vector<json> pods;
  Status s = CreateGang(launches, waiting, &pods);
  std::vector<std::string> names;  // to delete: waiting pods this launch did not take, and on
  for (const auto& [name, w] : waiting)  // a failure every pod of the gang
    if (!w.created.is_null()) names.push_back(name);
  if (!s.ok())
    for (const json& p : pods) names.push_back(NameOf(p));
  DeleteNow(names);
  if (!s.ok()) return Error(s);
  std::vector<TaskHandle> handles;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < launches.size(); ++i) {
    handles.push_back(TaskHandle{0, 0, launches[i].run_dir, ""});
    created_[launches[i].run_dir] = std::move(pods[i]);
  }
  return handles;
}

// Creates every pod (taking a waiting pod out of `waiting` instead where it is the same pod),
// the Service, then binds each pod; `pods` receives the gang's pods, so the caller can delete
// them on a failure.
Status KubernetesExecutor::CreateGang(const std::vector<TaskLaunch>& launches,
                                      std::map<std::string, WaitingPod>& waiting,
                                      std::vector<json>* pods) {
  std::vector<json> manifests;
  for (const TaskLaunch& l : launches) {
    auto m = PodManifest(l, config_.pods);
    if (!m) return Status(m.error().code(), "task " + std::to_string(l.rank) + ": " + m.error().message());
    manifests.push_back(std::move(*m));
  }
  for (size_t i = 0; i < manifests.size(); ++i) {
    auto w = waiting.find(NameOf(manifests[i]));
    if (w != waiting.end() && !w->second.created.is_null()) {
      if (w->second.manifest == manifests[i]) {
        pods->push_back(std::move(w->second.created));
        waiting.erase(w);
        continue;
      }
      DeleteNow({w->first});  // the same name, another pod: unbound, so it goes at once
      waiting.erase(w);
    }
    auto r = client_->Call(Verb::kPost, PodsPath(), &manifests[i]);
    if (!r || !r->ok()) return Refused("creating pod " + NameOf(manifests[i]), r);
    pods->push_back(r->body);
  }
  if (launches.empty()) return Status::Ok();
  json service = ServiceManifest(launches[0], pods->front(), config_.pods);
  auto sr = client_->Call(
      Verb::kPost, "/api/v1/namespaces/" + config_.pods.namespace_name + "/services", &service);
  if (!sr || (!sr->ok() && sr->status != 409))
    return Refused("creating service " + NameOf(service), sr);
  for (size_t i = 0; i < launches.size(); ++i) {
    std::string name = NameOf((*pods)[i]);
    json binding = {{"apiVersion", "v1"},
                    {"kind", "Binding"},
                    {"metadata", {{"name", name}, {"namespace", config_.pods.namespace_name}}},
                    {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", launches[i].node}}}};
    auto r = client_->Call(Verb::kPost, PodsPath() + "/" + name + "/binding", &binding);
    if (!r || !r->ok())
      return Refused("binding pod " + name + " to node " + launches[i].node, r);
  }
  return Status::Ok();
}

void KubernetesExecutor::DeleteNow(const std::vector<std::string>& names) {
  json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", 0}};
  for (const std::string& name : names) {
    auto r = client_->Call(Verb::kDelete, PodsPath() + "/" + name, &body);
    if (!r || (!r->ok() && r->status != 404)) {
      // The deleter retries until the pod is gone.
      std::lock_guard<std::mutex> lock(mu_);
      deletes_[name] = 0;
      cv_.notify_all();
    }
  }
}

std::vector<core::Node> KubernetesExecutor::Nodes(const std::vector<core::Node>&) {
  std::vector<json> nodes, pods;
  for (auto& [key, n] : nodes_->Items()) nodes.push_back(std::move(n));
  for (auto& [key, p] : pods_->Items()) pods.push_back(std::move(p));
  try {
    return NodesFromObjects(nodes, pods, config_.cluster);
  } catch (const json::exception& e) {
    std::fprintf(stderr, "kumo kubernetes: nodes: %s\n", e.what());
    return {};  // no node this pass; the next pass reads them again
  }
}

// The informer's copy of the task's pod; until the informer has seen a pod this executor just
// created, the copy the create call returned.
std::optional<json> KubernetesExecutor::FindPod(const std::string& run_dir, bool* deleted) {
  auto pod = pods_->GetByIndex(run_dir, deleted);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = created_.find(run_dir);
  if (it == created_.end()) return pod;
  if (pod) {
    created_.erase(it);
    return pod;
  }
  *deleted = false;
  return it->second;
}

void KubernetesExecutor::Signal(const TaskHandle& handle, int sig) {
  bool deleted = false;
  auto pod = FindPod(handle.run_dir, &deleted);
  if (!pod || deleted) return;
  std::string name = NameOf(*pod);
  int64_t grace =
      sig == SIGKILL ? 0 : pod->value("spec", json::object()).value("terminationGracePeriodSeconds", 30);
  std::lock_guard<std::mutex> lock(mu_);
  // A pending delete with a shorter grace stands. A repeated delete is harmless: the API server
  // only ever shortens a pod's remaining grace.
  auto it = deletes_.find(name);
  if (it == deletes_.end() || grace < it->second) deletes_[name] = grace;
  cv_.notify_all();
}

// Pods of ended tasks stay ended_pod_ttl_s (their status is read, recorded and committed by then,
// and `kubectl logs` works meanwhile), then go, as a Job's ttlSecondsAfterFinished has them go.
// REQUIRES: mu_ held.
void KubernetesExecutor::CollectEndedPodsLocked(const std::map<std::string, json>& pods) {
  double now = clock_.NowSeconds();
  std::map<std::string, double> still;
  for (const auto& [key, pod] : pods) {
    if (!IsManagedPod(pod) || !PodEnded(pod)) continue;
    if (pod["metadata"].value("namespace", "") != config_.pods.namespace_name) continue;
    std::string name = NameOf(pod);
    auto it = ended_since_.find(name);
    double since = it == ended_since_.end() ? now : it->second;
    still[name] = since;
    if (now - since >= config_.ended_pod_ttl_s && !deletes_.count(name)) deletes_[name] = 0;
  }
  ended_since_ = std::move(still);
}

// The worker: every second, or when woken, it sends the queued deletes and then writes the
// waiting gangs' pods — in that order, so a waiting pod that takes the name of a stray one
// (the same attempt after a restart) finds it gone.
void KubernetesExecutor::RunWorker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [&] { return stopping_ || !deletes_.empty() || waiting_changed_; });
    if (stopping_) break;
    waiting_changed_ = false;
    lock.unlock();
    SendDeletes();
    SyncWaitingGangs();
    lock.lock();
  }
}

// Sends the queued deletes, outside the callers' locks; a failed one is retried a second later.
void KubernetesExecutor::SendDeletes() {
  std::map<std::string, json> pods = pods_->Items();
  std::map<std::string, int64_t> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CollectEndedPodsLocked(pods);
    batch.swap(deletes_);
  }
  std::map<std::string, int64_t> retry;
  for (const auto& [name, grace] : batch) {
    json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", grace}};
    auto r = client_->Call(Verb::kDelete, PodsPath() + "/" + name, &body, 10);
    if (!r || (!r->ok() && r->status != 404)) retry[name] = grace;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, grace] : retry)
    if (!deletes_.count(name)) deletes_[name] = grace;
}

void KubernetesExecutor::GangWaits(const WaitingGang& gang) {
  if (gang.launches.empty()) {  // the same gang, a new sentence
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(gang.job_id);
    if (it != waiting_.end()) it->second.message = gang.message;
    waiting_changed_ = true;
    cv_.notify_all();
    return;
  }
  WaitingPods next{gang.message, {}};
  for (const TaskLaunch& l : gang.launches) {
    auto m = PodManifest(l, config_.pods);
    if (!m) return;  // LaunchGang says why (kInvalidArgument) once the core places the gang
    next.pods.push_back(WaitingPod{std::move(*m), nullptr, {}, {}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  WaitingPods& current = waiting_[gang.job_id];
  // What was written about a pod that stays the same is kept; pods that changed go.
  for (WaitingPod& old : current.pods) {
    auto same = std::find_if(next.pods.begin(), next.pods.end(),
                             [&](const WaitingPod& p) { return p.manifest == old.manifest; });
    if (same == next.pods.end())
      DropWaitingPodLocked(old);
    else
      *same = std::move(old);
  }
  current = std::move(next);
  waiting_changed_ = true;
  cv_.notify_all();
}

void KubernetesExecutor::GangStopsWaiting(int64_t job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waiting_.find(job_id);
  if (it == waiting_.end()) return;
  for (const WaitingPod& pod : it->second.pods) DropWaitingPodLocked(pod);
  waiting_.erase(it);
  cv_.notify_all();
}

// REQUIRES: mu_ held.
void KubernetesExecutor::DropWaitingPodLocked(const WaitingPod& pod) {
  if (!pod.created.is_null()) deletes_[NameOf(pod.manifest)] = 0;
}

// The waiting pods of `job_id`, by name, no longer the worker's. REQUIRES: waiting_mu_ held.
std::map<std::string, KubernetesExecutor::WaitingPod> KubernetesExecutor::ClaimWaitingPods(
    int64_t job_id) {
  std::map<std::string, WaitingPod> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waiting_.find(job_id);
  if (it == waiting_.end()) return out;
  for (WaitingPod& pod : it->second.pods) out[NameOf(pod.manifest)] = std::move(pod);
  waiting_.erase(it);
  return out;
}

// Writes what is missing of each waiting gang, one gang at a time (LaunchGang waits for at
// most one), on a copy taken under mu_ (API calls are slow); then keeps what was written for the
// pods still waiting, and deletes pods created meanwhile for a gang that stopped waiting or
// changed.
void KubernetesExecutor::SyncWaitingGangs() {
  std::vector<int64_t> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [job, gang] : waiting_) jobs.push_back(job);
  }
  for (int64_t job : jobs) {
    std::lock_guard<std::mutex> gang_lock(waiting_mu_);
    WaitingPods gang;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = waiting_.find(job);
      if (it == waiting_.end()) continue;  // launched or stopped meanwhile
      gang = it->second;
    }
    for (WaitingPod& pod : gang.pods) SyncWaitingPod(pod, gang.message);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(job);
    for (WaitingPod& pod : gang.pods) {
      WaitingPod* now = nullptr;
      if (it != waiting_.end())
        for (WaitingPod& p : it->second.pods)
          if (p.manifest == pod.manifest) now = &p;
      if (now)
        *now = std::move(pod);  // a pod's fields are written by this worker only
      else
        DropWaitingPodLocked(pod);
    }
  }
}

// Creates the pod unless it exists, then its PodScheduled condition and Event, as due; a call
// that fails is tried again on the worker's next round.
void KubernetesExecutor::SyncWaitingPod(WaitingPod& pod, const std::string& message) {
  const std::string name = NameOf(pod.manifest);
  if (pod.created.is_null()) {
    auto r = client_->Call(Verb::kPost, PodsPath(), &pod.manifest, 10);
    if (!r || !r->ok()) {
      if (r && r->status != 409)  // 409: a pod of that name is still being deleted
        std::fprintf(stderr, "kumo kubernetes: waiting pod %s: %s\n", name.c_str(),
                     ErrorText(*r).c_str());
      return;
    }
    pod.created = r->body;
  }
  double now = clock_.NowSeconds();
  if (NoticeDue(pod.condition, message, now, 0)) {
    json patch = WaitingConditionPatch(pod.created, message, now);
    auto r = client_->Call(Verb::kStrategicMergePatch, PodsPath() + "/" + name + "/status", &patch,
                           10);
    if (r && r->ok()) pod.condition = {message, now};
  }
  if (NoticeDue(pod.event, message, now, kEventIntervalSeconds)) {
    json event = FailedSchedulingEvent(pod.created, message, config_.pods.scheduler_name, now);
    auto r = client_->Call(
        Verb::kPost, "/api/v1/namespaces/" + config_.pods.namespace_name + "/events", &event, 10);
    if (r && r->ok()) pod.event = {message, now};
  }
}

bool KubernetesExecutor::NodeLost(const std::string& node) {
  if (node.empty()) return false;  // not bound yet
  auto n = nodes_->Get(node);
  std::lock_guard<std::mutex> lock(mu_);
  if (!n) return true;  // the node object is gone: so is everything on it
  if (NodeReady(*n)) {
    not_ready_since_.erase(node);
    return false;
  }
  double now = clock_.NowSeconds();
  auto [it, inserted] = not_ready_since_.emplace(node, now);
  return now - it->second > config_.not_ready_grace_s;
}

TaskStatus KubernetesExecutor::Poll(const TaskHandle& handle) {
  bool deleted = false;
  auto pod = FindPod(handle.run_dir, &deleted);
  if (!pod) {
    TaskStatus lost;
    lost.state = TaskState::kLost;
    lost.reason = "no pod";
    return lost;
  }
  try {
    return StatusOfPod(*pod, deleted, !deleted && NodeLost(NodeOf(*pod)));
  } catch (const json::exception& e) {
    std::fprintf(stderr, "kumo kubernetes: pod of %s: %s\n", handle.run_dir.c_str(), e.what());
    return TaskStatus{};  // as it was: the next change of the pod is read again
  }
}

std::vector<pid_t> KubernetesExecutor::WaitForExits(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return stopping_; });
  return {};
}

std::map<std::string, TaskHandle> KubernetesExecutor::FindRunningTasks(
    const std::string& run_dir_prefix) {
  std::map<std::string, TaskHandle> out;
  for (const auto& [key, pod] : pods_->Items()) {
    if (!IsManagedPod(pod)) continue;
    if (pod["metadata"].value("namespace", "") != config_.pods.namespace_name) continue;
    std::string run_dir = RunDirOf(pod);
    if (run_dir.rfind(run_dir_prefix, 0) == 0) out[run_dir] = TaskHandle{0, 0, run_dir, ""};
  }
  return out;
}

}  // namespace kumo::executor::kube
