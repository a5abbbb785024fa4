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
// Thread safety: the functions touch no ServerState field guarded by mu; they may run on any
// thread, concurrently (materialising the same version twice is harmless: one rename wins).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/job_spec.h"
#include "base/status.h"

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

// DATA_DIR/datasets/<hex>: where the version with manifest digest `digest` is materialised.
std::string DatasetDir(const std::string& data_dir, const std::string& digest);

// Materialises every pinned dataset of `spec` (see above). Fails naming the dataset when the
// cache is unreachable or its bytes do not match the manifest; nothing partial is left where a
// tree is looked for. REQUIRES: the spec's datasets are pinned.
Status MaterializeDatasets(ServerState& state, const api::JobSpec& spec);

}  // namespace kumo::server
