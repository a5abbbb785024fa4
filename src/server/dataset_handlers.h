// DatasetHandlers: the /v1/datasets API (docs/datasets.md, docs/api.md).
//
// A dataset is a name owned by one project, with numbered immutable versions. The server keeps
// the metadata (DatasetStore); the bytes are objects in kumo cache, bucket "datasets", key
// "<project>/<name>/<sha256 of the bytes>", so a file that did not change between versions is
// one object, and a client that finds the object already there (HEAD) does not send it again —
// which also makes an interrupted push resumable. The server never carries the bytes: it hands
// out short-lived cache tokens (CacheTokenIssuer) scoped to the key prefix
// "datasets/<project>/<name>/" — read for the owner and granted projects, read-write for the
// owner — so the cache refuses (403) everyone else, exactly as the server does. Write tokens
// carry sha256_keys (cache/auth/auth.h): the cache stores an upload only when its bytes hash
// to the SHA-256 its key ends in, so no writer can put other bytes under a version's objects.
//
//   GET    /v1/datasets                         the datasets this user may read
//   GET    /v1/datasets/NAME                    owner, grants, versions
//   GET    /v1/datasets/NAME/versions/V|latest  one version: manifest, digest, a read token
//   POST   /v1/datasets/NAME/uploads            {project?} -> a read-write token (owner only)
//   POST   /v1/datasets/NAME/versions           {project?, files} -> version N (201), or the
//                                               latest when it has the same digest (200)
//   DELETE /v1/datasets/NAME/versions/V[?force=true]   refused (409) while a Result names the
//                                               version's digest, unless an admin forces it
//   POST   /v1/datasets/NAME/grants             {project}: that project may read
//   GET    /v1/cache/jwks                       the public key the cache trusts
//
// A new version is accepted only when every object its manifest names is in the cache with the
// size it claims (the server checks with HEAD requests), so a version never names bytes that
// were not uploaded. Writes to datasets are serialised by one mutex (version numbers are
// consecutive) and answered after their commit.
//
// Thread safety: Route may be called from any number of connection threads.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "cache/client/client.h"
#include "http/http.h"
#include "server/dataset_store.h"
#include "server/records.h"

namespace kumo::server {

struct ServerState;

inline constexpr char kDatasetBucket[] = "datasets";

// "team-a/mnist/": the key prefix of a dataset's objects in kDatasetBucket.
inline std::string DatasetKeyPrefix(const std::string& project, const std::string& name) {
  return project + "/" + name + "/";
}

// A cache client that reads the objects of dataset `name` (owned by `project`), with a token the
// server mints for itself, valid ttl_s seconds: for checking uploads and materialising versions.
Result<std::unique_ptr<cache::CacheClient>> ServerDatasetReader(ServerState& state,
                                                                const std::string& project,
                                                                const std::string& name,
                                                                int64_t ttl_s);

class DatasetHandlers {
 public:
  explicit DatasetHandlers(ServerState& state);
  // The answer for /v1/datasets... and /v1/cache/...; nullopt when `p` (the path words after
  // "v1") names neither.
  std::optional<http::Response> Route(const UserRec& user, const std::vector<std::string>& p,
                                      const http::Request& req);

 private:
  http::Response List(const UserRec& user);
  http::Response Describe(const UserRec& user, const std::string& name);
  http::Response GetVersion(const UserRec& user, const std::string& name,
                            const std::string& version);
  http::Response StartUpload(const UserRec& user, const std::string& name,
                             const http::Request& req);
  http::Response CreateVersion(const UserRec& user, const std::string& name,
                               const http::Request& req);
  http::Response RemoveVersion(const UserRec& user, const std::string& name,
                               const std::string& version, const http::Request& req);
  http::Response Grant(const UserRec& user, const std::string& name, const http::Request& req);

  // The project a write to `name` goes to: the owner when the dataset exists (a different
  // `requested` is a 409), else `requested`, else the user's only project. *found is set to
  // the dataset (nullopt: a new one). On failure the answer is in *denied.
  // REQUIRES: write_mu_ held.
  std::optional<std::string> WriteProject(const UserRec& user, const std::string& name,
                                          const std::string& requested,
                                          std::optional<DatasetRec>* found,
                                          http::Response* denied);
  // {"servers", "bucket", "prefix", "token", "expiresAt"} for `project`/`name`.
  std::optional<nlohmann::json> CacheAccess(const std::string& principal,
                                            const std::string& project, const std::string& name,
                                            bool write, http::Response* denied);
  // InvalidArgument naming the first object of `files` that the cache lacks or holds with
  // another size.
  Status CheckObjectsUploaded(const std::string& project, const std::string& name,
                              const std::vector<std::pair<std::string, int64_t>>& objects);

  ServerState& state_;
  DatasetStore store_;
  std::mutex write_mu_;  // one dataset write at a time: version numbers stay consecutive
};

}  // namespace kumo::server
