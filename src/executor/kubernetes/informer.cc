#include "executor/kubernetes/informer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "http/http.h"

namespace kumo::executor::kube {
using nlohmann::json;

namespace {

std::string ResourceVersionOf(const json& object) {
  const json& md = object.value("metadata", json::object());
  return md.value("resourceVersion", "");
}

}  // namespace

Informer::Informer(KubeClient& client, std::string collection, std::string query,
                   std::function<void()> on_change, int watch_timeout_s,
                   std::function<std::string(const json&)> index, int list_page_size)
    : client_(client),
      collection_(std::move(collection)),
      query_(std::move(query)),
      on_change_(std::move(on_change)),
      watch_timeout_s_(watch_timeout_s),
      index_(std::move(index)),
      list_page_size_(list_page_size) {}

void Informer::IndexLocked(const json& object) {
  if (!index_) return;
  std::string value = index_(object);
  if (!value.empty()) by_index_[value] = KeyOf(object);
}

std::optional<json> Informer::GetByIndex(const std::string& value, bool* deleted) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto k = by_index_.find(value);
  if (k == by_index_.end()) return std::nullopt;
  if (auto it = items_.find(k->second); it != items_.end()) {
    *deleted = false;
    return it->second;
  }
  if (auto it = tombstones_.find(k->second); it != tombstones_.end()) {
    *deleted = true;
    return it->second;
  }
  return std::nullopt;
}

Informer::~Informer() { Stop(); }

void Informer::Start() { thread_ = std::thread([this] { Run(); }); }

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  client_.CancelWatches();
  if (thread_.joinable()) thread_.join();
}

std::string Informer::KeyOf(const json& object) {
  const json& md = object.value("metadata", json::object());
  std::string ns = md.value("namespace", "");
  std::string name = md.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

bool Informer::WaitSynced(double timeout_s) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::duration<double>(timeout_s),
                      [&] { return synced_.load() || stopping_.load(); }) &&
         synced_;
}

void Informer::ForEach(const std::function<void(const std::string&, const json&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, object] : items_) fn(key, object);
}

std::map<std::string, json> Informer::Items() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_;
}

std::optional<json> Informer::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

std::optional<json> Informer::Tombstone(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tombstones_.find(key);
  if (it == tombstones_.end()) return std::nullopt;
  return it->second;
}

// Tombstones answer for pods that ended while nobody looked; a bounded number is plenty (the
// server polls every task several times a second). Beyond the bound they go in key order, a
// rough stand-in for age that needs no clock.
void Informer::TrimTombstonesLocked() {
  while (tombstones_.size() > kMaxTombstones) {
    auto it = tombstones_.begin();
    if (index_) by_index_.erase(index_(it->second));
    tombstones_.erase(it);
  }
}

void Informer::Sleep(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping_.load(); });
}

void Informer::Run() {
  double backoff_s = 0.2;
  while (!stopping_) {
    bool ok = false;
    try {
      ok = resource_version_.empty() ? List() : WatchOnce();
    } catch (const json::exception& e) {
      // An object of an unexpected shape: start over from a list rather than end the thread.
      std::fprintf(stderr, "kumo kubernetes: %s: %s\n", collection_.c_str(), e.what());
      resource_version_.clear();
    }
    if (stopping_) return;
    if (ok) {
      backoff_s = 0.2;
    } else {
      Sleep(backoff_s);
      backoff_s = std::min(backoff_s * 2, 10.0);
    }
  }
}

// The first list, and every list after a 410, in pages of list_page_size_ objects ("limit" and
// "continue", API concepts "Retrieving large results sets in chunks"): ten thousand pods in one
// answer pass the client's 64 MiB body limit. All pages are one consistent snapshot at the first
// page's resourceVersion. A continue token lasts while that resourceVersion is in etcd's history;
// once compacted, the next page is answered 410 ("The provided continue parameter is too old"),
// and nothing of the pages read so far is kept: Run backs off and the list starts again from its
// first page (a snapshot of two different moments would miss or revive objects).
bool Informer::List() {
  std::map<std::string, json> fresh;
  std::string continue_token, list_rv;
  KubeClient::Session session;  // one kept-alive connection for all the pages
  do {
    std::string target = collection_ + "?" + (query_.empty() ? "" : query_ + "&") +
                         "limit=" + std::to_string(list_page_size_);
    if (!continue_token.empty()) target += "&continue=" + http::PercentEncode(continue_token);
    auto r = client_.Call(session, Verb::kGet, target);
    if (!r || !r->ok() || !r->body.contains("items")) {
      std::fprintf(stderr, "kumo kubernetes: list %s%s: %s\n", collection_.c_str(),
                   continue_token.empty() ? "" : " (a later page; listing again from the first)",
                   r ? ErrorText(*r).c_str() : r.error().message().c_str());
      return false;
    }
    for (json& item : r->body["items"]) {
      std::string key = KeyOf(item);  // before the move: `a[k(x)] = std::move(x)` moves x first
      fresh[key] = std::move(item);
    }
    const json& md = r->body.value("metadata", json::object());
    if (continue_token.empty()) list_rv = md.value("resourceVersion", "");
    continue_token = md.value("continue", "");
    ++list_pages_;
  } while (!continue_token.empty());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, old] : items_)
      if (!fresh.count(key)) tombstones_[key] = std::move(old);
    items_ = std::move(fresh);
    for (const auto& [key, item] : items_) IndexLocked(item);
    TrimTombstonesLocked();
    resource_version_ = list_rv;
    ++lists_;
    synced_ = true;
  }
  cv_.notify_all();
  if (on_change_) on_change_();
  return true;
}

// One watch request from resource_version_. False asks for a backoff; a 410 clears
// resource_version_ so that Run lists again.
bool Informer::WatchOnce() {
  std::string target = collection_ + "?" + (query_.empty() ? "" : query_ + "&") +
                       "watch=1&allowWatchBookmarks=true&resourceVersion=" + resource_version_ +
                       "&timeoutSeconds=" + std::to_string(watch_timeout_s_);
  bool relist = false;
  auto status = client_.Watch(
      target,
      [&](const json& event) {
        Apply(event, &relist);
        return !relist && !stopping_;
      },
      watch_timeout_s_ + 30);
  if (status && *status == 410) relist = true;
  if (relist) {
    resource_version_.clear();
    return true;
  }
  if (!status || *status != 200) {
    std::fprintf(stderr, "kumo kubernetes: watch %s: %s\n", collection_.c_str(),
                 status ? ("HTTP " + std::to_string(*status)).c_str()
                        : status.error().message().c_str());
    return false;
  }
  return true;
}

void Informer::Apply(const json& event, bool* relist) {
  std::string type = event.value("type", "");
  const json& object = event.contains("object") ? event["object"] : json::object();
  if (type == "ERROR") {
    // A Status object; 410 (Expired / Gone): the resourceVersion fell out of the history.
    if (object.value("code", 0) == 410) {
      *relist = true;
    } else {
      std::fprintf(stderr, "kumo kubernetes: watch %s: %s\n", collection_.c_str(),
                   object.value("message", std::string("error event")).c_str());
      *relist = true;  // an unknown error: the safe way back is a fresh list
    }
    return;
  }
  std::string rv = ResourceVersionOf(object);
  if (!rv.empty()) resource_version_ = rv;
  if (type == "BOOKMARK") return;
  std::string key = KeyOf(object);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (type == "DELETED") {
      items_.erase(key);
      tombstones_[key] = object;
      TrimTombstonesLocked();
    } else if (type == "ADDED" || type == "MODIFIED") {
      items_[key] = object;
      tombstones_.erase(key);
      IndexLocked(object);
    } else {
      return;
    }
  }
  if (on_change_) on_change_();
}

}  // namespace kumo::executor::kube
