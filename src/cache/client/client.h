// The C++ client of `kumo cache serve` (the Python client in python/kumo_cache/client.py is the
// model; both behave the same way).
//
// Routing: with a member list (the servers' own --members file, or `name host:port` pairs) the
// client builds the same Maglev table (§3.4, maglev.h) as the servers and sends each request
// straight to the owner. Without one, a key goes to servers[ObjectHash % n]. Either way a 307
// (stale member list, a node that left) is followed up to `max_redirects` times, keeping the
// method and the body (RFC 9110 §15.4.8), and the owner it led to is remembered per key.
//
// Connections: a keep-alive pool per endpoint (host:port). An idle connection the server has
// closed is noticed before reuse (poll for EOF); a request that fails on a reused connection
// before any response byte arrived is sent once more on a fresh one (GET, HEAD, PUT and DELETE
// are idempotent, RFC 9110 §9.2.2, and the cache's PUT replaces the whole object).
//
// PUT bodies above `expect_continue_min_bytes` go with `Expect: 100-continue`: a non-owner (or
// a 401/403/413) answers before any body byte, instead of closing the connection mid-body
// (the server skips a refused body only up to 1 MiB). No answer within
// `expect_continue_wait_ms` sends the body anyway (RFC 9110 §10.1.1).
//
// Tokens: `token_file` is re-read whenever its inode, mtime or size change (kubelet rotates
// projected service-account tokens by swapping the file), and once more after a 401.
//
// Fork: the pool records the PID that filled it; a child (any process whose getpid() differs)
// drops the inherited sockets without shutting them down (the parent keeps using them) and
// opens its own. A pthread_atfork handler holds every client's lock across fork(), so a child
// never inherits a lock that another parent thread held.
//
// Errors: Status messages of HTTP answers start with the status code and the lower-cased
// reason, then the server's text: "403 forbidden: this namespace may not do that to this
// bucket". HttpStatusOf() recovers the code. 404 is kNotFound; 400, 416 kInvalidArgument; 401
// kUnauthenticated; 403 kPermissionDenied; 413, 507 kResourceExhausted; transport failures,
// timeouts and the rest kInternal.
//
// Thread safety: a CacheClient may be used by any number of threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/routing/maglev.h"
#include "base/status.h"

namespace kumo::cache {

struct ClientOptions {
  // Either members (client-side routing) or servers ("host:port"), or members_file (the
  // servers' --members file, re-read when it changes). At least one must give an address.
  std::vector<Member> members;
  std::string members_file;
  std::vector<std::string> servers;
  std::string token;       // a fixed bearer token (used when token_file is empty or unreadable)
  std::string token_file;  // re-read on change
  int connect_timeout_ms = 5000;
  int io_timeout_ms = 30000;  // a send or receive making no progress for this long fails
  int max_redirects = 3;
  size_t max_idle_per_endpoint = 16;
  uint64_t expect_continue_min_bytes = 1 << 20;
  int expect_continue_wait_ms = 1000;
};

struct ObjectStat {
  uint64_t size_bytes = 0;
  std::string etag;       // quoted, as the server sends it: "\"00ab...\""
  std::string served_by;  // host:port of the node that answered
  std::string owner;      // member name of that node when known (X-Kumo-Owner or the table)
};

struct PutResult {
  std::string etag;
  std::string served_by;
  uint64_t size_bytes = 0;  // bytes uploaded
};

// What the client did, for tests and the CLI (monotonic counters, relaxed).
struct ClientCounters {
  std::atomic<uint64_t> requests{0};            // HTTP requests sent, redirected ones included
  std::atomic<uint64_t> redirects_followed{0};  // 307s followed
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> token_reads{0};  // times the token file was (re-)read
};

// A response head (RFC 9112 §4, §5), parsed strictly: HTTP/1.0 or 1.1 status line with a
// three-digit code, CRLF only, no obs-fold, token header names, Content-Length digits only (a
// repeated one must agree), no Transfer-Encoding (the cache never sends one), head ≤ 16 KiB and
// ≤ 100 fields.
struct ResponseHead {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::optional<uint64_t> content_length;
  bool close = false;  // "Connection: close", or HTTP/1.0 without keep-alive
  size_t head_bytes = 0;

  // The first value of the header `lower_name`, or empty.
  std::string_view Header(std::string_view lower_name) const;
};

enum class ResponseParse { kIncomplete, kDone, kError };
// Parses the head at the start of `buf`; kError sets *error.
ResponseParse ParseResponseHead(std::string_view buf, ResponseHead* out, std::string* error);

// The HTTP status of an error this client returned, or nullopt for a transport failure.
std::optional<int> HttpStatusOf(const Status& status);

class CacheClient {
 public:
  // InvalidArgument for a malformed address or member list, or when nothing gives an address.
  static Result<std::unique_ptr<CacheClient>> Create(ClientOptions options);
  ~CacheClient();
  CacheClient(const CacheClient&) = delete;
  CacheClient& operator=(const CacheClient&) = delete;

  Result<PutResult> Put(std::string_view bucket, std::string_view key, std::string_view bytes);
  // Streams the file with sendfile (never loaded whole); its size is taken at open.
  Result<PutResult> PutFile(std::string_view bucket, std::string_view key,
                            const std::string& path);
  // Reads `fd` (a pipe, stdin) to EOF and sends it with Transfer-Encoding: chunked, one read
  // (≤ 256 KiB) per chunk, so memory stays bounded whatever the size. Always with
  // `Expect: 100-continue`, waiting up to io_timeout_ms for the answer, so a 307, 401 or 403
  // arrives before any byte is read from `fd` and is handled as for Put. Once bytes were read
  // the request cannot be repeated: a failure after that (a dropped connection, a 307 that
  // came late) is returned as an error. A 413/507 mid-stream stops the sending at once.
  Result<PutResult> PutStream(std::string_view bucket, std::string_view key, int fd);

  Result<std::string> Get(std::string_view bucket, std::string_view key);
  // Writes the object's bytes to `fd`, at its offset, as they arrive; returns how many. Into a
  // regular file (not O_APPEND) they are spliced from the socket (splice(2) through a pipe: no copy through
  // user space; from the cache's sendfile over loopback the one copy left is the kernel's into
  // the file's page cache), elsewhere written from the receive buffer. `check`, when set, sees
  // every byte once, in order — for a regular file read back right after it was written (the
  // pages are still in the CPU's cache), so what it hashes is what the file holds; its error
  // stops the download and is returned (REQUIRES: with `check`, a regular file open O_RDWR).
  // A failure after some bytes were written leaves them.
  Result<uint64_t> GetToFd(std::string_view bucket, std::string_view key, int fd,
                           const std::function<Status(std::string_view)>& check = {});
  // Writes PATH.kumo-partial, then renames it to `path`: a failed download leaves no file.
  Result<uint64_t> GetToFile(std::string_view bucket, std::string_view key,
                             const std::string& path);
  // `length` bytes from `first` (fewer at the end of the object). InvalidArgument (416) when
  // `first` is at or past the end.
  Result<std::string> GetRange(std::string_view bucket, std::string_view key, uint64_t first,
                               uint64_t length);

  Result<ObjectStat> Stat(std::string_view bucket, std::string_view key);
  Status Delete(std::string_view bucket, std::string_view key);

  // The owner by this client's member table (nullopt without one): member name and address.
  std::optional<Member> OwnerOf(std::string_view bucket, std::string_view key) const;

  const ClientCounters& counters() const;
  // Idle pooled connections (all endpoints), for tests.
  size_t IdleConnections() const;

  struct Impl;

 private:
  explicit CacheClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kumo::cache
