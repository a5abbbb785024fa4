#include "cache/storage/origin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cache/storage/object_path.h"

namespace kumo::cache {
namespace {

// Closes a descriptor on every return path of the segment walk.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

}  // namespace

Result<std::unique_ptr<Origin>> Origin::Open(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Error(Status::FailedPrecondition("--origin " + dir + ": " + std::strerror(errno)));
  return std::unique_ptr<Origin>(new Origin(fd));
}

Origin::~Origin() { close(dir_fd_); }

StoreStatus Origin::Fetch(std::string_view bucket, std::string_view key, ObjectStore* store) {
  std::string name = std::string(bucket) + "/" + std::string(key);
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = flights_.find(name);
    if (it != flights_.end()) {  // someone is copying it: wait for that copy
      std::shared_ptr<Flight> f = it->second;
      landed_.wait(lock, [&] { return f->done; });
      return f->status;
    }
    // A flight that finished between the caller's miss and here already cached it.
    if (store->Stat(bucket, key)) return StoreStatus();
    flight = std::make_shared<Flight>();
    flights_.emplace(name, flight);
  }
  StoreStatus s = Copy(bucket, key, store);
  if (!s.ok() && s.code() != StatusCode::kNotFound) errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    flight->status = s;
    flight->done = true;
    flights_.erase(name);
  }
  landed_.notify_all();
  return s;
}

StoreStatus Origin::Copy(std::string_view bucket, std::string_view key, ObjectStore* store) {
  // The server validated the name already; checked again because this one turns it into a path.
  if (!IsValidBucket(bucket) || !ValidateKey(key).ok())
    return StoreStatus(Status::NotFound("not a valid object name"));
  // Walk bucket, then each key segment, refusing symlinks at every step (see origin.h).
  std::vector<std::string> segments = {std::string(bucket)};
  for (size_t start = 0;;) {
    size_t slash = key.find('/', start);
    segments.emplace_back(key.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  Fd dir(-1);
  int at = dir_fd_;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    int next = openat(at, segments[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return StoreStatus(Status::NotFound("not in the origin"));
    if (dir.fd >= 0) close(dir.fd);
    dir.fd = next;
    at = next;
  }
  // O_NONBLOCK: a FIFO planted in the origin must not hang the worker in open().
  Fd file(openat(at, segments.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.fd < 0) return StoreStatus(Status::NotFound("not in the origin"));
  struct stat st {};
  if (fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode))
    return StoreStatus(Status::NotFound("not a regular file in the origin"));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  StoreResult<std::unique_ptr<PutWriter>> w = store->BeginPut(bucket, key, size);
  if (!w) return w.error();
  std::string buf(static_cast<size_t>(std::min<uint64_t>(size, 1 << 20)), '\0');
  uint64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    ssize_t n = pread(file.fd, buf.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return StoreStatus(
          Status(StatusCode::kInternal, std::string("origin read: ") + std::strerror(errno)));
    if (n == 0)
      return StoreStatus(Status(StatusCode::kInternal, "origin file shrank while it was copied"));
    if (StoreStatus s = (*w)->Append(std::string_view(buf.data(), static_cast<size_t>(n))); !s.ok())
      return s;  // the writer's destructor discards the upload
    off += static_cast<uint64_t>(n);
  }
  Result<ObjectInfo> info = (*w)->Commit();
  if (!info) return StoreStatus(info.error());
  fetches_.fetch_add(1, std::memory_order_relaxed);
  fetched_bytes_.fetch_add(size, std::memory_order_relaxed);
  return StoreStatus();
}

}  // namespace kumo::cache
