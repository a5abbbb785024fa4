// DatasetStore: the SQL of datasets, their versions and grants (tables in store/store.cc,
// migration 2). The manifests' bytes live in kumo cache; these rows are the metadata: who owns
// a dataset, which projects may read it, and each version's canonical manifest and digest.
//
// Writes are returned as statements for the caller to commit with store::Store::Write (so the
// version row and the counter that numbers it commit together); reads go through the store's
// read connection and see committed rows only.
//
// Thread safety: the statement builders are pure; reads may run on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace kumo::server {

struct DatasetRec {
  std::string name, project, created_by;  // project: the owner
  double created_at = 0;                  // seconds since the epoch
  int64_t next_version = 1;               // the number the next push gets
  std::set<std::string> grants;           // projects that may read
};

struct DatasetVersionRec {
  std::string name;
  int64_t version = 0;
  std::string digest;    // "sha256:..." of the canonical manifest: the version's identity
  std::string manifest;  // canonical JSON; empty when not asked for
  int64_t files = 0, bytes = 0;
  std::string created_by;
  double created_at = 0;
};

class DatasetStore {
 public:
  explicit DatasetStore(store::Store& store) : store_(store) {}

  static store::Statement Create(const DatasetRec& d);
  // Inserts `v` and sets the dataset's next_version past it.
  static std::vector<store::Statement> AddVersion(const DatasetVersionRec& v);
  static store::Statement Grant(const std::string& name, const std::string& project);
  static store::Statement RemoveVersion(const std::string& name, int64_t version);

  // nullopt: no such dataset.
  Result<std::optional<DatasetRec>> Get(const std::string& name);
  Result<std::vector<DatasetRec>> List();
  // Every version of `name`, oldest first, without manifests.
  Result<std::vector<DatasetVersionRec>> Versions(const std::string& name);
  // One version with its manifest; version 0 means the latest. nullopt: no such version.
  Result<std::optional<DatasetVersionRec>> Version(const std::string& name, int64_t version);
  // Result records (job attempts) that name `digest` (their provenance lists the dataset
  // versions they read).
  Result<int64_t> ResultsReferencing(const std::string& digest);

 private:
  Status LoadGrants(std::vector<DatasetRec>& datasets);

  store::Store& store_;
};

}  // namespace kumo::server
