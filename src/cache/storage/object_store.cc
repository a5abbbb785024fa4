#include "cache/storage/object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace kumo::cache {
namespace {

constexpr char kMagic[8] = {'K', 'U', 'M', 'O', 'O', 'B', 'J', '1'};
constexpr size_t kFixedHeaderBytes = 40;
// How many objects one ENOSPC may evict before the upload gives up.
constexpr int kMaxSpaceEvictions = 1024;

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

void PutU32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }  // x86-64 and arm64: little-endian
void PutU64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string EncodeHeader(const std::string& name, uint64_t size_bytes, uint64_t etag) {
  std::string h(kFixedHeaderBytes + name.size(), '\0');
  std::memcpy(h.data(), kMagic, 8);
  PutU32(h.data() + 8, static_cast<uint32_t>(h.size()));
  PutU32(h.data() + 12, static_cast<uint32_t>(name.size()));
  PutU64(h.data() + 16, size_bytes);
  PutU64(h.data() + 24, etag);
  std::memcpy(h.data() + kFixedHeaderBytes, name.data(), name.size());
  std::string checked = h.substr(0, 32) + name;
  PutU64(h.data() + 32, Xxh64(checked));
  return h;
}

bool PwriteAll(int fd, std::string_view bytes, off_t offset) {
  while (!bytes.empty()) {
    ssize_t n = pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return true;
}

// Owner-only (docs/security.md): the cache's files are its tenants' data, not the machine's.
// chmod as well, for a directory an older version created 0755.
bool MakeDir(const std::string& path) {
  return (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) && chmod(path.c_str(), 0700) == 0;
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  closedir(d);
  return names;
}

}  // namespace

ObjectFile::~ObjectFile() {
  if (fd_ >= 0) close(fd_);
}

// ---- PutWriter ----

PutWriter::PutWriter(ObjectStore* store, std::string name, std::optional<uint64_t> size_bytes,
                     int fd, std::string tmp_path)
    : store_(store),
      name_(std::move(name)),
      size_known_(size_bytes.has_value()),
      size_bytes_(size_bytes.value_or(0)),
      reserved_(0),
      fd_(fd),
      tmp_path_(std::move(tmp_path)) {}

PutWriter::~PutWriter() {
  if (done_) return;
  close(fd_);
  unlink(tmp_path_.c_str());
  store_->ReleaseReservation(reserved_);
}

StoreStatus PutWriter::Append(std::string_view bytes) {
  if (size_known_) {
    if (bytes.size() > remaining_bytes())
      return StoreStatus::ObjectTooLarge("more bytes than the declared size");
  } else {
    uint64_t need = written_ + bytes.size();
    if (need > store_->options_.max_object_bytes)
      return StoreStatus::ObjectTooLarge("object larger than --max-object");
    if (need > reserved_)
      if (StoreStatus s = store_->GrowReservation(this, need); !s.ok()) return s;
  }
  hasher_.Update(bytes);
  int space_evictions = 0;
  while (!bytes.empty()) {
    ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOSPC && space_evictions++ < kMaxSpaceEvictions &&
        store_->EvictForSpace())
      continue;
    if (n < 0 && errno == ENOSPC) return StoreStatus::NoRoom("no space left on device");
    if (n <= 0) return StoreStatus(Status(StatusCode::kInternal, ErrnoText("write " + tmp_path_)));
    bytes.remove_prefix(static_cast<size_t>(n));
    written_ += static_cast<uint64_t>(n);
  }
  return StoreStatus();
}

Result<ObjectInfo> PutWriter::Commit() {
  if (!size_known_) {
    size_bytes_ = written_;
    // Preallocation ran ahead of the bytes; the file must end where they do (Rebuild checks).
    off_t end = static_cast<off_t>(kFixedHeaderBytes + name_.size() + written_);
    if (ftruncate(fd_, end) != 0)
      return Error(Status{StatusCode::kInternal, ErrnoText("ftruncate " + tmp_path_)});
  }
  if (written_ != size_bytes_) return Error(Status::InvalidArgument("body shorter than declared"));
  return store_->CommitUpload(this, hasher_.Digest());
}

// ---- ObjectStore ----

ObjectStore::ObjectStore(StoreOptions options, std::unique_ptr<EvictionPolicy> policy)
    : options_(std::move(options)), policy_(std::move(policy)) {
  std::fill(std::begin(shard_dir_fds_), std::end(shard_dir_fds_), -1);
}

ObjectStore::~ObjectStore() {
  for (int fd : shard_dir_fds_)
    if (fd >= 0) close(fd);
}

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(StoreOptions options) {
  if (options.dir.empty()) return Error(Status::InvalidArgument("--dir is required"));
  if (options.capacity_bytes == 0) return Error(Status::InvalidArgument("capacity must be > 0"));
  if (options.max_object_bytes == 0 || options.max_object_bytes > options.capacity_bytes)
    options.max_object_bytes = options.capacity_bytes;
  Result<std::unique_ptr<EvictionPolicy>> policy =
      MakeEvictionPolicy(options.eviction, options.capacity_bytes);
  if (!policy) return Error(policy.error());
  std::unique_ptr<ObjectStore> store(new ObjectStore(std::move(options), std::move(*policy)));
  const std::string& dir = store->options_.dir;
  if (!MakeDir(dir) || !MakeDir(dir + "/objects") || !MakeDir(dir + "/tmp"))
    return Error(Status::IoError(ErrnoText("create " + dir)));
  for (const std::string& n : ListDir(dir + "/tmp")) unlink((dir + "/tmp/" + n).c_str());
  for (int i = 0; i < 256; ++i) {
    char hh[3];
    std::snprintf(hh, sizeof hh, "%02x", i);
    std::string shard = dir + "/objects/" + hh;
    if (!MakeDir(shard)) return Error(Status::IoError(ErrnoText("create " + shard)));
    store->shard_dir_fds_[i] = open(shard.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (store->shard_dir_fds_[i] < 0) return Error(Status::IoError(ErrnoText("open " + shard)));
  }
  if (Status s = store->Rebuild(); !s.ok()) return Error(s);
  return store;
}

std::string ObjectStore::PathFor(const std::string& name) const {
  std::string hex = Hex64(Xxh64(name));
  return options_.dir + "/objects/" + hex.substr(0, 2) + "/" + hex;
}

Status ObjectStore::Rebuild() {
  struct Found {
    int64_t mtime_ns;
    std::string name;
    Entry entry;
    int fd;
  };
  std::vector<Found> found;
  for (int i = 0; i < 256; ++i) {
    char hh[3];
    std::snprintf(hh, sizeof hh, "%02x", i);
    std::string shard = options_.dir + "/objects/" + hh;
    for (const std::string& file : ListDir(shard)) {
      std::string path = shard + "/" + file;
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char fixed[kFixedHeaderBytes];
      struct stat st {};
      bool ok = pread(fd, fixed, sizeof fixed, 0) == static_cast<ssize_t>(sizeof fixed) &&
                std::memcmp(fixed, kMagic, 8) == 0 && fstat(fd, &st) == 0;
      std::string name;
      uint64_t size = 0, etag = 0;
      if (ok) {
        uint32_t header_bytes = GetU32(fixed + 8), name_bytes = GetU32(fixed + 12);
        size = GetU64(fixed + 16);
        etag = GetU64(fixed + 24);
        ok = name_bytes <= 2048 && header_bytes == kFixedHeaderBytes + name_bytes;
        if (ok) {
          name.resize(name_bytes);
          ok = pread(fd, name.data(), name_bytes, kFixedHeaderBytes) ==
                   static_cast<ssize_t>(name_bytes) &&
               EncodeHeader(name, size, etag).substr(32, 8) == std::string(fixed + 32, 8) &&
               static_cast<uint64_t>(st.st_size) == header_bytes + size && PathFor(name) == path;
        }
      }
      if (!ok) {  // not ours or damaged: a rename never publishes a partial file
        std::fprintf(stderr, "kumo cache: removing unreadable object file %s\n", path.c_str());
        close(fd);
        unlink(path.c_str());
        continue;
      }
      Entry e{size, etag, path, nullptr};
      found.push_back({st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec, std::move(name),
                       std::move(e), fd});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime_ns < b.mtime_ns; });
  std::lock_guard<std::mutex> lock(mu_);
  for (Found& f : found) {
    f.entry.version = next_version_++;
    if (open_files_ < options_.max_open_files) {
      f.entry.file = std::make_shared<ObjectFile>(f.fd, kFixedHeaderBytes + f.name.size());
      ++open_files_;
    } else {
      close(f.fd);
    }
    used_bytes_ += f.entry.size_bytes;
    policy_->OnInsert(f.name, f.entry.size_bytes);
    by_path_[f.entry.path] = f.name;
    index_.emplace(f.name, std::move(f.entry));
  }
  while (used_bytes_ > options_.capacity_bytes && do_EvictOne()) {
  }
  return Status::Ok();
}

std::optional<ObjectInfo> ObjectStore::Lookup(std::string_view bucket, std::string_view key,
                                              bool touch) {
  std::string name;
  name.reserve(bucket.size() + 1 + key.size());
  name.append(bucket).append("/").append(key);
  std::unique_lock<std::mutex> lock(mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  if (touch) policy_->OnAccess(name);
  ObjectInfo info{it->second.size_bytes, it->second.etag, it->second.file};
  if (!info.file) {  // opened under the lock so a concurrent rename cannot swap the version
    int fd = open(it->second.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    info.file = std::make_shared<ObjectFile>(fd, kFixedHeaderBytes + name.size());
  }
  if (!touch || !options_.verify_reads || it->second.verified) return info;
  uint64_t version = it->second.version;
  lock.unlock();  // hashing reads the whole object: never under mu_
  if (!VerifyEntry(name, version, info)) return std::nullopt;
  return info;
}

bool ObjectStore::VerifyEntry(const std::string& name, uint64_t version, const ObjectInfo& info) {
  ContentHasher hasher;
  std::string chunk(std::min<uint64_t>(info.size_bytes, 1 << 20), '\0');
  uint64_t done = 0;
  bool readable = true;
  while (done < info.size_bytes) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), info.size_bytes - done));
    ssize_t n = pread(info.file->fd(), chunk.data(), want,
                      static_cast<off_t>(info.file->data_offset() + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // shorter than its header says: damaged too
      readable = false;
      break;
    }
    hasher.Update(std::string_view(chunk.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  bool good = readable && hasher.Digest() == info.etag;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(name);
  // A PUT or eviction since the read replaced the entry: its own first Get verifies it.
  if (it == index_.end() || it->second.version != version) return good;
  if (good) {
    it->second.verified = true;
    return true;
  }
  std::fprintf(stderr, "kumo cache: %s does not match its etag %s; removing %s\n", name.c_str(),
               Hex64(info.etag).c_str(), it->second.path.c_str());
  std::string path = it->second.path;
  do_Forget(name);
  unlink(path.c_str());
  corrupt_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

std::optional<ObjectInfo> ObjectStore::Get(std::string_view bucket, std::string_view key) {
  return Lookup(bucket, key, true);
}
std::optional<ObjectInfo> ObjectStore::Stat(std::string_view bucket, std::string_view key) {
  return Lookup(bucket, key, false);
}

StoreResult<std::unique_ptr<PutWriter>> ObjectStore::BeginPut(std::string_view bucket,
                                                              std::string_view key,
                                                              uint64_t size_bytes) {
  if (size_bytes > options_.capacity_bytes)
    return std::unexpected(StoreStatus::NoRoom("object larger than the cache's capacity"));
  if (size_bytes > options_.max_object_bytes)
    return std::unexpected(StoreStatus::ObjectTooLarge("object larger than --max-object"));
  std::string name = std::string(bucket) + "/" + std::string(key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (StoreStatus room = do_MakeRoom(size_bytes, 0); !room.ok()) return std::unexpected(room);
    reserved_bytes_ += size_bytes;
  }
  return StartUpload(std::move(name), size_bytes, size_bytes);
}

StoreResult<std::unique_ptr<PutWriter>> ObjectStore::BeginStreamingPut(std::string_view bucket,
                                                                       std::string_view key) {
  return StartUpload(std::string(bucket) + "/" + std::string(key), std::nullopt, 0);
}

StoreResult<std::unique_ptr<PutWriter>> ObjectStore::StartUpload(std::string name,
                                                                 std::optional<uint64_t> size_bytes,
                                                                 uint64_t reserved) {
  std::string tmp = options_.dir + "/tmp/" + std::to_string(getpid()) + "-" +
                    std::to_string(tmp_counter_.fetch_add(1, std::memory_order_relaxed));
  int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    ReleaseReservation(reserved);
    return std::unexpected(StoreStatus(Status(StatusCode::kInternal, ErrnoText("create " + tmp))));
  }
  // The writer owns fd, tmp and the reservation from here: any early return below discards
  // the upload.
  std::unique_ptr<PutWriter> w(new PutWriter(this, name, size_bytes, fd, tmp));
  w->reserved_ = reserved;
  off_t header_bytes = static_cast<off_t>(kFixedHeaderBytes + name.size());
  if (size_bytes)
    if (StoreStatus s = Preallocate(fd, 0, header_bytes + static_cast<off_t>(*size_bytes)); !s.ok())
      return std::unexpected(s);
  if (lseek(fd, header_bytes, SEEK_SET) != header_bytes)
    return std::unexpected(StoreStatus(Status(StatusCode::kInternal, ErrnoText("lseek " + tmp))));
  return w;
}

// Reserving the blocks up front turns a full disk into one ENOSPC here, before the bytes
// arrive, and evicting makes room (filesystems without fallocate just skip this).
StoreStatus ObjectStore::Preallocate(int fd, off_t offset, off_t len) {
  for (int tries = 0; tries < kMaxSpaceEvictions; ++tries) {
    int rc = posix_fallocate(fd, offset, len);
    if (rc == 0 || rc == EOPNOTSUPP || rc == EINVAL) break;
    if (rc != ENOSPC)
      return StoreStatus(
          Status(StatusCode::kInternal, "fallocate: " + std::string(std::strerror(rc))));
    if (!EvictForSpace()) return StoreStatus::NoRoom("no space left on device");
  }
  return StoreStatus();
}

// A streaming upload's reservation grows by kReserveStepBytes (so a 1 GiB upload takes the
// lock ~256 times, not once per read), or by exactly what is needed when a whole step would
// not fit: e.g. capacity 10 MiB, 7 MiB used, reserved 0 and need 1 MiB → the 4 MiB step does
// not fit without evicting, so 1 MiB is reserved and nothing is evicted.
// Evicts until `need` more bytes fit beside everything held, `already_held` of which (the
// caller's own reservation) is to be replaced rather than added to.
StoreStatus ObjectStore::do_MakeRoom(uint64_t need, uint64_t already_held) {
  while (used_bytes_ + reserved_bytes_ - already_held + need > options_.capacity_bytes) {
    if (!do_EvictOne()) return StoreStatus::NoRoom("no space: uploads in progress hold the rest");
  }
  return StoreStatus();
}

StoreStatus ObjectStore::GrowReservation(PutWriter* w, uint64_t need) {
  uint64_t old = w->reserved_;
  uint64_t step = std::min(options_.max_object_bytes, std::max(need, old + kReserveStepBytes));
  uint64_t target = need;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (StoreStatus room = do_MakeRoom(need, w->reserved_); !room.ok()) return room;
    // Everything held by others: the index and the other uploads' reservations.
    if (used_bytes_ + reserved_bytes_ - w->reserved_ + step <= options_.capacity_bytes)
      target = step;
    reserved_bytes_ += target - old;
    w->reserved_ = target;
  }
  off_t header_bytes = static_cast<off_t>(kFixedHeaderBytes + w->name_.size());
  return Preallocate(w->fd_, header_bytes + static_cast<off_t>(old),
                     static_cast<off_t>(target - old));
}

Result<ObjectInfo> ObjectStore::CommitUpload(PutWriter* w, uint64_t etag) {
  std::string header = EncodeHeader(w->name_, w->size_bytes_, etag);
  if (!PwriteAll(w->fd_, header, 0))
    return Error(Status{StatusCode::kInternal, ErrnoText("write header " + w->tmp_path_)});
  // fdatasync covers the file's size too (it is needed to read the data back).
  if (fdatasync(w->fd_) != 0)
    return Error(Status{StatusCode::kInternal, ErrnoText("fdatasync " + w->tmp_path_)});
  std::string path = PathFor(w->name_);
  ObjectInfo info;
  int shard;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (rename(w->tmp_path_.c_str(), path.c_str()) != 0)
      return Error(Status{StatusCode::kInternal, ErrnoText("rename to " + path)});
    w->done_ = true;
    do_Forget(w->name_);
    auto other = by_path_.find(path);
    if (other != by_path_.end()) do_Forget(std::string(other->second));  // hash collision
    reserved_bytes_ -= w->reserved_;
    w->reserved_ = 0;
    Entry e{w->size_bytes_, etag, path, nullptr, next_version_++, false};
    if (open_files_ < options_.max_open_files) {
      e.file = std::make_shared<ObjectFile>(w->fd_, header.size());
      ++open_files_;
    } else {
      close(w->fd_);
    }
    w->fd_ = -1;
    used_bytes_ += w->size_bytes_;
    policy_->OnInsert(w->name_, w->size_bytes_);
    by_path_[path] = w->name_;
    info = ObjectInfo{e.size_bytes, e.etag, e.file};
    index_[w->name_] = std::move(e);
    shard = static_cast<int>(Xxh64(w->name_) >> 56);  // the first two hex digits
  }
  // The rename is durable once its directory is synced (rename(2) alone survives no crash).
  if (fsync(shard_dir_fds_[shard]) != 0)
    return Error(Status{StatusCode::kInternal, ErrnoText("fsync directory of " + path)});
  return info;
}

void ObjectStore::ReleaseReservation(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_bytes_ -= bytes;
}

bool ObjectStore::EvictForSpace() {
  std::lock_guard<std::mutex> lock(mu_);
  return do_EvictOne();
}

void ObjectStore::do_Forget(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  policy_->OnRemove(name);
  used_bytes_ -= it->second.size_bytes;
  if (it->second.file) --open_files_;
  by_path_.erase(it->second.path);
  index_.erase(it);
}

bool ObjectStore::do_EvictOne() {
  std::optional<std::string> victim = policy_->Evict();
  if (!victim) return false;
  auto it = index_.find(*victim);
  if (it != index_.end()) {
    unlink(it->second.path.c_str());
    used_bytes_ -= it->second.size_bytes;
    if (it->second.file) --open_files_;
    by_path_.erase(it->second.path);
    index_.erase(it);
  }
  evictions_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Status ObjectStore::Delete(std::string_view bucket, std::string_view key) {
  std::string name = std::string(bucket) + "/" + std::string(key);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return Status::NotFound("no such object");
  std::string path = it->second.path;
  do_Forget(name);
  if (unlink(path.c_str()) != 0) return {StatusCode::kInternal, ErrnoText("unlink " + path)};
  return Status::Ok();
}

uint64_t ObjectStore::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_bytes_;
}

size_t ObjectStore::object_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

}  // namespace kumo::cache
