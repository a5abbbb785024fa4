#include "kubesched/kube_scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unordered_map>

#include "core/driver.h"
#include "executor/kubernetes/pod_scheduling.h"
#include "kubesched/pod_binder.h"

namespace kumo::kubesched {
using nlohmann::json;
using executor::kube::ErrorText;
using executor::kube::Informer;
using executor::kube::KubeClient;
using executor::kube::Verb;

namespace {

constexpr char kPodGroups[] = "/apis/scheduling.x-k8s.io/v1alpha1/podgroups";
constexpr char kPriorityClasses[] = "/apis/scheduling.k8s.io/v1/priorityclasses";
// Pods that have not ended: an ended pod holds nothing, and a cluster keeps finished pods (Jobs'
// among them) by the ten thousand. The watch reports a pod that ends as DELETED (it no longer
// matches), so the copy holds live pods only and the first list stays small.
constexpr char kLivePods[] =
    "fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed";

// Each line carries the wall-clock time to the millisecond, so a pass or a batch can be set
// beside the apiserver's and the benchmark's timelines.
void Log(const std::string& line) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  auto ms = since_epoch.count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::fprintf(stderr, "kumo kube-scheduler %02d:%02d:%02d.%03lld: %s\n", tm.tm_hour, tm.tm_min,
               tm.tm_sec, static_cast<long long>(ms), line.c_str());
}

}  // namespace

Result<std::unique_ptr<KubeScheduler>> KubeScheduler::Create(KubeSchedulerConfig config,
                                                             const Clock& clock) {
  auto core = core::Scheduler::Create(config.scheduler);
  if (!core) return Error(core.error());
  auto kc = config.kubeconfig.empty() ? executor::kube::InClusterConfig()
                                      : executor::kube::LoadKubeconfig(config.kubeconfig);
  if (!kc) return Error(kc.error());
  auto client = std::make_unique<KubeClient>(*kc);
  auto probe = client->Call(Verb::kGet, "/api/v1/nodes?limit=1");
  if (!probe) return Error(probe.error());
  if (!probe->ok())
    return Error(Status::FailedPrecondition("kubernetes: listing nodes: " + ErrorText(*probe)));
  auto crd = client->Call(Verb::kGet, kPodGroups + std::string("?limit=1"));
  bool have_pod_groups = crd && crd->ok();
  if (!have_pod_groups)
    Log("the PodGroup CRD (scheduling.x-k8s.io/v1alpha1) is not served yet; gangs wait for it");
  std::unique_ptr<KubeScheduler> s(
      new KubeScheduler(std::move(config), std::move(*core), clock, std::move(*kc)));
  std::vector<Informer*> required = {s->nodes_.get(), s->pods_.get(), s->priority_classes_.get()};
  if (have_pod_groups) required.push_back(s->pod_groups_.get());
  for (Informer* i : required)
    if (!i->WaitSynced(s->config_.sync_timeout_s))
      return Error(Status::Unavailable("kubernetes: watches not listed within " +
                                       std::to_string(s->config_.sync_timeout_s) + " s"));
  return s;
}

KubeScheduler::KubeScheduler(KubeSchedulerConfig config, core::Scheduler core, const Clock& clock,
                             executor::kube::KubeConfig kube_config)
    : config_(std::move(config)),
      core_(std::move(core)),
      clock_(clock),
      kube_config_(std::move(kube_config)),
      client_(std::make_unique<KubeClient>(kube_config_)),
      pool_(std::make_unique<CallPool>(config_.bind_workers)),
      notice_pool_(std::make_unique<CallPool>(kNoticeWorkers)),
      conditions_(kConditionIntervalS),
      events_(config_.notice_interval_s) {
  auto wake = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;
    cv_.notify_all();
  };
  // A client per watch: KubeClient::CancelWatches cuts every watch of its client, and an
  // informer whose watch was cut by another's Stop would start a new one that nothing cancels.
  auto watch = [&](const std::string& collection, const std::string& query = "") {
    watch_clients_.push_back(std::make_unique<KubeClient>(kube_config_));
    return std::make_unique<Informer>(*watch_clients_.back(), collection, query, wake);
  };
  nodes_ = watch("/api/v1/nodes");
  pods_ = watch("/api/v1/pods", kLivePods);
  pod_groups_ = watch(kPodGroups);
  priority_classes_ = watch(kPriorityClasses);
  for (Informer* i : {nodes_.get(), pods_.get(), pod_groups_.get(), priority_classes_.get()}) i->Start();
}

KubeScheduler::~KubeScheduler() { Stop(); }

void KubeScheduler::Start() { loop_ = std::thread([this] { Loop(); }); }

void KubeScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  pool_.reset();  // runs the calls already queued (a batch's bindings are not cut in half)
  notice_pool_.reset();
  for (Informer* i : {nodes_.get(), pods_.get(), pod_groups_.get(), priority_classes_.get()})
    if (i) i->Stop();
}

// Passes follow changes, but the gap after a pass is at least as long as the pass itself (and
// min_pass_interval_s): under a storm of pod events kumo takes at most about half a core, leaving
// the rest to the API server it shares the machine with, and each pass takes a bigger batch.
void KubeScheduler::Loop() {
  using Clock = std::chrono::steady_clock;
  using std::chrono::duration;
  Clock::time_point due = Clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, duration<double>(config_.max_pass_interval_s),
                   [&] { return dirty_ || stopping_; });
      if (stopping_ || cv_.wait_until(lock, due, [&] { return stopping_; })) return;
      dirty_ = false;
    }
    Clock::time_point start = Clock::now();
    Pass();
    Clock::time_point end = Clock::now();
    due = end + std::max(std::chrono::duration_cast<Clock::duration>(
                             duration<double>(config_.min_pass_interval_s)),
                         end - start);
  }
}

namespace {

// Brings `cache` up to date with the informer's objects: an object is made again (make(object))
// only when its resourceVersion changed; objects gone leave the map.
// An object without a resourceVersion (never from an API server) is made again every pass.
template <typename T, typename Make>
void Refresh(const Informer& informer, std::map<std::string, T>& cache, Make make) {
  static const std::string kNone;
  informer.ForEach([&](const std::string& key, const json& object) {
    const std::string* rv = &kNone;
    if (auto md = object.find("metadata"); md != object.end() && md->is_object())
      if (auto it = md->find("resourceVersion"); it != md->end() && it->is_string())
        rv = &it->get_ref<const std::string&>();
    T& e = cache[key];
    if (rv->empty() || e.resource_version != *rv) {
      e.resource_version = *rv;
      e.value = make(object);
    }
    e.seen = true;
  });
  for (auto it = cache.begin(); it != cache.end();)
    it = std::exchange(it->second.seen, false) ? std::next(it) : cache.erase(it);
}

}  // namespace

// The watches' objects for one pass. Pods that ended hold nothing and are skipped; the others
// are kept parsed (ParsePod of their SlimPod), nodes as SlimNode, each made again only when its
// resourceVersion changed, so a pass reads the JSON of the objects that changed and no other.
ClusterObjects KubeScheduler::Collect() {
  ClusterObjects o;
  Refresh(*pods_, pods_cache_, [](const json& pod) -> std::shared_ptr<const PodFacts> {
    if (executor::kube::PodEnded(pod)) return nullptr;
    return std::make_shared<const PodFacts>(ParsePod(std::make_shared<const json>(SlimPod(pod))));
  });
  Refresh(*nodes_, nodes_cache_,
          [](const json& node) { return std::make_shared<const json>(SlimNode(node)); });
  auto live = [&](const std::string& p) -> const PodFacts* {
    auto it = pods_cache_.find(p);
    return it == pods_cache_.end() ? nullptr : it->second.value.get();
  };
  auto bound = [&](const std::string& p) { return live(p) && !live(p)->node.empty(); };
  std::erase_if(assumed_, [&](const auto& a) { return !live(a.first) || bound(a.first); });
  // A deletion ends when the pod is gone, or when its name is another pod's (recreated: kumo's
  // DELETE named the old uid, so the new pod is not being deleted).
  std::erase_if(deleting_, [&](const auto& d) { return !live(d.first) || live(d.first)->uid != d.second; });
  auto waits = [&](const std::string& p) { return live(p) && !bound(p) && !assumed_.count(p); };
  conditions_.ForgetUnless(waits);
  events_.ForgetUnless(waits);
  o.pods.reserve(pods_cache_.size());
  for (const auto& [key, e] : pods_cache_)
    if (e.value) o.pods.push_back(e.value);
  o.nodes.reserve(nodes_cache_.size());
  for (const auto& [key, e] : nodes_cache_) o.nodes.push_back(*e.value);
  auto all = [](const Informer& i, std::vector<json>& out) {
    i.ForEach([&](const std::string&, const json& object) { out.push_back(object); });
  };
  all(*pod_groups_, o.pod_groups);
  all(*priority_classes_, o.priority_classes);
  o.assumed = assumed_;
  for (const auto& [pod, uid] : deleting_) o.deleting.insert(pod);
  return o;
}

const PodFacts* KubeScheduler::LiveFacts(const std::string& key) const {
  auto it = pods_cache_.find(key);
  return it == pods_cache_.end() ? nullptr : it->second.value.get();
}

const json* KubeScheduler::LivePod(const std::string& key) const {
  const PodFacts* facts = LiveFacts(key);
  return facts ? facts->object.get() : nullptr;
}

void KubeScheduler::Pass() {
  std::vector<std::shared_ptr<BindBatch>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished.swap(finished_);
  }
  for (const auto& batch : finished) Settle(*batch);
  auto t0 = std::chrono::steady_clock::now();
  ClusterObjects objects = Collect();
  core::Seconds now = static_cast<core::Seconds>(clock_.NowSeconds());
  SchedulingView view = BuildView(objects, config_.view, now);
  auto t1 = std::chrono::steady_clock::now();
  for (core::Job& job : view.snapshot.jobs) {
    auto c = carried_.find(job.id);
    if (job.phase != core::JobPhase::kPending || c == carried_.end()) continue;
    job.nominated = c->second.nominated;
    job.reservation = c->second.reservation;
  }
  auto decisions = core_.Schedule(view.snapshot);
  if (!decisions) {
    Log("pass failed: " + decisions.error().message());
    return;
  }
  auto t2 = std::chrono::steady_clock::now();
  Bind(*decisions, view);
  auto t3 = std::chrono::steady_clock::now();
  Preempt(*decisions, view);
  EvictPartlyBound(*decisions, view);
  Explain(*decisions, view);
  CarryForward(*decisions, view);
  if (!decisions->starts.empty() || !decisions->preemptions.empty()) {
    auto ms = [](auto a, auto b) {
      return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
    };
    Log("pass: " + std::to_string(view.snapshot.jobs.size()) + " jobs, " +
        std::to_string(decisions->starts.size()) + " started, " +
        std::to_string(decisions->preemptions.size()) + " preempted; view " + ms(t0, t1) +
        " ms, core " + ms(t1, t2) + " ms, queueing bindings " + ms(t2, t3) + " ms; " +
        std::to_string(pool_->InFlight()) + " calls in flight; " +
        std::to_string(std::exchange(notices_queued_, 0)) + " notices queued since the last");
  }
}

namespace {

std::unordered_map<std::string_view, size_t> JobIndex(const SchedulingView& view) {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < view.snapshot.jobs.size(); ++i) index[view.snapshot.jobs[i].id] = i;
  return index;
}

}  // namespace

// One pass's bindings, from Bind (loop thread) through the pool to Settle (loop thread again).
struct KubeScheduler::BindBatch {
  struct Task {
    std::string pod, uid, node;  // uid: of the pod the pass placed (pod_binder.h)
    size_t start = 0;  // index into jobs
    bool bound = false;
    std::string error;
  };
  std::vector<std::string> jobs;  // the starts' job ids
  std::vector<Task> tasks;
  std::chrono::steady_clock::time_point queued;
};

// Every pod of the pass's starts is assumed on its node, then its binding is queued; the loop
// goes on. Each binding names the pod's uid as the pass saw it (pod_binder.h): a pod recreated
// under the same name since is refused, and the next pass places the new one from the watch.
void KubeScheduler::Bind(const core::Decisions& d, const SchedulingView& view) {
  if (d.starts.empty()) return;
  auto index = JobIndex(view);
  auto batch = std::make_shared<BindBatch>();
  for (size_t s = 0; s < d.starts.size(); ++s) {
    batch->jobs.push_back(d.starts[s].job);
    const std::vector<std::string>& pods = view.pods_of_job[index.at(d.starts[s].job)];
    for (const core::TaskPlacement& t : d.starts[s].tasks) {
      const std::string& pod = pods[static_cast<size_t>(t.group)];
      batch->tasks.push_back({pod, LiveFacts(pod)->uid, t.node, s});
    }
  }
  std::vector<CallPool::Call> calls;
  for (BindBatch::Task& t : batch->tasks) {
    assumed_[t.pod] = t.node;
    calls.push_back([this, &t](KubeClient::Session& session) {
      BindResult r = BindPod(*client_, session, t.pod, t.uid, t.node);
      t.bound = r.outcome == BindOutcome::kBound;
      t.error = std::move(r.error);
    });
  }
  batch->queued = std::chrono::steady_clock::now();
  pool_->Submit(std::move(calls), [this, batch] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back(batch);
      dirty_ = true;
    }
    cv_.notify_all();
  });
}

// A finished batch: a gang with a pod that could not be bound has its bound pods deleted (grace
// 0; they have not started anything yet), so it never stays partly bound.
void KubeScheduler::Settle(const BindBatch& batch) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  batch.queued);
  Log("bound " + std::to_string(batch.tasks.size()) + " pods of " + std::to_string(batch.jobs.size()) +
      " jobs; settled " + std::to_string(ms.count()) + " ms after queueing");
  std::vector<bool> failed(batch.jobs.size(), false);
  for (const BindBatch::Task& t : batch.tasks) {
    if (t.bound) continue;
    failed[t.start] = true;
    Log("binding " + t.pod + " to " + t.node + ": " + t.error);
  }
  std::vector<CallPool::Call> undo;
  for (const BindBatch::Task& t : batch.tasks) {
    if (!failed[t.start]) continue;
    // A pod recreated under the name since may be assumed anew by a later pass, elsewhere.
    if (auto a = assumed_.find(t.pod); a != assumed_.end() && a->second == t.node) assumed_.erase(a);
    if (!t.bound || !deleting_.emplace(t.pod, t.uid).second) continue;
    Log("deleting " + t.pod + ": its gang " + batch.jobs[t.start] + " could not be bound whole");
    undo.push_back([this, pod = t.pod, body = DeleteBody(0, t.uid)](KubeClient::Session& session) {
      (void)client_->Call(session, Verb::kDelete, PodPath(pod), &body);
    });
  }
  pool_->Submit(std::move(undo));
}

// The DELETE of a pod kumo placed, with its own grace period (the kubelet sends SIGTERM, then
// SIGKILL after it), of the pod this pass saw (its uid); nullptr when the pod is gone or already
// being deleted by kumo.
CallPool::Call KubeScheduler::EvictCall(const std::string& pod, const char* why) {
  const PodFacts* facts = LiveFacts(pod);
  if (!facts || !deleting_.emplace(pod, facts->uid).second) return nullptr;
  return [this, pod, body = DeleteBody(GracePeriodSeconds(*facts->object), facts->uid), why](
             KubeClient::Session& session) {
    auto r = client_->Call(session, Verb::kDelete, PodPath(pod), &body);
    if (!r || (!r->ok() && r->status != 404))
      Log(std::string(why) + " " + pod + ": " + (r ? ErrorText(*r) : r.error().message()));
  };
}

// Victims are pods kumo bound (the snapshot's running jobs are only those).
void KubeScheduler::Preempt(const core::Decisions& d, const SchedulingView& view) {
  auto jobs = JobIndex(view);
  std::vector<CallPool::Call> calls;
  for (const core::PreemptDecision& p : d.preemptions) {
    Log("preempting " + p.victim + " for " + p.preemptor + ": " + p.message);
    for (const std::string& pod : view.pods_of_job[jobs.at(p.victim)])
      if (CallPool::Call call = EvictCall(pod, "preempting")) calls.push_back(std::move(call));
  }
  pool_->Submit(std::move(calls));
}

// A gang bound in part (scheduling_view.h, `partly_bound`): when this pass started the rest, the
// gang is complete; when the rest waits for victims or terminating pods to go, it soon will be.
// Otherwise the rest does not fit now, and the bound members are evicted with their grace
// period: held, they would keep part of the gang's resources for as long as the rest waits
// (for ever, if it never fits beside them), which is what gang scheduling exists to prevent.
// Once they are gone the group is placed whole, or waits whole, like any other.
void KubeScheduler::EvictPartlyBound(const core::Decisions& d, const SchedulingView& view) {
  if (view.partly_bound.empty()) return;
  std::vector<CallPool::Call> calls;
  for (const core::WaitExplanation& w : d.waiting) {
    auto gang = view.partly_bound.find(w.job);
    if (gang == view.partly_bound.end() || w.reason == core::WaitReason::kWaitingForPreemption ||
        w.reason == core::WaitReason::kWaitingForTermination ||
        w.reason == core::WaitReason::kNotConsidered)
      continue;
    Log("gang " + w.job + " is bound in part (" + std::to_string(gang->second.size()) +
        " pods) and the rest does not fit: " + w.message + "; evicting its bound pods");
    for (const std::string& pod : gang->second)
      if (CallPool::Call call = EvictCall(pod, "evicting")) calls.push_back(std::move(call));
  }
  pool_->Submit(std::move(calls));
}

// Every pod that waits is told why: its condition when the sentence changed, at most once per
// kConditionIntervalS, an Event on change and at most once per notice interval, all within the
// notice budget (kNoticesPerSecond): pods never told before first, in the pass's order; a pod the
// budget leaves out is not recorded, so a later pass tells it.
void KubeScheduler::Explain(const core::Decisions& d, const SchedulingView& view) {
  auto jobs = JobIndex(view);
  core::Seconds now = view.snapshot.now;
  struct Tell {
    const std::string* pod;
    std::string message;
    bool condition, event;
  };
  std::vector<Tell> first, changed;
  auto consider = [&](const std::string& pod, const std::string& message) {
    if (!LivePod(pod)) return;
    auto condition = conditions_.Check(pod, message, now);
    auto event = events_.Check(pod, message, now);
    using Due = NoticeLimiter::Due;
    if (condition == Due::kNo && event == Due::kNo) return;
    (condition == Due::kFirst ? first : changed)
        .push_back({&pod, message, condition != Due::kNo, event != Due::kNo});
  };
  for (const core::WaitExplanation& w : d.waiting) {
    std::string message = w.message.empty() ? core::WaitReasonName(w.reason) : w.message;
    for (const std::string& pod : view.pods_of_job[jobs.at(w.job)]) consider(pod, message);
  }
  for (const PodWait& w : view.waits) consider(w.pod, w.message);
  std::vector<CallPool::Call> calls;
  double clock_s = clock_.NowSeconds();
  for (const std::vector<Tell>* list : {&first, &changed}) {
    for (const Tell& t : *list) {
      if (!notice_budget_.Take(clock_s, t.condition + t.event)) break;
      if (t.condition) conditions_.Told(*t.pod, t.message, now);
      if (t.event) events_.Told(*t.pod, t.message, now);
      calls.push_back(NoticeCall(*LivePod(*t.pod), t.message, t.condition, t.event, now));
    }
  }
  notices_queued_ += calls.size();
  notice_pool_->Submit(std::move(calls));
}

// The bodies are built here: the pass's objects are gone by the time the pool sends them.
CallPool::Call KubeScheduler::NoticeCall(const json& pod, const std::string& message,
                                         bool condition, bool event_due, core::Seconds now) {
  json patch = WaitingNoticePatch(pod, message, now);
  json event =
      executor::kube::FailedSchedulingEvent(pod, message, config_.view.scheduler_name, now);
  return [this, key = KeyOf(pod), condition, event_due, patch = std::move(patch),
          event = std::move(event)](KubeClient::Session& session) {
    if (condition) {
      auto r = client_->Call(session, Verb::kStrategicMergePatch, PodPath(key) + "/status", &patch);
      // 409: the pod changed since the pass (bound, most likely): the sentence is stale.
      if (!r || (!r->ok() && r->status != 409))
        Log("condition of " + key + ": " + (r ? ErrorText(*r) : r.error().message()));
    }
    if (event_due) {
      std::string ns = event["metadata"]["namespace"].get<std::string>();
      (void)client_->Call(session, Verb::kPost, "/api/v1/namespaces/" + ns + "/events", &event);
    }
  };
}

// The driver's side of the contract (core/driver.h): nominations and reservations of pending
// jobs go into the next pass.
void KubeScheduler::CarryForward(const core::Decisions& d, const SchedulingView& view) {
  core::DecisionIndex index(d);
  std::map<std::string, Carried> next;
  for (const core::Job& job : view.snapshot.jobs) {
    if (job.phase != core::JobPhase::kPending) continue;
    core::JobDecisions decided = index.Find(job.id);
    if (decided.start) continue;
    Carried c{job.nominated, job.reservation};
    core::CarryForward(decided, c.nominated, c.reservation);
    if (c.nominated || !c.reservation.empty()) next[job.id] = std::move(c);
  }
  carried_ = std::move(next);
}

}  // namespace kumo::kubesched
