#include "api/dataset_manifest.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/sha256.h"

namespace kumo::api {
using nlohmann::json;

namespace {

Status Field(size_t i, const char* field, const std::string& why) {
  return Status::InvalidArgument("files[" + std::to_string(i) + "]." + field + ": " + why);
}

}  // namespace

Status ValidateManifestPath(const std::string& path) {
  if (path.empty() || path.size() > 1024) return Status::InvalidArgument("1..1024 bytes");
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument("contains NUL");
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string_view seg(path.data() + i, j - i);
    if (seg.empty()) return Status::InvalidArgument("empty segment (leading, trailing or //)");
    if (seg == "." || seg == "..") return Status::InvalidArgument("\"" + std::string(seg) + "\" segment");
    i = j + 1;
  }
  return Status::Ok();
}

int64_t DatasetManifest::TotalBytes() const {
  int64_t total = 0;
  for (const auto& f : files) total += f.size_bytes;
  return total;
}

json ManifestJson(const DatasetManifest& m) {
  json files = json::array();
  for (const auto& f : m.files) {
    files.push_back({{"path", f.path}, {"size", f.size_bytes}, {"sha256", f.sha256}});
    if (!f.xxh3.empty()) files.back()["xxh3"] = f.xxh3;
    if (f.executable) files.back()["executable"] = true;
  }
  return {{"files", std::move(files)}};
}

std::string DatasetManifest::Canonical() const { return ManifestJson(*this).dump(); }

std::string DatasetManifest::Digest() const { return "sha256:" + Sha256Hex(Canonical()); }

namespace {

// Entry `i` of the wire form.
Result<ManifestFile> ParseEntry(size_t i, const json& f) {
  if (!f.is_object()) return Error(Field(i, "path", "expected {path, size, sha256}"));
  for (auto& [k, v] : f.items())
    if (k != "path" && k != "size" && k != "sha256" && k != "xxh3" && k != "executable")
      return Error(
          Field(i, k.c_str(), "unknown field (known: path, size, sha256, xxh3, executable)"));
  if (!f.contains("path") || !f["path"].is_string()) return Error(Field(i, "path", "required"));
  ManifestFile e;
  e.path = f["path"].get<std::string>();
  if (Status s = ValidateManifestPath(e.path); !s.ok()) return Error(Field(i, "path", s.message()));
  if (!f.contains("size") || !f["size"].is_number_integer() || f["size"].get<int64_t>() < 0)
    return Error(Field(i, "size", "an integer >= 0 is required"));
  e.size_bytes = f["size"].get<int64_t>();
  if (!f.contains("sha256") || !f["sha256"].is_string() ||
      !IsLowerHex(f["sha256"].get<std::string>(), 64))
    return Error(Field(i, "sha256", "64 lower-case hex digits are required"));
  e.sha256 = f["sha256"].get<std::string>();
  if (f.contains("xxh3")) {
    if (!f["xxh3"].is_string() || !IsLowerHex(f["xxh3"].get<std::string>(), 32))
      return Error(Field(i, "xxh3", "32 lower-case hex digits (XXH3-128) are required"));
    e.xxh3 = f["xxh3"].get<std::string>();
  }
  if (f.contains("executable")) {
    if (!f["executable"].is_boolean()) return Error(Field(i, "executable", "true or false"));
    e.executable = f["executable"].get<bool>();
  }
  return e;
}

// InvalidArgument when two entries name the same bytes (sha256) with another size or checksum:
// one of them cannot be what it says.
Status CheckSameBytesAgree(const std::vector<ManifestFile>& files) {
  std::unordered_map<std::string_view, const ManifestFile*> by_sha;
  for (const auto& f : files) {
    auto [it, fresh] = by_sha.emplace(f.sha256, &f);
    if (!fresh && (it->second->size_bytes != f.size_bytes || it->second->xxh3 != f.xxh3))
      return Status::InvalidArgument("files: \"" + it->second->path + "\" and \"" + f.path +
                                     "\" have one sha256 but another size or xxh3");
  }
  return Status::Ok();
}

}  // namespace

Result<DatasetManifest> ParseManifest(const json& body) {
  if (!body.is_object() || !body.contains("files") || !body["files"].is_array())
    return Error(Status::InvalidArgument("files: expected a list of {path, size, sha256}"));
  const json& files = body["files"];
  if (files.size() > kMaxManifestFiles)
    return Error(Status::InvalidArgument("files: more than " +
                                         std::to_string(kMaxManifestFiles) + " entries"));
  DatasetManifest m;
  m.files.reserve(files.size());
  int64_t total = 0;  // TotalBytes() must not overflow: callers compare it with caps
  for (size_t i = 0; i < files.size(); ++i) {
    auto e = ParseEntry(i, files[i]);
    if (!e) return Error(e.error());
    if (__builtin_add_overflow(total, e->size_bytes, &total))
      return Error(Field(i, "size", "the files' sizes add up past 2^63 - 1 bytes"));
    m.files.push_back(std::move(*e));
  }
  if (Status s = CheckSameBytesAgree(m.files); !s.ok()) return Error(s);
  std::sort(m.files.begin(), m.files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });
  // Sorted, a duplicate is the next entry. A file that is also another's directory ("a" and
  // "a/b") need not be adjacent ("a-b" sorts between them), so ancestors are looked up.
  std::unordered_set<std::string_view> paths;
  for (size_t i = 0; i < m.files.size(); ++i) {
    const std::string& cur = m.files[i].path;
    if (i > 0 && cur == m.files[i - 1].path)
      return Error(Status::InvalidArgument("files: \"" + cur + "\" listed twice"));
    paths.insert(cur);
  }
  for (const auto& f : m.files)
    for (size_t j = f.path.find('/'); j != std::string::npos; j = f.path.find('/', j + 1))
      if (paths.count(std::string_view(f.path).substr(0, j)))
        return Error(Status::InvalidArgument("files: \"" + f.path.substr(0, j) +
                                             "\" is a file and a directory"));
  return m;
}

}  // namespace kumo::api
