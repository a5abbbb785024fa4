#include "server/dataset_store.h"

#include <map>

namespace kumo::server {
using store::AsDouble;
using store::AsInt;
using store::AsString;

namespace {

constexpr char kVersionColumns[] =
    "name, version, digest, files, bytes, created_by, created_at";

DatasetVersionRec VersionFromRow(const store::Row& r) {
  return {AsString(r[0]), AsInt(r[1]), AsString(r[2]), "", AsInt(r[3]), AsInt(r[4]),
          AsString(r[5]), AsDouble(r[6])};
}

}  // namespace

store::Statement DatasetStore::Create(const DatasetRec& d) {
  return {"INSERT INTO datasets(name, project, created_by, created_at, next_version) "
          "VALUES(?1, ?2, ?3, ?4, ?5)",
          {d.name, d.project, d.created_by, d.created_at, d.next_version}};
}

std::vector<store::Statement> DatasetStore::AddVersion(const DatasetVersionRec& v) {
  return {{"INSERT INTO dataset_versions(name, version, digest, manifest, files, bytes, "
           "created_by, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
           {v.name, v.version, v.digest, v.manifest, v.files, v.bytes, v.created_by,
            v.created_at}},
          {"UPDATE datasets SET next_version = MAX(next_version, ?2 + 1) WHERE name = ?1",
           {v.name, v.version}}};
}

store::Statement DatasetStore::Grant(const std::string& name, const std::string& project) {
  return {"INSERT OR IGNORE INTO dataset_grants(name, project) VALUES(?1, ?2)", {name, project}};
}

store::Statement DatasetStore::RemoveVersion(const std::string& name, int64_t version) {
  return {"DELETE FROM dataset_versions WHERE name = ?1 AND version = ?2", {name, version}};
}

Result<std::optional<DatasetRec>> DatasetStore::Get(const std::string& name) {
  std::vector<DatasetRec> found;
  Status s = store_.Query(
      "SELECT name, project, created_by, created_at, next_version FROM datasets WHERE name = ?1",
      {name}, [&](const store::Row& r) {
        found.push_back({AsString(r[0]), AsString(r[1]), AsString(r[2]), AsDouble(r[3]),
                         AsInt(r[4]), {}});
      });
  if (s.ok()) s = LoadGrants(found);
  if (!s.ok()) return Error(s);
  if (found.empty()) return std::optional<DatasetRec>();
  return std::optional<DatasetRec>(std::move(found[0]));
}

Result<std::vector<DatasetRec>> DatasetStore::List() {
  std::vector<DatasetRec> out;
  Status s = store_.Query(
      "SELECT name, project, created_by, created_at, next_version FROM datasets ORDER BY name", {},
      [&](const store::Row& r) {
        out.push_back({AsString(r[0]), AsString(r[1]), AsString(r[2]), AsDouble(r[3]),
                       AsInt(r[4]), {}});
      });
  if (s.ok()) s = LoadGrants(out);
  if (!s.ok()) return Error(s);
  return out;
}

Status DatasetStore::LoadGrants(std::vector<DatasetRec>& datasets) {
  if (datasets.empty()) return Status::Ok();
  std::map<std::string, DatasetRec*> by_name;
  for (auto& d : datasets) by_name[d.name] = &d;
  return store_.Query("SELECT name, project FROM dataset_grants", {}, [&](const store::Row& r) {
    auto it = by_name.find(AsString(r[0]));
    if (it != by_name.end()) it->second->grants.insert(AsString(r[1]));
  });
}

Result<std::vector<DatasetVersionRec>> DatasetStore::Versions(const std::string& name) {
  std::vector<DatasetVersionRec> out;
  Status s = store_.Query(std::string("SELECT ") + kVersionColumns +
                              " FROM dataset_versions WHERE name = ?1 ORDER BY version",
                          {name}, [&](const store::Row& r) { out.push_back(VersionFromRow(r)); });
  if (!s.ok()) return Error(s);
  return out;
}

Result<std::optional<DatasetVersionRec>> DatasetStore::Version(const std::string& name,
                                                               int64_t version) {
  std::optional<DatasetVersionRec> out;
  std::string sql = std::string("SELECT ") + kVersionColumns +
                    ", manifest FROM dataset_versions WHERE name = ?1 " +
                    (version == 0 ? "AND ?2 = 0 ORDER BY version DESC LIMIT 1" : "AND version = ?2");
  // Both forms use ?2 (the latest: "?2 = 0"), so one parameter list serves.
  Status s = store_.Query(sql, {name, version}, [&](const store::Row& r) {
    out = VersionFromRow(r);
    out->manifest = AsString(r[7]);
  });
  if (!s.ok()) return Error(s);
  return out;
}

Result<int64_t> DatasetStore::ResultsReferencing(const std::string& digest) {
  int64_t n = 0;
  // A digest is 71 characters of [0-9a-f:sha]: it cannot match by accident inside other text.
  Status s = store_.Query("SELECT COUNT(*) FROM results WHERE instr(record, ?1) > 0", {digest},
                          [&](const store::Row& r) { n = AsInt(r[0]); });
  if (!s.ok()) return Error(s);
  return n;
}

}  // namespace kumo::server
