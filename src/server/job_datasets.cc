#include "server/job_datasets.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "api/dataset_manifest.h"
#include "cache/client/client.h"
#include "client/dataset_client.h"
#include "client/node_store.h"
#include "server/dataset_handlers.h"
#include "server/dataset_store.h"
#include "server/node_store_gc.h"
#include "server/server_state.h"

namespace kumo::server {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kFetchParallel = 8;  // files in flight per dataset, as `kumo dataset pull`

std::string Field(size_t i, const char* name) {
  return "spec.datasets[" + std::to_string(i) + "]." + name;
}

std::string Label(const api::DatasetRef& d) { return d.name + "@" + std::to_string(d.version); }

// Directories of a materialised tree become 0555 (its files are the store's 0444 objects): a
// task running as the server (isolation off, not root) is told no before it writes. (Sealed
// after the rename: moving a directory needs write permission on it.)
Status SealTree(const std::string& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && ::chmod(it->path().c_str(), 0555) != 0)
      return Status::IoError(it->path().string() + ": " + std::strerror(errno));
  if (ec || ::chmod(dir.c_str(), 0555) != 0)
    return Status::IoError(dir + ": " + (ec ? ec.message() : std::strerror(errno)));
  return Status::Ok();
}

// Fetches one pinned version into a temp tree and renames it to `dir`.
Status Materialize(ServerState& state, const api::DatasetRef& d, const std::string& dir) {
  DatasetStore datasets(*state.store);
  auto owner = datasets.Get(d.name);
  if (!owner) return owner.error();
  auto v = datasets.Version(d.name, d.version);
  if (!v) return v.error();
  if (!*owner || !*v || (*v)->digest != d.digest)
    return Status::NotFound("no longer in the registry (removed after the job was submitted)");
  auto manifest = api::ParseManifest(json::parse((*v)->manifest, nullptr, false));
  if (!manifest) return Status::Internal("stored manifest: " + manifest.error().message());
  if (state.config.cache_servers.empty())
    return Status::Unavailable("this server has no kumo cache (kumo server --cache HOST:PORT)");
  const std::string prefix = DatasetKeyPrefix((*owner)->project, d.name);
  auto cache =
      ServerDatasetReader(state, (*owner)->project, d.name, state.config.cache_token_ttl_s);
  if (!cache) return cache.error();
  auto store = OpenNodeStore(state.config.data_dir);
  if (!store) return store.error();
  const std::string tmp = store->TempPath();
  Status s = client::FetchVersion(**cache, kDatasetBucket, prefix, *manifest, tmp, &*store,
                                  kFetchParallel, [](uint64_t, bool) {});
  if (s.ok() && ::rename(tmp.c_str(), dir.c_str()) == 0) return SealTree(dir);
  if (s.ok() && errno != EEXIST && errno != ENOTEMPTY)
    s = Status::IoError(dir + ": " + std::strerror(errno));
  std::error_code ec;  // failed, or another attempt's tree won the rename: this one goes
  fs::remove_all(tmp, ec);
  return s;
}

}  // namespace

Status PinDatasets(ServerState& state, api::JobSpec& spec) {
  DatasetStore datasets(*state.store);
  for (size_t i = 0; i < spec.datasets.size(); ++i) {
    api::DatasetRef& d = spec.datasets[i];
    auto found = datasets.Get(d.name);
    if (!found) return found.error();
    if (!*found)
      return Status::InvalidArgument(Field(i, "name") + ": no dataset \"" + d.name + "\"");
    const DatasetRec& rec = **found;
    if (rec.project != spec.project && !rec.grants.count(spec.project))
      return Status::PermissionDenied(Field(i, "name") + ": project \"" + spec.project +
                                      "\" may not read dataset \"" + d.name +
                                      "\" (owned by project \"" + rec.project + "\")");
    auto v = datasets.Version(d.name, d.version);
    if (!v) return v.error();
    if (!*v)
      return Status::InvalidArgument(
          d.version ? Field(i, "version") + ": dataset \"" + d.name + "\" has no version " +
                          std::to_string(d.version)
                    : Field(i, "name") + ": dataset \"" + d.name + "\" has no version yet");
    d.version = (*v)->version;
    d.digest = (*v)->digest;
  }
  return Status::Ok();
}

json PinsJson(const api::JobSpec& spec) {
  json pins = json::array();
  for (const auto& d : spec.datasets)
    pins.push_back({{"name", d.name}, {"version", d.version}, {"digest", d.digest}});
  return pins;
}

Status ApplyPins(const json& pins, api::JobSpec& spec) {
  // NULL (jobs stored before migration 5, or without datasets) parses as discarded.
  if (spec.datasets.empty() && (pins.is_discarded() || pins.is_null() || pins.empty()))
    return Status::Ok();
  if (!pins.is_array() || pins.size() != spec.datasets.size())
    return Status::Internal("stored dataset pins do not match spec.datasets");
  for (size_t i = 0; i < pins.size(); ++i) {
    const json& p = pins[i];
    if (!p.is_object() || p.value("name", "") != spec.datasets[i].name ||
        !p.value("version", json()).is_number_integer() || !p.value("digest", json()).is_string())
      return Status::Internal("stored dataset pin " + std::to_string(i) + " is malformed");
    spec.datasets[i].version = p["version"].get<int64_t>();
    spec.datasets[i].digest = p["digest"].get<std::string>();
  }
  return Status::Ok();
}

Result<client::NodeStore> OpenNodeStore(const std::string& data_dir) {
  client::NodeStore::Options options;
  options.linked_trees = {data_dir + "/datasets"};
  return client::NodeStore::Open(data_dir + "/node-store", options);
}

Result<client::NodeStore::Recovery> RecoverNodeStore(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::exists(data_dir + "/node-store", ec)) return client::NodeStore::Recovery();
  auto store = OpenNodeStore(data_dir);
  if (!store) return Error(store.error());
  const client::NodeStore::Recovery& r = store->recovery();
  if (r.recovered)
    std::fprintf(stderr,
                 "kumo server: node store recovered (its record named another boot, or "
                 "none): %lld objects hashed, %lld removed; %lld dataset trees and %lld temp "
                 "entries removed\n",
                 static_cast<long long>(r.objects_hashed),
                 static_cast<long long>(r.objects_dropped),
                 static_cast<long long>(r.trees_removed),
                 static_cast<long long>(r.temps_removed));
  return r;
}

std::string DatasetDir(const std::string& data_dir, const std::string& digest) {
  std::string_view hex = digest;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  return data_dir + "/datasets/" + std::string(hex);
}

Status MaterializeDatasets(ServerState& state, const api::JobSpec& spec) {
  {
    std::shared_lock<std::shared_mutex> lock(state.node_store_mu);
    for (const auto& d : spec.datasets) {
      const std::string dir = DatasetDir(state.config.data_dir, d.digest);
      std::error_code ec;
      // A tree that exists is complete (trees appear by rename only); its mtime says when a
      // job last got it, for the node store's LRU (node_store_gc.h).
      if (fs::is_directory(dir, ec)) {
        ::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);
        continue;
      }
      fs::create_directories(state.config.data_dir + "/datasets", ec);
      Status s = ec ? Status::IoError(ec.message()) : Materialize(state, d, dir);
      if (!s.ok())
        return Status(s.code(), "dataset " + Label(d) + " (" + d.digest + "): " + s.message());
    }
  }
  if (!spec.datasets.empty() && state.config.node_store_max_bytes > 0) CollectUnused(state);
  return Status::Ok();
}

void CollectUnused(ServerState& state) {
  // Skipped, not waited for, while a version is being fetched or linked (the stager holds the
  // lock shared for a whole cold fetch): the scheduling loop's thread calls this at a start and
  // must not stop for minutes. The next materialisation collects.
  std::unique_lock<std::shared_mutex> exclusive(state.node_store_mu, std::try_to_lock);
  if (!exclusive.owns_lock()) return;
  std::set<std::string> in_use;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    for (const auto& [id, job] : state.jobs)
      if (job.phase == JobPhase::kPending || job.phase == JobPhase::kRunning ||
          job.phase == JobPhase::kTerminating)
        for (const auto& d : job.spec.datasets)
          in_use.insert(fs::path(DatasetDir("", d.digest)).filename().string());
  }
  auto u = CollectNodeStore(state.config.data_dir, state.config.node_store_max_bytes, in_use);
  if (!u) {
    std::fprintf(stderr, "kumo server: node store collection: %s\n", u.error().message().c_str());
  } else if (u->trees_removed > 0 || u->objects_removed > 0) {
    std::fprintf(stderr,
                 "kumo server: node store %lld -> %lld bytes (cap %lld): %d dataset trees and "
                 "%lld objects removed\n",
                 static_cast<long long>(u->bytes_before), static_cast<long long>(u->bytes_after),
                 static_cast<long long>(state.config.node_store_max_bytes), u->trees_removed,
                 static_cast<long long>(u->objects_removed));
  }
}

}  // namespace kumo::server

namespace kumo::server {

const char* const kLegacyDatasetsMessage =
    "spec.datasets uses the form removed with the dataset registry ({name: NAME@LABEL, path: "
    "DIR}: a local directory, neither pinned nor read-only); resubmit it with {name, version, "
    "mountPath} naming a pushed dataset (docs/datasets.md)";

std::optional<std::string> LegacyDatasetsFree(const std::string& spec_yaml) {
  try {
    YAML::Node doc = YAML::Load(spec_yaml);
    YAML::Node spec = doc.IsMap() ? doc["spec"] : YAML::Node();
    YAML::Node datasets = spec.IsMap() ? spec["datasets"] : YAML::Node();
    if (!datasets.IsSequence()) return std::nullopt;
    bool legacy = false;
    for (const YAML::Node& d : datasets) legacy = legacy || (d.IsMap() && d["path"]);
    if (!legacy) return std::nullopt;
    spec.remove("datasets");
    YAML::Emitter out;
    out << doc;
    return std::string(out.c_str());
  } catch (const YAML::Exception&) {
    return std::nullopt;  // not YAML at all: the parser's own error says so
  }
}

void EndUnsupportedJobs(ServerState& state, double now) {
  for (auto& [id, job] : state.jobs) {
    if (job.spec_unsupported.empty()) continue;
    if (job.phase == JobPhase::kPending) {
      job.phase = JobPhase::kFailed;
      job.reason = "SpecUnsupported";
      job.message = job.spec_unsupported;
      job.end_time = now;
      state.AddEvent(&job, JobObjectName(id), "Failed", job.reason, job.message, now);
      state.SaveJob(job);
    } else if ((job.phase == JobPhase::kRunning || job.phase == JobPhase::kTerminating) &&
               !job.cancel_requested) {
      job.cancel_requested = true;
      state.AddEvent(&job, JobObjectName(id), "Cancelling", "SpecUnsupported",
                     job.spec_unsupported + "; its running attempt is cancelled", now);
      state.SaveJob(job);
    }
  }
  state.dirty = true;
}

}  // namespace kumo::server
