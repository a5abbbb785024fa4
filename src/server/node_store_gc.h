// Keeps the node's dataset bytes under a size cap (ServerConfig::node_store_max_bytes).
//
// What is on the node (job_datasets.h): DATA_DIR/node-store/objects/<aa>/<sha256>, each object
// once, and DATA_DIR/datasets/<hex digest>/..., one tree per materialised version, made of hard
// links to the objects. So an object's link count says how many trees use it: 1 means only the
// store holds it, and removing it frees its bytes.
//
// Collect removes whole trees — never one a live job reads (`in_use`), least recently used
// first (a tree's mtime, which MaterializeDatasets sets each time a job is given it) — until
// the store's bytes are at most the cap, then every object no tree links any more. A tree whose
// files are all shared with other trees frees nothing by itself; it still goes (it is unused,
// and the tree that shares them may go next). Trees in use are kept even if the cap cannot be
// met then; the next collection tries again.
//
// Worked example: cap 100 MB; trees A (60 MB, used 3 days ago), B (50 MB, yesterday, 10 MB of
// it shared with A), C (40 MB, in use): store = 60 + 40 + 40 = 140 MB. A goes first: its files
// with link count 2 (store + A) are 50 MB, so 90 MB remain (A's 10 MB shared with B stay);
// 90 <= 100, B and C stay.
//
// REQUIRES: nothing builds or links a tree meanwhile (the caller holds ServerState's
// node_store_mu exclusively; MaterializeDatasets holds it shared).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/status.h"

namespace kumo::server {

struct NodeStoreUsage {
  int64_t bytes_before = 0, bytes_after = 0;  // the store's objects, in bytes
  int trees_removed = 0;
  int64_t objects_removed = 0;
};

// `in_use`: hex digests (the tree names) of the versions pending, running or terminating jobs
// read. A missing node store or datasets dir is empty, not an error.
Result<NodeStoreUsage> CollectNodeStore(const std::string& data_dir, int64_t max_bytes,
                                        const std::set<std::string>& in_use);

}  // namespace kumo::server
