// k8s_load: creates one benchmark load of pods (and PodGroups) in a fresh namespace of a
// Kubernetes API server, as fast as the server takes them, and times from a watch when each pod
// is bound and when it ends (bench/vs-kube-scheduler.sh runs it once per round).
//
//   k8s_load --kubeconfig FILE --namespace NS --scheduler-name NAME --pods N
//            [--group-size K [--gang-api scheduler-plugins|volcano]] [--gpus G] [--run-duration 20s] [--start-delay 40s | --exit-after 45s]
//            [--node-selector KEY=VALUE]
//            [--until created|bound|ended] [--clients 16] [--timeout 900] [--partial-grace 5]
//            [--timeline FILE]
//   k8s_load --kubeconfig FILE --namespace NS --clear [--timeout 900]
//   k8s_load --kubeconfig FILE --namespace NS --await-ended [--timeout 900]
//
// --until created ends the run when the last creation was answered: with a scheduler name that
// no scheduler serves, it measures what creating the pods alone allows (created_per_second),
// the ceiling of any scheduler's pods_per_second on this machine.
//
// --await-ended waits until no pod of NS is left that has not ended (Succeeded or Failed; one
// list of at most one such pod per second). Ended pods hold no capacity, so the next run may
// start on a fresh namespace without deleting anything.
//
// --clear ends a run instead: every pod of NS is deleted by one deletecollection call
// (DELETE .../namespaces/NS/pods, gracePeriodSeconds 0: the apiserver removes them at once, with
// no kubelet to wait for), then it waits until a list of NS is empty. The namespace is left:
// deleting it would hand its pods to the controller manager, which deletes them one by one at
// its client rate (minutes for 10,000), while the next run is measured.
//
// Order: the namespace (and its default ServiceAccount, which pod admission needs), the
// PodGroups, one list of the empty namespace for a resourceVersion, the watch from it (so no
// event after that version is missed, however late the watch connects), then the pods from
// --clients threads. t = 0 is just before the first pod's POST is sent; every later time is the
// client's steady clock when the response or watch event arrived. Stops when every pod was seen
// bound (--until bound) or ended (--until ended), or at --timeout.
// Prints one JSON object (bind_record.h defines partial_pods); exit 0 when complete, 1 on
// timeout (the object says how far it got), 2 on a usage error.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "base/flags.h"
#include "bind_record.h"
#include "executor/kubernetes/kube_client.h"
#include "executor/kubernetes/kube_config.h"
#include "load_spec.h"

namespace kumo::bench {
namespace {
namespace kube = executor::kube;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string kubeconfig;
  LoadSpec spec;
  std::string until = "bound";
  int clients = 16;
  double timeout_s = 900;
  double partial_grace_s = 5;
  std::string timeline;  // --timeline: per-second rows written here
};

// Shared by the watch thread and main: the record, and when the run is over.
struct RunState {
  std::mutex mu;
  std::condition_variable changed;
  BindRecord record;
  const int pods;
  Clock::time_point t0;  // first POST sent; set before any pod exists
  bool done = false;     // every pod reached the --until state
  std::string watch_error;
  RunState(int n, int group_size) : record(n, group_size), pods(n) {}
  double Now() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
};

bool Retryable(const Result<kube::KubeResponse>& r) {
  if (!r) return true;  // no response: connection refused or cut
  return r->status == 429 || r->status == 500 || r->status == 503 || r->status == 504;
}

// POST with up to 8 attempts for overload answers; 409 (it exists: an earlier attempt whose
// answer was lost did create it) counts as created.
Status Post(kube::KubeClient& client, kube::KubeClient::Session& session, const std::string& path,
            const nlohmann::json& body) {
  Result<kube::KubeResponse> r;
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    r = client.Call(session, kube::Verb::kPost, path, &body);
    if (!Retryable(r)) break;
  }
  if (!r) return r.error();
  if (r->ok() || r->status == 409) return Status::Ok();
  return Status::Unavailable("POST " + path + ": " + kube::ErrorText(*r));
}

// Runs make(i) -> POST for i in [0, count) on `clients` threads, each on its own kept-alive
// connection (as client-go keeps its connections), then created(i) if given; the first error
// wins.
Status PostAll(kube::KubeClient& client, int count, int clients,
               const std::function<std::pair<std::string, nlohmann::json>(int)>& make,
               const std::function<void(int)>& created = nullptr) {
  std::atomic<int> next{0};
  std::mutex mu;
  Status first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      kube::KubeClient::Session session;
      for (int i; (i = next.fetch_add(1)) < count;) {
        auto [path, body] = make(i);
        Status s = Post(client, session, path, body);
        if (s.ok() && created) created(i);
        if (s.ok()) continue;
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        next = count;  // stop the others
      }
    });
  }
  for (auto& t : threads) t.join();
  return first_error;
}

Status CreateNamespace(kube::KubeClient& client, const std::string& ns) {
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "Namespace"},
                         {"metadata", {{"name", ns}}}};
  auto r = client.Call(kube::Verb::kPost, "/api/v1/namespaces", &body);
  if (!r) return r.error();
  if (!r->ok()) return Status::FailedPrecondition("namespace " + ns + ": " + kube::ErrorText(*r));
  // Pod admission refuses pods until the controller manager made the default ServiceAccount.
  for (int i = 0; i < 300; ++i) {
    r = client.Call(kube::Verb::kGet, "/api/v1/namespaces/" + ns + "/serviceaccounts/default");
    if (r && r->ok()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::DeadlineExceeded("namespace " + ns + ": no default ServiceAccount after 30 s");
}

// The pod index of a watch event's object ("p-000042" -> 42), or -1.
int PodIndex(const nlohmann::json& object) {
  std::string name = object["metadata"].value("name", "");
  if (name.size() < 3 || name.compare(0, 2, "p-") != 0) return -1;
  try {
    return std::stoi(name.substr(2));
  } catch (const std::exception&) {
    return -1;
  }
}

// Applies one watch event; returns false when the run is done (ends the watch).
bool OnEvent(RunState& st, bool until_ended, const nlohmann::json& event, std::string& rv) {
  const nlohmann::json& object = event["object"];
  if (object.is_object() && object.contains("metadata"))
    rv = object["metadata"].value("resourceVersion", rv);
  std::string type = event.value("type", "");
  if (type == "ERROR") {
    std::lock_guard<std::mutex> lock(st.mu);
    st.watch_error = "watch ERROR: " + object.dump();
    st.changed.notify_all();
    return false;
  }
  if (type != "ADDED" && type != "MODIFIED") return true;
  bool bound = !object["spec"].value("nodeName", "").empty();
  std::string phase = object["status"].value("phase", "");
  bool ended = phase == "Succeeded" || phase == "Failed";
  std::lock_guard<std::mutex> lock(st.mu);
  st.record.Observe(PodIndex(object), bound, ended, st.Now());
  int reached = until_ended ? st.record.ended() : st.record.bound();
  if (reached < st.pods) return true;
  st.done = true;
  st.changed.notify_all();
  return false;
}

// Watches the namespace's pods from `rv` until done, an ERROR event, or CancelWatches; a stream
// that ends (timeoutSeconds) or breaks is resumed from the last resourceVersion seen.
void WatchPods(kube::KubeClient& client, RunState& st, const Options& o, std::string rv,
               const std::atomic<bool>& cancelled) {
  bool until_ended = o.until == "ended";
  while (!cancelled) {
    std::string target = "/api/v1/namespaces/" + o.spec.namespace_name +
                         "/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300"
                         "&resourceVersion=" + rv;
    auto r = client.Watch(target, [&](const nlohmann::json& e) {
      return OnEvent(st, until_ended, e, rv);
    });
    {
      std::lock_guard<std::mutex> lock(st.mu);
      if (st.done || !st.watch_error.empty()) return;
      if (r && *r != 200) {
        st.watch_error = "watch: HTTP " + std::to_string(*r);
        st.changed.notify_all();
        return;
      }
    }
    if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The resourceVersion of the (empty) namespace's pod list: the watch starts there.
Result<std::string> ListVersion(kube::KubeClient& client, const std::string& ns) {
  auto r = client.Call(kube::Verb::kGet, "/api/v1/namespaces/" + ns + "/pods?limit=1");
  if (!r) return Error(r.error());
  if (!r->ok()) return Error(Status::Unavailable("list pods: " + kube::ErrorText(*r)));
  return r->body["metadata"].value("resourceVersion", "");
}

nlohmann::json Report(const Options& o, const LoadSummary& s, double create_s, bool complete) {
  nlohmann::json j = {{"namespace", o.spec.namespace_name},
                      {"scheduler_name", o.spec.scheduler_name},
                      {"pods", s.pods}, {"group_size", o.spec.group_size},
                      {"clients", o.clients}, {"complete", complete},
                      {"create_seconds", create_s}, {"bound", s.bound}, {"ended", s.ended},
                      {"first_bind_s", s.first_bind_s}, {"last_bind_s", s.last_bind_s},
                      {"last_end_s", s.last_end_s},
                      {"partial_grace_s", o.partial_grace_s},
                      {"partial_pods", s.partial_pods}, {"partial_groups", s.partial_groups}};
  // Throughput: pods bound per second from the first creation to the last binding.
  j["pods_per_second"] = s.last_bind_s > 0 ? s.bound / s.last_bind_s : 0.0;
  // Creation alone: pods answered per second from the first POST to the last answer.
  j["created_per_second"] = create_s > 0 ? s.pods / create_s : 0.0;
  // Makespan: from the first creation to the last pod's end.
  j["makespan_s"] = s.last_end_s;
  // This process's own CPU (creating threads and the watch), so the bench can show what the
  // creator costs the shared machine.
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  j["creator_cpu_s"] = seconds(u.ru_utime) + seconds(u.ru_stime);
  return j;
}

// --timeline FILE: one line per second of the run, "second created bound ended" (bind_record.h),
// after a header line; for finding what bounds a run (docs/benchmarks.md).
void WriteTimeline(const std::string& path, const std::vector<SecondCounts>& rows) {
  std::ofstream out(path);
  out << "second created bound ended\n";
  for (const SecondCounts& r : rows)
    out << r.second << ' ' << r.created << ' ' << r.bound << ' ' << r.ended << '\n';
  if (!out) std::cerr << "k8s_load: could not write " << path << "\n";
}

// The namespace, its PodGroups, and the resourceVersion the watch starts from.
Result<std::string> Prepare(kube::KubeClient& client, const Options& o) {
  const LoadSpec& spec = o.spec;
  Status s = CreateNamespace(client, spec.namespace_name);
  if (s.ok() && spec.group_size > 0) {
    s = PostAll(client, spec.pods / spec.group_size, o.clients, [&](int g) {
      return std::pair(PodGroupPath(spec), PodGroupManifest(spec, g));
    });
  }
  if (!s.ok()) return Error(s);
  return ListVersion(client, spec.namespace_name);
}

// --clear: see the header. Exit 0 when NS has no pod left, 1 otherwise.
int Clear(const Options& o) {
  auto config = kube::LoadKubeconfig(o.kubeconfig);
  if (!config) return std::cerr << "k8s_load: " << config.error().message() << "\n", 1;
  kube::KubeClient client(*config);
  const std::string pods_path = "/api/v1/namespaces/" + o.spec.namespace_name + "/pods";
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", 0}};
  auto deadline = Clock::now() + std::chrono::duration<double>(o.timeout_s);
  bool asked = false;
  while (Clock::now() < deadline) {
    if (!asked) {  // again after a call without an answer: the server may not have got it
      auto r = client.Call(kube::Verb::kDelete, pods_path + "?gracePeriodSeconds=0", &body, 600);
      // The apiserver answers 504 when a large collection outlasts its request timeout (60 s);
      // what it deleted stays deleted, so asking again finishes the rest. 4xx is our mistake.
      if (r && r->status >= 400 && r->status < 500 && r->status != 429)
        return std::cerr << "k8s_load: deleting " << pods_path << ": " << kube::ErrorText(*r) << "\n", 1;
      asked = r && r->ok();
    }
    auto r = client.Call(kube::Verb::kGet, pods_path + "?limit=1");
    if (r && r->ok() && r->body.value("items", nlohmann::json::array()).empty()) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::cerr << "k8s_load: " << pods_path << " still has pods after " << o.timeout_s << " s\n";
  return 1;
}

// --await-ended: see the header. Exit 0 when NS has no pod left that has not ended, 1 otherwise.
int AwaitEnded(const Options& o) {
  auto config = kube::LoadKubeconfig(o.kubeconfig);
  if (!config) return std::cerr << "k8s_load: " << config.error().message() << "\n", 1;
  kube::KubeClient client(*config);
  const std::string path = "/api/v1/namespaces/" + o.spec.namespace_name +
                           "/pods?limit=1&fieldSelector=status.phase%21%3DSucceeded%2C"
                           "status.phase%21%3DFailed";
  auto deadline = Clock::now() + std::chrono::duration<double>(o.timeout_s);
  while (Clock::now() < deadline) {
    auto r = client.Call(kube::Verb::kGet, path);
    if (r && r->status >= 400 && r->status < 500 && r->status != 429)
      return std::cerr << "k8s_load: listing " << path << ": " << kube::ErrorText(*r) << "\n", 1;
    if (r && r->ok() && r->body.value("items", nlohmann::json::array()).empty()) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::cerr << "k8s_load: " << o.spec.namespace_name << " still has pods that did not end after "
            << o.timeout_s << " s\n";
  return 1;
}

// Creates the load and waits for the watch to see it through; prints the report.
int Run(const Options& o) {
  auto config = kube::LoadKubeconfig(o.kubeconfig);
  if (!config) return std::cerr << "k8s_load: " << config.error().message() << "\n", 1;
  kube::KubeClient client(*config);
  const LoadSpec& spec = o.spec;
  auto rv = Prepare(client, o);
  if (!rv) return std::cerr << "k8s_load: " << rv.error().message() << "\n", 1;

  RunState st(spec.pods, spec.group_size);
  st.t0 = Clock::now();  // before the watch thread reads it; the first POST follows at once
  std::atomic<bool> cancelled{false};
  std::thread watcher([&] { WatchPods(client, st, o, *rv, cancelled); });
  const std::string pods_path = "/api/v1/namespaces/" + spec.namespace_name + "/pods";
  Status s = PostAll(
      client, spec.pods, o.clients, [&](int i) { return std::pair(pods_path, PodManifest(spec, i)); },
      [&](int i) {
        std::lock_guard<std::mutex> lock(st.mu);
        st.record.ObserveCreated(i, st.Now());
      });
  double create_s = st.Now();
  std::cerr << "k8s_load: " << spec.pods << " pods created in " << create_s << " s\n";
  bool complete;
  {
    std::unique_lock<std::mutex> lock(st.mu);
    if (o.until == "created") st.done = true;
    st.changed.wait_for(lock, std::chrono::duration<double>(o.timeout_s), [&] {
      return st.done || !st.watch_error.empty() || !s.ok();
    });
    complete = st.done && s.ok();
  }
  cancelled = true;
  client.CancelWatches();
  watcher.join();
  if (!s.ok()) std::cerr << "k8s_load: " << s.message() << "\n";
  if (!st.watch_error.empty()) std::cerr << "k8s_load: " << st.watch_error << "\n";
  std::cout << Report(o, st.record.Summarize(o.partial_grace_s), create_s, complete).dump()
            << std::endl;
  if (!o.timeline.empty()) WriteTimeline(o.timeline, st.record.PerSecond());
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace kumo::bench

int main(int argc, char** argv) {
  kumo::bench::Options o;
  CLI::App app("k8s_load: creates pods in a fresh namespace and times their bindings "
               "(bench/vs-kube-scheduler.sh)", "k8s_load");
  app.add_option("--kubeconfig", o.kubeconfig, "kubeconfig of the API server")->required();
  app.add_option("--namespace", o.spec.namespace_name, "namespace to create")->required();
  app.add_option("--scheduler-name", o.spec.scheduler_name, "the pods' spec.schedulerName");
  bool clear = false;
  app.add_flag("--clear", clear, "delete every pod of the namespace at once and wait until gone");
  bool await_ended = false;
  app.add_flag("--await-ended", await_ended, "wait until every pod of the namespace has ended");
  CLI::Option* pods = app.add_option("--pods", o.spec.pods, "pods to create");
  app.add_option("--group-size", o.spec.group_size, "pods per PodGroup (minMember); 0: none");
  app.add_option("--gang-api", o.spec.gang_api,
                 "whose PodGroups and pod markings: scheduler-plugins or volcano")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, kumo::bench::GangApi>{
              {"scheduler-plugins", kumo::bench::GangApi::kSchedulerPlugins},
              {"volcano", kumo::bench::GangApi::kVolcano}}));
  app.add_option("--gpus", o.spec.gpus_per_pod, "nvidia.com/gpu per pod");
  app.add_option("--run-duration", o.spec.run_duration, "kumo.test/run-duration (KWOK)");
  app.add_option("--start-delay", o.spec.start_delay, "kumo.test/start-delay (KWOK)");
  app.add_option("--exit-after", o.spec.exit_after,
                 "kumo.test/exit-after (KWOK): Succeeded that long after binding, never Running");
  app.add_option("--node-selector", o.spec.node_selector, "KEY=VALUE the pods' nodeSelector");
  app.add_option("--until", o.until, "stop when every pod is created, bound or ended")
      ->check(CLI::IsMember({"created", "bound", "ended"}));
  app.add_option("--clients", o.clients, "parallel creating threads")->check(CLI::Range(1, 256));
  app.add_option("--timeout", o.timeout_s, "seconds before giving up")->check(kumo::NonNegative());
  app.add_option("--partial-grace", o.partial_grace_s, "G of bind_record.h, seconds")
      ->check(kumo::NonNegative());
  app.add_option("--timeline", o.timeline, "write pods created/bound/ended per second to FILE");
  if (auto exit = kumo::ParseFlags(app, {argv + 1, argv + argc})) return *exit;
  if (clear) return kumo::bench::Clear(o);
  if (await_ended) return kumo::bench::AwaitEnded(o);
  if (pods->count() == 0) {
    std::cerr << "k8s_load: --pods is required (unless --clear)\n";
    return 2;
  }
  if (kumo::Status s = kumo::bench::Validate(o.spec); !s.ok()) {
    std::cerr << "k8s_load: " << s.message() << "\n";
    return 2;
  }
  return kumo::bench::Run(o);
}
