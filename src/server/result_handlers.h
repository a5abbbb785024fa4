// ResultHandlers: a job's outputs over the API, so `kumo cp` works from any machine that can
// reach the server (no shared paths):
//
//   GET /v1/jobs/ID/outputs[?attempt=N]                 {"attempt", "files": [{path, size}]}
//   GET /v1/jobs/ID/outputs/PATH?offset=O[&attempt=N]   bytes [O, O + 8 MiB) of the file,
//                                                       X-Kumo-Size: its whole size
//
// The attempt defaults to the job's latest. A file is answered in pieces of at most
// kOutputChunkBytes, which the client asks for one after another: the server holds one piece in
// memory, never the file. Outputs are written by the task, so nothing in them is trusted: a path
// must be a manifest path (no "..", no empty segment), symlinks are not listed, and a file is
// opened without following a final symlink and then checked (through /proc/self/fd) to lie
// inside the attempt's output directory.
//
// Thread safety: Route may be called from any number of connection threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "server/records.h"

namespace kumo::server {

struct ServerState;

inline constexpr int64_t kOutputChunkBytes = int64_t{8} << 20;

class ResultHandlers {
 public:
  explicit ResultHandlers(ServerState& state) : state_(state) {}
  // nullopt when `p` (the path words after "v1") is not /jobs/ID/outputs...
  std::optional<http::Response> Route(const UserRec& user, const std::vector<std::string>& p,
                                      const http::Request& req);

 private:
  // The attempt's output directory when `user` may see job `id`; else the answer in *denied.
  std::optional<std::string> OutputDir(const UserRec& user, int64_t id, const http::Request& req,
                                       int32_t* attempt, http::Response* denied);
  http::Response List(const std::string& dir, int32_t attempt);
  http::Response Read(const std::string& dir, const std::string& path, const http::Request& req);

  ServerState& state_;
};

}  // namespace kumo::server
