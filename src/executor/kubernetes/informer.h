// Informer: an up-to-date local copy of one collection of API objects (pods, nodes), kept by
// list + watch, as client-go's reflector keeps its store.
//
//   list, in pages (limit=list_page_size, continue=token; a 410 on a later page: list again
//   from the first) ──► copy := items, rv := the list's metadata.resourceVersion
//     └──► watch ?resourceVersion=rv&allowWatchBookmarks=true&timeoutSeconds=N
//            ADDED / MODIFIED  copy[key] := object          rv := object's resourceVersion
//            DELETED           copy.erase(key), tombstone    rv := object's resourceVersion
//            BOOKMARK          (no object change)            rv := object's resourceVersion
//            ERROR 410, or HTTP 410 ──► list again (the history rv points into was compacted)
//            stream ends (timeoutSeconds) ──► watch again from rv
//            connection error ──► watch again from rv after a backoff (0.2 s doubling to 10 s)
// A relist replaces the copy; objects that vanished meanwhile become tombstones carrying their
// last known state, so a pod that ended and was deleted while the watch was down still tells
// how it ended. Nothing is lost across a 410: the list is the current state of everything.
//
// Keys are "namespace/name" (just "name" for cluster-scoped objects).
// Thread safety: all methods may be called from any thread; `on_change` runs on the informer's
// thread without its lock held.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "executor/kubernetes/kube_client.h"

namespace kumo::executor::kube {

class Informer {
 public:
  // `collection` is the list path, e.g. "/api/v1/nodes" or "/api/v1/namespaces/ml/pods";
  // `query` extra list/watch parameters, e.g. "labelSelector=kumo.dev%2Fjob".
  // `index`, when given, names each object by one more key (e.g. a pod's run-dir annotation;
  // "" : not indexed) for GetByIndex. A list asks for `list_page_size` objects a page (500, as
  // client-go's reflector: a page of pods is a few MiB).
  // REQUIRES: list_page_size >= 1.
  Informer(KubeClient& client, std::string collection, std::string query,
           std::function<void()> on_change, int watch_timeout_s = 60,
           std::function<std::string(const nlohmann::json&)> index = {},
           int list_page_size = 500);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  // Ends the watch and joins the thread. REQUIRES: the client's CancelWatches is called by the
  // owner too when several informers share a client (Stop calls it itself).
  void Stop();

  // Blocks until the first list has arrived or `timeout_s` passed; true when synced.
  bool WaitSynced(double timeout_s);
  bool synced() const { return synced_; }

  std::map<std::string, nlohmann::json> Items() const;
  // Calls fn(key, object) on every live object, in key order, under the informer's lock: no
  // copies (a pass over ten thousand pods need not copy them). fn must not call the informer.
  void ForEach(const std::function<void(const std::string&, const nlohmann::json&)>& fn) const;
  std::optional<nlohmann::json> Get(const std::string& key) const;
  // The live object, or else the tombstone, whose index key is `value`; `deleted` tells which.
  std::optional<nlohmann::json> GetByIndex(const std::string& value, bool* deleted) const;
  // The last state of a deleted object, if it was deleted since the informer started.
  std::optional<nlohmann::json> Tombstone(const std::string& key) const;
  // How many times the informer listed (1 after the first sync; each 410 adds one).
  uint64_t lists() const { return lists_; }
  // How many list pages it read, in all (those of a list that failed part-way included).
  uint64_t list_pages() const { return list_pages_; }


  static std::string KeyOf(const nlohmann::json& object);

 private:
  void Run();
  bool List();                    // true on success
  bool WatchOnce();               // false: list again
  void Apply(const nlohmann::json& event, bool* relist);
  void Sleep(double seconds);     // interruptible by Stop

  KubeClient& client_;
  const std::string collection_, query_;
  const std::function<void()> on_change_;
  const int watch_timeout_s_;
  const std::function<std::string(const nlohmann::json&)> index_;
  const int list_page_size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, nlohmann::json> items_;       // guarded by mu_
  std::map<std::string, nlohmann::json> tombstones_;  // guarded by mu_
  std::map<std::string, std::string> by_index_;       // index key -> key; guarded by mu_
  void IndexLocked(const nlohmann::json& object);      // needs mu_
  void TrimTombstonesLocked();                         // needs mu_
  static constexpr size_t kMaxTombstones = 4096;
  std::string resource_version_;                      // the informer thread's only
  std::atomic<bool> synced_{false}, stopping_{false};
  std::atomic<uint64_t> lists_{0}, list_pages_{0};
  std::thread thread_;
};

}  // namespace kumo::executor::kube
