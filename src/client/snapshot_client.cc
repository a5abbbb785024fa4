#include "client/snapshot_client.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "api/dataset_manifest.h"
#include "base/sha256.h"
#include "client/code_version.h"
#include "client/dataset_client.h"
#include "client/format.h"

namespace kumo::client {
using nlohmann::json;

namespace {

// The files of the snapshot, by path relative to `dir`.
Result<std::vector<LocalFile>> ListSnapshotFiles(const std::string& dir,
                                                 std::vector<std::string>* skipped) {
  auto listed = RunExact(dir, {"git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"});
  if (!listed) return ListTree(dir, skipped);  // not a git work tree (or no git)
  std::vector<LocalFile> out;
  std::string_view rest = *listed;
  while (!rest.empty()) {
    size_t nul = rest.find('\0');
    std::string rel(rest.substr(0, nul));
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
    struct stat st;
    std::string abs = dir + "/" + rel;
    if (::lstat(abs.c_str(), &st) != 0) continue;  // tracked but deleted
    if (!S_ISREG(st.st_mode)) {
      skipped->push_back(rel);
      continue;
    }
    if (!out.empty() && out.back().path == rel) continue;  // listed as cached and as other
    out.push_back({rel, abs, static_cast<int64_t>(st.st_size), (st.st_mode & S_IXUSR) != 0});
  }
  return out;
}

std::string TooBig(const std::string& dir, std::vector<LocalFile> files, int64_t total,
                   int64_t cap) {
  std::sort(files.begin(), files.end(), [](const LocalFile& a, const LocalFile& b) {
    return a.size_bytes > b.size_bytes;
  });
  std::string msg = "snapshot of " + dir + ": " + FormatBytes(total) + " in " +
                    std::to_string(files.size()) + " files is over the server's cap of " +
                    FormatBytes(cap) + "; largest:";
  for (size_t i = 0; i < files.size() && i < 3; ++i)
    msg += " " + files[i].path + " (" + FormatBytes(files[i].size_bytes) + ")";
  return msg + ". List them in .gitignore; data belongs in a dataset (kumo dataset push)";
}

Result<json> Answer(Result<ApiResponse> r, const std::string& what) {
  if (!r) return Error(r.error());
  if (r->ok()) return r->body;
  StatusCode code = r->status == 413 ? StatusCode::kResourceExhausted : StatusCode::kInternal;
  return Error(Status(code, what + ": " + r->ErrorMessage()));
}

}  // namespace

Result<SnapshotInfo> UploadSnapshot(ApiClient& api, const std::string& dir) {
  SnapshotInfo info;
  auto files = ListSnapshotFiles(dir, &info.skipped);
  if (!files) return Error(files.error());
  auto limits = Answer(api.Call("GET", "/v1/snapshots"), "snapshot");
  if (!limits) return Error(limits.error());
  int64_t cap = (*limits)["maxBytes"].get<int64_t>(), total = 0;
  for (const auto& f : *files) total += f.size_bytes;
  if (total > cap) return Error(Status::ResourceExhausted(TooBig(dir, *files, total, cap)));

  std::vector<std::string> bytes;
  json manifest = json::array();
  std::map<std::string, size_t> by_sha;  // sha256 -> index into bytes
  for (const auto& f : *files) {
    std::ifstream in(f.abs, std::ios::binary);
    if (!in) continue;  // vanished after the listing
    std::stringstream ss;
    ss << in.rdbuf();
    std::string sha = Sha256Hex(ss.str());
    json entry = {{"path", f.path}, {"size", ss.str().size()}, {"sha256", sha}};
    if (f.executable) entry["executable"] = true;
    manifest.push_back(std::move(entry));
    info.bytes += static_cast<int64_t>(ss.str().size());
    if (by_sha.emplace(sha, bytes.size()).second) bytes.push_back(ss.str());
  }
  info.files = static_cast<int64_t>(manifest.size());
  std::string body = json{{"files", manifest}}.dump();
  auto created = Answer(api.Call("POST", "/v1/snapshots", body), "snapshot of " + dir);
  if (!created) return Error(created.error());
  for (const auto& sha : (*created)["missing"]) {
    auto it = by_sha.find(sha.get<std::string>());
    if (it == by_sha.end()) return Error(Status::Internal("the server asked for an unknown blob"));
    const std::string& b = bytes[it->second];
    auto put = Answer(api.Call("PUT", "/v1/snapshots/blobs/" + it->first, b,
                               {{"Content-Type", "application/octet-stream"}}),
                      "snapshot blob");
    if (!put) return Error(put.error());
    info.uploaded_bytes += static_cast<int64_t>(b.size());
  }
  if (!(*created)["missing"].empty()) {
    created = Answer(api.Call("POST", "/v1/snapshots", body), "snapshot of " + dir);
    if (!created) return Error(created.error());
  }
  info.digest = (*created)["digest"].get<std::string>();
  return info;
}

}  // namespace kumo::client
