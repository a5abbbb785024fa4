#include "client/dataset_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "api/dataset_manifest.h"
#include "base/sha256.h"
#include "cache/client/client.h"
#include "cache/storage/content_hash.h"
#include "client/node_store.h"
#include "client/progress_bar.h"
#include "http/http.h"

namespace kumo::client {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

// Runs fn(i) for i in [0, n) on `parallel` threads; the first error stops the others from
// taking new items and is returned.
Status ForEachParallel(size_t n, int parallel, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (size_t i; !failed.load() && (i = next.fetch_add(1)) < n;) {
      Status s = fn(i);
      if (s.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (!failed.exchange(true)) first = s;
    }
  };
  std::vector<std::thread> threads;
  size_t count = std::min<size_t>(static_cast<size_t>(std::max(parallel, 1)), std::max<size_t>(n, 1));
  for (size_t t = 1; t < count; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return first;
}

// A cache client for the server's {"servers", "token", ...} answer.
Result<std::unique_ptr<cache::CacheClient>> CacheFor(const json& access) {
  if (!access.is_object() || !access.contains("servers") || !access.contains("token"))
    return Error(Status::Internal("the server's answer has no cache access"));
  cache::ClientOptions o;
  o.servers = access["servers"].get<std::vector<std::string>>();
  o.token = access["token"].get<std::string>();
  return cache::CacheClient::Create(o);
}

// The answer's JSON when it is a 2xx, else its error as a Status of the matching kind.
Result<json> Expect(Result<ApiResponse> r, const std::string& what) {
  if (!r) return Error(r.error());
  if (r->ok()) return r->body;
  std::string msg = what + ": " + r->ErrorMessage();
  switch (r->status) {
    case 400: return Error(Status::InvalidArgument(msg));
    case 401: return Error(Status::Unauthenticated(msg));
    case 403: return Error(Status::PermissionDenied(msg));
    case 404: return Error(Status::NotFound(msg));
    case 409: return Error(Status::FailedPrecondition(msg));
    case 503: return Error(Status::Unavailable(msg));
    default: return Error(Status::Internal(msg));
  }
}

}  // namespace

std::pair<std::string, std::string> SplitNameVersion(const std::string& text,
                                                     const std::string& default_version) {
  size_t at = text.find('@');
  if (at == std::string::npos) return {text, default_version};
  return {text.substr(0, at), text.substr(at + 1)};
}

Result<std::vector<LocalFile>> ListTree(const std::string& dir,
                                        std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error(Status::InvalidArgument(dir + ": not a directory"));
  std::vector<LocalFile> out;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (fs::is_directory(st)) {
      if (skipped != nullptr && it->path().filename() == ".git") {
        it.disable_recursion_pending();
        skipped->push_back(rel + "/");
      }
      continue;
    }
    if (!fs::is_regular_file(st) && skipped != nullptr) {
      skipped->push_back(rel);
      continue;
    }
    if (!fs::is_regular_file(st))
      return Error(Status::InvalidArgument(
          it->path().string() + ": not a regular file (symlinks and special files are refused: a "
                                "version must be the same bytes for every reader)"));
    if (Status s = api::ValidateManifestPath(rel); !s.ok())
      return Error(Status::InvalidArgument(it->path().string() + ": " + s.message()));
    bool exec = (st.permissions() & fs::perms::owner_exec) != fs::perms::none;
    out.push_back(
        {rel, it->path().string(), static_cast<int64_t>(fs::file_size(it->path(), ec)), exec});
  }
  if (ec) return Error(Status::IoError(dir + ": " + ec.message()));
  std::sort(out.begin(), out.end(),
            [](const LocalFile& a, const LocalFile& b) { return a.path < b.path; });
  return out;
}

namespace {

// Hands every byte of the file at `path` to `update`, in order.
Status ReadFile(const std::string& path, const std::function<void(std::string_view)>& update) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": " + std::strerror(errno));
  auto buf = std::make_unique_for_overwrite<char[]>(kReadChunkBytes);
  ssize_t n;
  while ((n = ::read(fd, buf.get(), kReadChunkBytes)) > 0)
    update(std::string_view(buf.get(), static_cast<size_t>(n)));
  int err = errno;
  ::close(fd);
  if (n < 0) return Status::IoError(path + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace

Result<FileDigests> DigestFile(const std::string& path) {
  Sha256 sha;
  cache::Xxh3Hasher xxh3;
  Status s = ReadFile(path, [&](std::string_view piece) {
    sha.Update(piece);
    xxh3.Update(piece);
  });
  if (!s.ok()) return Error(s);
  return FileDigests{sha.FinishHex(), xxh3.Hex()};
}

Result<TransferReport> PushDataset(ApiClient& api, const std::string& name,
                                   const std::string& dir, const std::string& project,
                                   const TransferOptions& options) {
  auto files = ListTree(dir);
  if (!files) return Error(files.error());
  json start_body = json::object();
  if (!project.empty()) start_body["project"] = project;
  std::string base = "/v1/datasets/" + http::PercentEncode(name);
  auto started = Expect(api.Call("POST", base + "/uploads", start_body.dump()), "dataset " + name);
  if (!started) return Error(started.error());
  auto cache = CacheFor((*started)["cache"]);
  if (!cache) return Error(cache.error());
  std::string bucket = (*started)["cache"]["bucket"];
  std::string prefix = (*started)["cache"]["prefix"];

  TransferReport report;
  for (const auto& f : *files) report.bytes += static_cast<uint64_t>(f.size_bytes);
  report.files = files->size();
  std::vector<FileDigests> digests(files->size());
  std::atomic<uint64_t> sent_files{0}, sent_bytes{0};
  ProgressBar bar("push " + name, files->size(), report.bytes, options.progress && isatty(2));
  Status s = ForEachParallel(files->size(), options.parallel, [&](size_t i) -> Status {
    const LocalFile& f = (*files)[i];
    auto d = DigestFile(f.abs);
    if (!d) return d.error();
    digests[i] = std::move(*d);
    std::string key = prefix + digests[i].sha256;
    auto st = (*cache)->Stat(bucket, key);
    uint64_t size = static_cast<uint64_t>(f.size_bytes);
    if (st && st->size_bytes == size) {
      bar.Add(1, size, 0);
      return Status::Ok();
    }
    if (!st && st.error().code() != StatusCode::kNotFound)
      return Status(st.error().code(), "kumo cache: " + st.error().message());
    auto put = (*cache)->PutFile(bucket, key, f.abs);
    if (!put) return Status(put.error().code(), f.path + ": kumo cache: " + put.error().message());
    sent_files.fetch_add(1);
    sent_bytes.fetch_add(size);
    bar.Add(1, size, size);
    return Status::Ok();
  });
  bar.Finish();
  if (!s.ok()) return Error(s);
  json manifest = json::array();
  for (size_t i = 0; i < files->size(); ++i)
    manifest.push_back({{"path", (*files)[i].path},
                        {"size", (*files)[i].size_bytes},
                        {"sha256", digests[i].sha256},
                        {"xxh3", digests[i].xxh3}});
  json body = {{"files", std::move(manifest)}};
  if (!project.empty()) body["project"] = project;
  auto version = Expect(api.Call("POST", base + "/versions", body.dump()), "dataset " + name);
  if (!version) return Error(version.error());
  report.version = *version;
  report.moved_files = sent_files.load();
  report.moved_bytes = sent_bytes.load();
  report.seconds = bar.ElapsedSeconds();
  return report;
}

namespace {

// The check of one object against its manifest entry, fed the bytes as they are written.
class ObjectCheck {
 public:
  ObjectCheck(const api::ManifestFile& f, Verify verify)
      : f_(f), fast_(verify == Verify::kFast && !f.xxh3.empty()) {}
  void Update(std::string_view piece) {
    bytes_ += piece.size();
    if (fast_) {
      xxh3_.Update(piece);
    } else {
      sha256_.Update(piece);
    }
  }
  // OK when the bytes seen are the manifest's. REQUIRES: called once.
  Status Finish() {
    const char* what = fast_ ? "xxh3" : "sha256";
    std::string got = fast_ ? xxh3_.Hex() : sha256_.FinishHex();
    const std::string& want = fast_ ? f_.xxh3 : f_.sha256;
    if (got == want && bytes_ == static_cast<uint64_t>(f_.size_bytes)) return Status::Ok();
    return Status::Internal(f_.path + ": the cache's bytes do not match the manifest (" +
                            std::to_string(bytes_) + " bytes, " + what + " " + got + "; want " +
                            std::to_string(f_.size_bytes) + " bytes, " + what + " " + want + ")");
  }

 private:
  const api::ManifestFile& f_;
  bool fast_;
  uint64_t bytes_ = 0;
  cache::Xxh3Hasher xxh3_;
  Sha256 sha256_;
};

// Whether `path` already holds the bytes of `f` (checked as `verify` says).
bool AlreadyThere(const std::string& path, const api::ManifestFile& f, Verify verify) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != f.size_bytes)
    return false;
  ObjectCheck check(f, verify);
  return ReadFile(path, [&](std::string_view piece) { check.Update(piece); }).ok() &&
         check.Finish().ok();
}

// Fetches one object of the manifest into the new file `tmp`, checking the bytes as they land
// in it (one pass: the cache client splices them into the file and hands them over read back,
// so what is checked is what the file holds). On any failure `tmp` is removed.
Status FetchChecked(cache::CacheClient& cache, const std::string& bucket, const std::string& key,
                    const api::ManifestFile& f, const std::string& tmp, Verify verify,
                    mode_t mode) {
  // `mode` applies to later opens: this one may write even a read-only (0444) file it creates.
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError(tmp + ": " + std::strerror(errno));
  // Best effort: the file's blocks reserved in one call instead of page by page as the bytes
  // land (ext4's delayed allocation) took a fifth of a cold pull's CPU (docs/datasets.md).
  // KEEP_SIZE: the file's size stays what was written, so a short download reads as short.
  if (f.size_bytes > 0) (void)::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, f.size_bytes);
  ObjectCheck check(f, verify);
  auto got = cache.GetToFd(bucket, key, fd, [&](std::string_view piece) {
    check.Update(piece);
    return Status::Ok();
  });
  bool closed = ::close(fd) == 0;
  Status s = got ? check.Finish()
                 : Status(got.error().code(), f.path + ": kumo cache: " + got.error().message());
  if (s.ok() && !closed) s = Status::IoError(tmp + ": " + std::strerror(errno));
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

// Fetches one file of the manifest into `path` (through PATH.kumo-partial, renamed into place
// once checked: a failed fetch leaves no file).
Status FetchOne(cache::CacheClient& cache, const std::string& bucket, const std::string& key,
                const api::ManifestFile& f, const std::string& path, Verify verify) {
  std::string tmp = path + ".kumo-partial";
  ::unlink(tmp.c_str());  // left by an interrupted pull
  if (Status s = FetchChecked(cache, bucket, key, f, tmp, verify, 0644); !s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// Fetches the files of `manifest` through the node store: every missing object into the
// store's tmp/, checked; only once all of them are there are the objects adopted and the files
// linked, so a failed fetch adopts nothing. No sync: the store is verified after a machine
// crash instead (node_store.h), and a kill -9 loses nothing the kernel was given.
Status FetchThroughStore(cache::CacheClient& cache, const std::string& bucket,
                         const std::string& prefix, const api::DatasetManifest& manifest,
                         const std::string& dir, NodeStore& store, int parallel,
                         const std::function<void(uint64_t bytes, bool fetched)>& on_file,
                         Verify verify) {
  const size_t n = manifest.files.size();
  std::vector<std::string> tmp(n);  // file i's checked download; empty: in the store already
  Status s = ForEachParallel(n, parallel, [&](size_t i) -> Status {
    const api::ManifestFile& f = manifest.files[i];
    bool fetch = !store.Has(f.sha256, f.size_bytes);
    if (fetch) {
      std::string path = store.TempPath();
      if (Status st = FetchChecked(cache, bucket, prefix + f.sha256, f, path, verify, 0444);
          !st.ok())
        return st;
      tmp[i] = std::move(path);
    }
    on_file(static_cast<uint64_t>(f.size_bytes), fetch);
    return Status::Ok();
  });
  if (!s.ok()) {
    for (const auto& t : tmp)
      if (!t.empty()) ::unlink(t.c_str());
    return s;
  }
  return ForEachParallel(n, parallel, [&](size_t i) -> Status {
    const api::ManifestFile& f = manifest.files[i];
    if (!tmp[i].empty())
      if (Status st = store.Adopt(tmp[i], f.sha256); !st.ok())
        return Status(st.code(), f.path + ": " + st.message());
    return store.LinkTo(f.sha256, dir + "/" + f.path);
  });
}

}  // namespace

Status FetchVersion(cache::CacheClient& cache, const std::string& bucket,
                    const std::string& prefix, const api::DatasetManifest& manifest,
                    const std::string& dir, NodeStore* store, int parallel,
                    const std::function<void(uint64_t bytes, bool fetched)>& on_file,
                    Verify verify) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::set<fs::path> parents;  // each directory once: a stat per file adds up over 10,000
  for (const auto& f : manifest.files) parents.insert(fs::path(f.path).parent_path());
  for (const auto& parent : parents)
    if (!ec && !parent.empty()) fs::create_directories(fs::path(dir) / parent, ec);
  if (ec) return Status::IoError(dir + ": " + ec.message());
  if (store)
    return FetchThroughStore(cache, bucket, prefix, manifest, dir, *store, parallel, on_file,
                             verify);
  return ForEachParallel(manifest.files.size(), parallel, [&](size_t i) -> Status {
    const api::ManifestFile& f = manifest.files[i];
    std::string path = dir + "/" + f.path;
    uint64_t size = static_cast<uint64_t>(f.size_bytes);
    if (AlreadyThere(path, f, verify)) {
      on_file(size, false);
      return Status::Ok();
    }
    if (Status st = FetchOne(cache, bucket, prefix + f.sha256, f, path, verify); !st.ok())
      return st;
    on_file(size, true);
    return Status::Ok();
  });
}

Result<TransferReport> PullDataset(ApiClient& api, const std::string& name,
                                   const std::string& version, const std::string& dir,
                                   const TransferOptions& options) {
  auto v = Expect(api.Call("GET", "/v1/datasets/" + http::PercentEncode(name) + "/versions/" +
                                      http::PercentEncode(version)),
                  "dataset " + name + "@" + version);
  if (!v) return Error(v.error());
  auto manifest = api::ParseManifest((*v)["manifest"]);
  if (!manifest) return Error(Status::Internal("the server's manifest: " + manifest.error().message()));
  if (manifest->Digest() != (*v)["digest"].get<std::string>())
    return Error(Status::Internal("the server's manifest does not hash to its digest"));
  auto cache = CacheFor((*v)["cache"]);
  if (!cache) return Error(cache.error());
  std::string bucket = (*v)["cache"]["bucket"];
  std::string prefix = (*v)["cache"]["prefix"];
  TransferReport report;
  report.version = *v;
  report.version.erase("manifest");
  report.version.erase("cache");
  report.files = manifest->files.size();
  report.bytes = static_cast<uint64_t>(manifest->TotalBytes());
  std::optional<NodeStore> store;
  if (!options.node_store.empty()) {
    auto opened = NodeStore::Open(options.node_store);
    if (!opened) return Error(opened.error());
    store.emplace(std::move(*opened));
  }
  std::atomic<uint64_t> got_files{0}, got_bytes{0};
  ProgressBar bar("pull " + name, report.files, report.bytes, options.progress && isatty(2));
  Status s = FetchVersion(**cache, bucket, prefix, *manifest, dir, store ? &*store : nullptr,
                          options.parallel, [&](uint64_t size, bool fetched) {
                            if (fetched) {
                              got_files.fetch_add(1);
                              got_bytes.fetch_add(size);
                            }
                            bar.Add(1, size, fetched ? size : 0);
                          },
                          options.verify);
  bar.Finish();
  if (!s.ok()) return Error(s);
  report.moved_files = got_files.load();
  report.moved_bytes = got_bytes.load();
  report.seconds = bar.ElapsedSeconds();
  return report;
}

}  // namespace kumo::client
