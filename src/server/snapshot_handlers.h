// SnapshotHandlers: the /v1/snapshots API — how `kumo submit` uploads its submit directory as an
// immutable code snapshot (snapshot_store.h) before naming it in the submission
// (X-Kumo-Snapshot: sha256:...).
//
//   GET  /v1/snapshots                 {"maxBytes": N}: the cap, so a client can refuse early
//   POST /v1/snapshots                 {files} -> 201 {digest, files, bytes} once the caller has
//                                      sent every blob, else 200 {digest, missing: [sha256...]}
//   PUT  /v1/snapshots/blobs/SHA256    the bytes of one file (201; 400 when they hash otherwise)
//   GET  /v1/snapshots/sha256:HEX      the manifest, to the user who recorded it (and admins)
//
// Thread safety: Route may be called from any number of connection threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "server/records.h"

namespace kumo::server {

class SnapshotStore;

class SnapshotHandlers {
 public:
  explicit SnapshotHandlers(SnapshotStore& store) : store_(store) {}
  // nullopt when `p` (the path words after "v1") is not /snapshots...
  std::optional<http::Response> Route(const UserRec& user, const std::vector<std::string>& p,
                                      const http::Request& req);

 private:
  http::Response Create(const UserRec& user, const http::Request& req);

  SnapshotStore& store_;
};

}  // namespace kumo::server
