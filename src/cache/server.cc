#include "cache/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "cache/object_path.h"

namespace kumo::cache {
namespace {

constexpr size_t kInputBufferBytes = 64 * 1024;
// A body we do not store must not be parsed as the next request: up to this much of it is
// skipped (the client then reads our answer on a live connection); beyond, the connection closes.
constexpr uint64_t kMaxDiscardBytes = 1 << 20;

int64_t NowMicros() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000LL + ts.tv_nsec / 1000;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

std::string Quoted(uint64_t etag) { return "\"" + Hex64(etag) + "\""; }

struct Conn {
  int fd = -1;
  std::vector<char> in = std::vector<char>(kInputBufferBytes);
  size_t in_start = 0, in_end = 0;
  bool reading_body = false;
  uint64_t discard_left = 0;  // body bytes of a refused request, skipped before the next head
  std::unique_ptr<PutWriter> writer;
  std::unique_ptr<ChunkedDecoder> chunked;  // while a chunked body is read (reading_body)
  uint64_t chunked_discard_left = 0;        // after a refused chunked upload: what may be skipped
  std::string put_bucket, put_key;
  // The response being sent.
  bool response_pending = false;
  std::string out;
  size_t out_off = 0;
  std::shared_ptr<const ObjectFile> file;
  off_t file_off = 0;
  uint64_t file_left = 0;
  bool close_after = false;
  bool keep_alive = true;
  bool writable_armed = false;
  bool closing = false;
  Method method = Method::kOther;
  int status = 0;
  int64_t request_start_us = 0;
  int64_t last_active_s = 0;
};

}  // namespace

struct CacheServer::Worker {
  ServerOptions options;
  const CacheServer* server = nullptr;
  Store* store = nullptr;
  const Authenticator* auth = nullptr;
  int listen_fd = -1, epoll_fd = -1, wake_fd = -1;
  WorkerMetrics metrics;
  TokenCache tokens;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  int64_t now_s = 0;
  std::string date;  // "Date: ...\r\n", refreshed each second (RFC 9110 §6.6.1)

  ~Worker() {
    for (int fd : {listen_fd, epoll_fd, wake_fd})
      if (fd >= 0) close(fd);
  }

  void Tick() {
    int64_t t = time(nullptr);
    if (t == now_s) return;
    now_s = t;
    time_t tt = static_cast<time_t>(t);
    tm g;
    gmtime_r(&tt, &g);
    char buf[64];
    strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &g);
    date = buf;
    SweepTimeouts();
  }

  void Run() {
    epoll_event events[256];
    Tick();
    while (true) {
      int n = epoll_wait(epoll_fd, events, 256, 1000);
      Tick();
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd) return;
        if (fd == listen_fd) {
          Accept();
          continue;
        }
        auto it = conns.find(fd);
        if (it == conns.end()) continue;
        Conn& c = *it->second;
        uint32_t ev = events[i].events;
        if ((ev & EPOLLOUT) && c.response_pending) {
          Process(c);
        } else if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          OnReadable(c);
        }
        if (c.closing) CloseConn(fd);
      }
    }
  }

  void Accept() {
    while (true) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or EMFILE: try again on the next wake-up
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->last_active_s = now_s;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
      conns.emplace(fd, std::move(c));
      metrics.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void CloseConn(int fd) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);  // an unfinished PutWriter discards its upload
  }

  void SweepTimeouts() {
    std::vector<int> expired;
    for (auto& [fd, c] : conns) {
      int64_t idle = now_s - c->last_active_s;
      if (c->response_pending) {
        if (idle > options.idle_timeout_s) expired.push_back(fd);  // reader stopped reading
      } else if (c->reading_body) {
        if (idle > options.body_timeout_s) expired.push_back(fd);
      } else if (c->in_end > c->in_start) {
        if (idle > options.header_timeout_s) {
          c->method = Method::kOther;
          c->request_start_us = NowMicros();
          QueueSimple(*c, 408, "request head not received in time\n", true);
          Flush(*c);
          expired.push_back(fd);
        }
      } else if (idle > options.idle_timeout_s) {
        expired.push_back(fd);
      }
    }
    for (int fd : expired) CloseConn(fd);
  }

  void SetWritable(Conn& c, bool on) {
    if (c.writable_armed == on) return;
    c.writable_armed = on;
    epoll_event ev{};
    // While a response is blocked we stop reading, so pipelined input waits in the kernel.
    ev.events = on ? EPOLLOUT : EPOLLIN;
    ev.data.fd = c.fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void OnReadable(Conn& c) {
    if (c.in_start == c.in_end) c.in_start = c.in_end = 0;
    if (c.in_end == c.in.size() && c.in_start > 0) {
      std::memmove(c.in.data(), c.in.data() + c.in_start, c.in_end - c.in_start);
      c.in_end -= c.in_start;
      c.in_start = 0;
    }
    if (c.in_end == c.in.size()) {  // only a head can fill the buffer; the parser said 431
      c.closing = true;
      return;
    }
    ssize_t n = read(c.fd, c.in.data() + c.in_end, c.in.size() - c.in_end);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      c.closing = true;
      return;
    }
    c.in_end += static_cast<size_t>(n);
    c.last_active_s = now_s;
    metrics.bytes_in.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    Process(c);
  }

  // Sends what it can; true when the whole response is out.
  bool Flush(Conn& c) {
    while (c.out_off < c.out.size()) {
      int flags = MSG_NOSIGNAL | (c.file_left > 0 ? MSG_MORE : 0);
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, flags);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return SetWritable(c, true), false;
      if (n <= 0) return c.closing = true, false;
      c.out_off += static_cast<size_t>(n);
      c.last_active_s = now_s;
      metrics.bytes_out.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
    while (c.file_left > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(c.file_left, 1 << 30));
      ssize_t n = sendfile(c.fd, c.file->fd(), &c.file_off, chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return SetWritable(c, true), false;
      if (n <= 0) return c.closing = true, false;
      c.file_left -= static_cast<uint64_t>(n);
      c.last_active_s = now_s;
      metrics.bytes_out.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
    metrics.Record(c.method, c.status, static_cast<uint64_t>(NowMicros() - c.request_start_us));
    c.response_pending = false;
    c.out.clear();
    c.out_off = 0;
    c.file.reset();
    if (c.close_after) {
      shutdown(c.fd, SHUT_WR);
      c.closing = true;
      return false;
    }
    SetWritable(c, false);
    return true;
  }

  // Handles every complete request in the buffer, one response at a time.
  void Process(Conn& c) {
    while (!c.closing) {
      if (c.response_pending) {
        if (!Flush(c)) return;
        continue;
      }
      if (c.discard_left > 0) {
        size_t take =
            static_cast<size_t>(std::min<uint64_t>(c.in_end - c.in_start, c.discard_left));
        c.in_start += take;
        c.discard_left -= take;
        if (c.discard_left > 0) return;
        continue;
      }
      if (c.reading_body && c.chunked) {
        if (!ContinueChunkedBody(c)) return;
        continue;
      }
      if (c.reading_body) {
        size_t avail = c.in_end - c.in_start;
        size_t take = static_cast<size_t>(std::min<uint64_t>(avail, c.writer->remaining_bytes()));
        if (take > 0) {
          Status s = c.writer->Append(std::string_view(c.in.data() + c.in_start, take));
          c.in_start += take;
          if (!s.ok()) {
            c.writer.reset();
            c.reading_body = false;
            QueueStatus(c, s, true);
            continue;
          }
        }
        if (c.writer->remaining_bytes() > 0) return;
        CommitPut(c);
        continue;
      }
      if (c.in_start == c.in_end) return;
      std::string_view buf(c.in.data() + c.in_start, c.in_end - c.in_start);
      RequestHead head;
      ParseResult r = ParseRequestHead(buf, options.limits, &head);
      if (r.state == ParseState::kIncomplete) return;
      c.request_start_us = NowMicros();
      if (r.state == ParseState::kError) {
        c.method = Method::kOther;
        QueueSimple(c, r.error_status, std::string(r.error_reason) + "\n", true);
        continue;
      }
      c.method = head.method;
      c.keep_alive = head.keep_alive;
      Dispatch(c, head);  // reads views into c.in: consume the head only afterwards
      c.in_start += head.head_bytes;
    }
  }

  // Commits the upload of `c` and queues its answer (201 + ETag, or the error).
  void CommitPut(Conn& c) {
    Result<ObjectInfo> info = c.writer->Commit();
    c.writer.reset();
    c.reading_body = false;
    if (!info) {
      QueueStatus(c, info.error(), !c.keep_alive);
      return;
    }
    std::string h = Head(c, 201, 0);
    h += "ETag: " + Quoted(info->etag) + "\r\n\r\n";
    Queue(c, 201, std::move(h));
  }

  // A chunked upload (RFC 9112 §7.1): decoded bytes go to the writer as they arrive, so the
  // size is checked as it grows (413 past --max-object, 507 when eviction cannot make room).
  // Such an error is answered at once; the rest of the body is then decoded and dropped, up to
  // kMaxDiscardBytes (beyond, the connection closes), so the client can read the answer and
  // the connection stays usable. A malformed body is a 400 and closes the connection (there is
  // no way to find the next request). False when more input is needed.
  bool ContinueChunkedBody(Conn& c) {
    while (true) {
      std::string_view buf(c.in.data() + c.in_start, c.in_end - c.in_start);
      ChunkedStep step = c.chunked->Decode(buf);
      c.in_start += step.consumed;
      if (step.state == ChunkedState::kError) {
        c.chunked.reset();
        c.reading_body = false;
        if (c.writer == nullptr) {  // already answered (413/507): nothing more to say
          c.closing = true;
          return true;
        }
        c.writer.reset();  // discards the temp file
        QueueSimple(c, step.error_status, std::string(step.error_reason) + "\n", true);
        return true;
      }
      if (!step.data.empty()) {
        if (c.writer != nullptr) {
          Status s = c.writer->Append(step.data);
          if (!s.ok()) {
            c.writer.reset();
            c.chunked_discard_left = kMaxDiscardBytes;
            QueueStatus(c, s, false);
            return true;
          }
        } else if (step.data.size() > c.chunked_discard_left) {
          c.closing = true;
          return true;
        } else {
          c.chunked_discard_left -= step.data.size();
        }
      }
      if (step.state == ChunkedState::kDone) {
        c.chunked.reset();
        c.reading_body = false;
        if (c.writer != nullptr) CommitPut(c);
        return true;
      }
      if (c.in_start == c.in_end) return false;
    }
  }

  // The status line and common fields; the caller appends its own and the blank line.
  std::string Head(Conn& c, int status, uint64_t content_length) {
    c.status = status;
    std::string h;
    h.reserve(256);
    h += "HTTP/1.1 ";
    h += std::to_string(status);
    h += ' ';
    h += Reason(status);
    h += "\r\n";
    h += date;
    h += "Content-Length: ";
    h += std::to_string(content_length);
    h += "\r\n";
    if (!c.keep_alive) h += "Connection: close\r\n";
    return h;
  }

  void Queue(Conn& c, int status, std::string out) {
    c.status = status;
    c.out = std::move(out);
    c.out_off = 0;
    c.response_pending = true;
    c.close_after = !c.keep_alive;
  }

  void QueueSimple(Conn& c, int status, const std::string& body, bool close_after,
                   const char* extra = "") {
    if (close_after) c.keep_alive = false;
    std::string h = Head(c, status, body.size());
    h += "Content-Type: text/plain\r\n";
    h += extra;
    h += "\r\n";
    // A HEAD response has no content even when it is an error (RFC 9110 §9.3.2); sending the
    // text would be read as the start of the next response.
    if (c.method != Method::kHead) h += body;
    Queue(c, status, std::move(h));
  }

  void QueueStatus(Conn& c, const Status& s, bool close_after) {
    int code = s.code() == StatusCode::kInvalidArgument      ? 413
               : s.code() == StatusCode::kFailedPrecondition ? 507
                                                             : 500;
    QueueSimple(c, code, s.message() + "\n", close_after);
  }

  void Dispatch(Conn& c, const RequestHead& head) {
    uint64_t body = head.content_length.value_or(0);
    if (body <= kMaxDiscardBytes) {
      c.discard_left = body;
    } else {
      c.keep_alive = false;
    }
    // A chunked body has no length to skip by: unless StartPut takes it, close after answering.
    if (head.chunked) c.keep_alive = false;
    std::string_view target = head.target;
    if (target == "/metrics" && head.method == Method::kGet) {
      std::string body = server->MetricsText();
      QueueSimple(c, 200, body, false);
      return;
    }
    if (target == "/healthz") {
      QueueSimple(c, 200, "ok\n", false);
      return;
    }
    if (!target.starts_with(kObjectsPrefix)) {
      QueueSimple(c, 404, "no such route\n", false);
      return;
    }
    if (head.method == Method::kOther) {
      QueueSimple(c, 405, "use GET, HEAD, PUT or DELETE\n", true,
                  "Allow: GET, HEAD, PUT, DELETE\r\n");
      return;
    }
    bool is_put = head.method == Method::kPut;
    Result<ObjectName> name = ParseObjectTarget(target);
    if (!name) {
      QueueSimple(c, 400, name.error().message() + "\n", false);
      return;
    }
    if (auth != nullptr) {
      Access access = (is_put || head.method == Method::kDelete) ? Access::kWrite : Access::kRead;
      AuthResult a = auth->Check(head.authorization, name->bucket, access, now_s, &tokens);
      if (a == AuthResult::kUnauthenticated) {
        QueueSimple(c, 401, "missing, invalid or expired token\n", false,
                    "WWW-Authenticate: Bearer realm=\"kumo-cache\"\r\n");
        return;
      }
      if (a == AuthResult::kForbidden) {
        QueueSimple(c, 403, "this namespace may not do that to this bucket\n", false);
        return;
      }
    }
    bool owner = true;  // single node, or this node owns the name
    if (options.router != nullptr && RedirectToOwner(c, head, *name, &owner)) return;
    switch (head.method) {
      case Method::kPut:
        return StartPut(c, head, *name);
      case Method::kDelete: {
        Status s = store->Delete(name->bucket, name->key);
        if (s.ok()) {
          std::string h = Head(c, 204, 0);
          h += "\r\n";
          Queue(c, 204, std::move(h));
        } else {
          QueueSimple(c, s.code() == StatusCode::kNotFound ? 404 : 500, s.message() + "\n", false);
        }
        return;
      }
      default:
        return Read(c, head, *name, owner);
    }
  }

  // Maglev routing (§3.4 table, maglev.h): true when a 307 to the owner was queued. Runs after
  // auth and before the store, so the answer depends only on the name, never on the object.
  // `*is_owner` becomes false when another member owns the name but X-Kumo-No-Redirect keeps
  // the request here.
  bool RedirectToOwner(Conn& c, const RequestHead& head, const ObjectName& name, bool* is_owner) {
    std::shared_ptr<const ClusterView> view = options.router->Load();
    if (view == nullptr || view->table == nullptr) return false;
    int owner = view->table->LookupObject(name.bucket, name.key);
    if (owner < 0 || owner == view->self) return false;  // no members, or mine
    *is_owner = false;
    if (head.Header("x-kumo-no-redirect") == "1") return false;
    const Member& m = view->table->members()[static_cast<size_t>(owner)];
    metrics.redirects.fetch_add(1, std::memory_order_relaxed);
    // The body of a redirected PUT was set to be skipped (or the connection to close) by
    // Dispatch, exactly as for any refused request.
    std::string h = Head(c, 307, 0);
    h += "Location: http://";
    h += m.address;
    h += head.target;
    h += "\r\nX-Kumo-Owner: ";
    h += m.name;
    h += "\r\n\r\n";
    Queue(c, 307, std::move(h));
    return true;
  }

  void StartPut(Conn& c, const RequestHead& head, const ObjectName& name) {
    if (!head.content_length && !head.chunked) {
      QueueSimple(c, 411, "PUT needs Content-Length or Transfer-Encoding: chunked\n", true);
      return;
    }
    Result<std::unique_ptr<PutWriter>> w =
        head.chunked ? store->BeginStreamingPut(name.bucket, name.key)
                     : store->BeginPut(name.bucket, name.key, *head.content_length);
    if (!w) {
      QueueStatus(c, w.error(), false);
      return;
    }
    c.discard_left = 0;
    c.writer = std::move(*w);
    c.reading_body = true;
    if (head.chunked) {
      c.chunked = std::make_unique<ChunkedDecoder>(options.limits);
      c.keep_alive = head.keep_alive;  // Dispatch assumed the body would not be read
    }
    if (head.expect_continue && c.in_end - c.in_start == head.head_bytes) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      // Best effort: an interim response this small fits any fresh socket buffer.
      (void)!send(c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL);
    }
  }

  void Read(Conn& c, const RequestHead& head, const ObjectName& name, bool owner) {
    bool is_get = head.method == Method::kGet;
    std::optional<ObjectInfo> info =
        is_get ? store->Get(name.bucket, name.key) : store->Stat(name.bucket, name.key);
    if (!info && is_get && owner && options.origin != nullptr) {
      metrics.misses.fetch_add(1, std::memory_order_relaxed);
      Status s = options.origin->Fetch(name.bucket, name.key, store);
      if (s.ok()) info = store->Get(name.bucket, name.key);
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        QueueStatus(c, s, false);
        return;
      }
      if (!info) {
        QueueSimple(c, 404, "no such object (not in the origin either)\n", false);
        return;
      }
    } else if (!info) {
      metrics.misses.fetch_add(1, std::memory_order_relaxed);
      QueueSimple(c, 404, "no such object\n", false);
      return;
    } else {
      metrics.hits.fetch_add(1, std::memory_order_relaxed);
    }
    std::string etag = Quoted(info->etag);
    // If-None-Match is evaluated before Range (RFC 9110 §13.2.2).
    if (!head.if_none_match.empty() && IfNoneMatchMatches(head.if_none_match, etag)) {
      std::string h = Head(c, 304, 0);
      h.resize(h.size() - std::strlen("Content-Length: 0\r\n"));  // 304 has no content
      h += "ETag: " + etag + "\r\n\r\n";
      Queue(c, 304, std::move(h));
      return;
    }
    ByteRange range{0, info->size_bytes};
    int status = 200;
    if (!head.range.empty()) {
      RangeOutcome o = ResolveRange(head.range, info->size_bytes, &range);
      if (o == RangeOutcome::kUnsatisfiable) {
        QueueSimple(
            c, 416, "range not satisfiable\n", false,
            ("Content-Range: bytes */" + std::to_string(info->size_bytes) + "\r\n").c_str());
        return;
      }
      if (o == RangeOutcome::kSatisfiable) {
        status = 206;
      } else {
        range = {0, info->size_bytes};
      }
    }
    std::string h = Head(c, status, range.length);
    h += "ETag: " + etag + "\r\nAccept-Ranges: bytes\r\nContent-Type: application/octet-stream\r\n";
    if (status == 206)
      h += "Content-Range: bytes " + std::to_string(range.first) + "-" +
           std::to_string(range.first + range.length - 1) + "/" + std::to_string(info->size_bytes) +
           "\r\n";
    h += "\r\n";
    off_t offset = static_cast<off_t>(info->file->data_offset() + range.first);
    if (is_get && range.length > 0 && range.length < options.sendfile_min_bytes) {
      size_t head_size = h.size();
      h.resize(head_size + range.length);
      ssize_t n = pread(info->file->fd(), h.data() + head_size, range.length, offset);
      if (n != static_cast<ssize_t>(range.length)) {
        QueueSimple(c, 500, "short read\n", true);
        return;
      }
      Queue(c, status, std::move(h));
      return;
    }
    Queue(c, status, std::move(h));
    if (is_get) {
      c.file = info->file;
      c.file_off = offset;
      c.file_left = range.length;
    }
  }
};

Result<std::unique_ptr<CacheServer>> CacheServer::Start(ServerOptions options, Store* store,
                                                        const Authenticator* auth) {
  std::unique_ptr<CacheServer> server(new CacheServer());
  server->store_ = store;
  server->router_ = options.router;
  server->origin_ = options.origin;
  in_addr addr{};
  if (inet_pton(AF_INET, options.host.c_str(), &addr) != 1)
    return Error(Status::InvalidArgument("--listen wants an IPv4 address: " + options.host));
  uint16_t port = options.port;
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    auto w = std::make_unique<Worker>();
    w->options = options;
    w->server = server.get();
    w->store = store;
    w->auth = auth;
    w->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(w->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(w->listen_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = addr;
    sa.sin_port = htons(port);
    if (bind(w->listen_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(w->listen_fd, 4096) != 0)
      return Error(Status::FailedPrecondition("listen on " + options.host + ":" +
                                              std::to_string(port) + ": " + std::strerror(errno)));
    if (port == 0) {  // the other workers join the port the kernel picked
      socklen_t len = sizeof sa;
      getsockname(w->listen_fd, reinterpret_cast<sockaddr*>(&sa), &len);
      port = ntohs(sa.sin_port);
    }
    w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (int fd : {w->listen_fd, w->wake_fd}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
    server->workers_.push_back(std::move(w));
  }
  server->port_ = port;
  for (auto& w : server->workers_) server->threads_.emplace_back([wp = w.get()] { wp->Run(); });
  return server;
}

CacheServer::~CacheServer() { Stop(); }

void CacheServer::Stop() {
  for (auto& w : workers_) {
    uint64_t one = 1;
    (void)!write(w->wake_fd, &one, sizeof one);
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (auto& w : workers_)
    for (auto& [fd, c] : w->conns) close(fd);
  workers_.clear();
}

std::string CacheServer::MetricsText() const {
  std::vector<const WorkerMetrics*> all;
  for (const auto& w : workers_) all.push_back(&w->metrics);
  std::string out = RenderMetrics(all, *store_);
  out +=
      "# HELP kumo_cache_corrupt_total Objects whose bytes did not match their ETag when "
      "verified (removed).\n"
      "# TYPE kumo_cache_corrupt_total counter\n"
      "kumo_cache_corrupt_total " +
      std::to_string(store_->corrupt_objects()) + "\n";
  if (origin_ != nullptr)
    out +=
        "# HELP kumo_cache_origin_fetches_total Objects copied from --origin on a miss.\n"
        "# TYPE kumo_cache_origin_fetches_total counter\n"
        "kumo_cache_origin_fetches_total " +
        std::to_string(origin_->fetches()) +
        "\n"
        "# HELP kumo_cache_origin_fetched_bytes_total Bytes copied from --origin.\n"
        "# TYPE kumo_cache_origin_fetched_bytes_total counter\n"
        "kumo_cache_origin_fetched_bytes_total " +
        std::to_string(origin_->fetched_bytes()) +
        "\n"
        "# HELP kumo_cache_origin_errors_total Origin copies that failed (no room, I/O).\n"
        "# TYPE kumo_cache_origin_errors_total counter\n"
        "kumo_cache_origin_errors_total " +
        std::to_string(origin_->errors()) + "\n";
  if (router_ != nullptr) {
    std::shared_ptr<const ClusterView> view = router_->Load();
    uint64_t redirects = 0;
    for (const auto& w : workers_)
      redirects += w->metrics.redirects.load(std::memory_order_relaxed);
    size_t members = view && view->table ? view->table->members().size() : 0;
    out +=
        "# HELP kumo_cache_cluster_members Members in the current Maglev table.\n"
        "# TYPE kumo_cache_cluster_members gauge\n"
        "kumo_cache_cluster_members " +
        std::to_string(members) +
        "\n"
        "# HELP kumo_cache_cluster_generation Member lists loaded since start.\n"
        "# TYPE kumo_cache_cluster_generation counter\n"
        "kumo_cache_cluster_generation " +
        std::to_string(view ? view->generation : 0) +
        "\n"
        "# HELP kumo_cache_redirects_total Object requests answered 307 to their owner.\n"
        "# TYPE kumo_cache_redirects_total counter\n"
        "kumo_cache_redirects_total " +
        std::to_string(redirects) + "\n";
  }
  return out;
}

}  // namespace kumo::cache
