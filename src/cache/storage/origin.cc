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

Result<std::unique_ptr<Origin>> Origin::Open(const std::string& dir, OriginOptions options) {
  if (options.fill_threads < 1)
    return Error(Status::InvalidArgument("origin fill threads must be at least 1"));
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Error(Status::FailedPrecondition("--origin " + dir + ": " + std::strerror(errno)));
  return std::unique_ptr<Origin>(new Origin(fd, std::move(options)));
}

Origin::Origin(int dir_fd, OriginOptions options) : dir_fd_(dir_fd), options_(std::move(options)) {
  for (int i = 0; i < options_.fill_threads; ++i) threads_.emplace_back([this] { FillLoop(); });
}

Origin::~Origin() {
  std::deque<Job> abandoned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    abandoned.swap(queue_);
  }
  queued_.notify_all();
  for (std::thread& t : threads_) t.join();
  for (const Job& j : abandoned)
    Land(j.bucket + "/" + j.key, StoreStatus(Status::Unavailable("the cache is shutting down")));
  close(dir_fd_);
}

void Origin::Fill(std::string_view bucket, std::string_view key, ObjectStore* store,
                  FillDone done) {
  std::string name = std::string(bucket) + "/" + std::string(key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, first] = flights_.try_emplace(name);
    it->second.push_back(std::move(done));
    if (!first) return;  // a copy of this name is queued or running: wait for it
    queue_.push_back({std::string(bucket), std::string(key), store});
  }
  queued_.notify_one();
}

void Origin::FillLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    std::string name = job.bucket + "/" + job.key;
    if (options_.before_copy) options_.before_copy(name);
    // A flight that finished between the caller's miss and here already cached it.
    StoreStatus s = job.store->Stat(job.bucket, job.key) ? StoreStatus()
                                                         : Copy(job.bucket, job.key, job.store);
    if (!s.ok() && s.code() != StatusCode::kNotFound)
      errors_.fetch_add(1, std::memory_order_relaxed);
    Land(name, s);
  }
}

void Origin::Land(const std::string& name, const StoreStatus& s) {
  std::vector<FillDone> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = flights_.find(name);
    if (it == flights_.end()) return;
    waiters = std::move(it->second);
    flights_.erase(it);
  }
  for (FillDone& done : waiters) done(s);
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
