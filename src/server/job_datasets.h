// The datasets a job reads (spec.datasets; docs/datasets.md "Datasets in jobs").
//
// At submit the server pins each one: the version the spec names, or the latest then, and that
// version's manifest digest. The pin is stored with the job (jobs.datasets) and never moves, so
// a push after submit changes nothing the job sees, and every attempt's Result names the same
// digests (which is what makes `kumo dataset rm` refuse a version a Result names).
//
// When an attempt starts, each pinned version is materialised on the node, off the scheduling
// loop's lock: its files are fetched from kumo cache into the node's content-addressed store
// (DATA_DIR/node-store, client/node_store.h: read-only objects, shared by every job) and the
// version's tree is made of hard links to them in DATA_DIR/datasets/<hex of the digest>. A
// tree is built under a temp name and renamed into place whole, so a tree that exists is
// complete, and jobs reading the same version share it. Tasks find it in KUMO_DATASET_<NAME>.
//
// After a machine crash a tree may hold a torn object's inode (the store syncs nothing within a
// boot; node_store.h). So the store is opened with DATA_DIR/datasets as its linked trees, and
// the server opens it at start-up (RecoverNodeStore), before any job is given a tree: in a new
// boot every tree goes with the store's recovery, and the next start of a job reading it links
// it again from the verified objects. A tree is never verified file by file: that would need
// its manifest, and re-linking moves no bytes. Nothing reads a tree across a reboot: every task
// died with the machine.
//
// Thread safety: only CollectUnused (and so MaterializeDatasets, with a node-store cap) takes
// ServerState::mu, briefly; call none of them holding it. They may run on any thread,
// concurrently (materialising the same version twice is harmless: one rename wins).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/job_spec.h"
#include "base/status.h"
#include "client/node_store.h"

namespace kumo::server {

struct ServerState;

// Pins spec.datasets in place (version and digest). kInvalidArgument names the field of a
// dataset or version that does not exist; kPermissionDenied: `spec.project` may not read one
// (it neither owns the dataset nor was granted it).
Status PinDatasets(ServerState& state, api::JobSpec& spec);

// The pins as stored in jobs.datasets ([{name, version, digest}], by spec order), and back onto
// a reparsed spec. ApplyPins fails when the stored pins do not match the spec's datasets.
nlohmann::json PinsJson(const api::JobSpec& spec);
Status ApplyPins(const nlohmann::json& pins, api::JobSpec& spec);

// Jobs stored before the registry (schema < 5) name datasets as `{name: mnist@v1, path: DIR}`:
// a free-text label and a local directory, nothing pinned or read-only. That form no longer
// parses, and one such job must not stop the server from loading all the others.
//
// LegacyDatasetsFree: `spec_yaml` with spec.datasets left out when some entry has that form (a
// `path` field), so the job's record and history still load; nullopt otherwise (the spec is
// not of that kind: its parse error stands).
std::optional<std::string> LegacyDatasetsFree(const std::string& spec_yaml);
// Why such a job cannot run: what the caller records in JobRec::spec_unsupported.
extern const char* const kLegacyDatasetsMessage;
// At start-up, after the running tasks were reconciled: a Pending job whose spec is unsupported
// fails now; a Running or Terminating one is cancelled (its current tasks may have read the old
// directory; no new attempt can). Each gets an event saying why. REQUIRES: state.mu held.
void EndUnsupportedJobs(ServerState& state, double now);

// DATA_DIR/node-store, opened as every server-side use opens it (its linked trees are
// DATA_DIR/datasets/*).
Result<client::NodeStore> OpenNodeStore(const std::string& data_dir);
// At start-up, before the scheduling loop or the stager runs: opens the node store, which
// recovers it (and removes the dataset trees) when it was last consistent in another boot, and
// logs what recovery did, and returns it. A data dir without a node store has no trees either
// (trees are built in the store's tmp): nothing to do, an empty Recovery.
Result<client::NodeStore::Recovery> RecoverNodeStore(const std::string& data_dir);

// DATA_DIR/datasets/<hex>: where the version with manifest digest `digest` is materialised.
std::string DatasetDir(const std::string& data_dir, const std::string& digest);

// Materialises every pinned dataset of `spec` (see above). Fails naming the dataset when the
// cache is unreachable or its bytes do not match the manifest; nothing partial is left where a
// tree is looked for. REQUIRES: the spec's datasets are pinned.
Status MaterializeDatasets(ServerState& state, const api::JobSpec& spec);
// With ServerConfig::node_store_max_bytes set, MaterializeDatasets ends with this: the node
// store is collected down to the cap, keeping every version a pending, running or terminating
// job reads (node_store_gc.h). Errors are logged, not returned (the job has its data). Skipped
// while another thread fetches or links a version (never waits for a fetch: the scheduling loop
// calls it). Takes state.mu briefly; REQUIRES: the caller does not hold it.
void CollectUnused(ServerState& state);

}  // namespace kumo::server
