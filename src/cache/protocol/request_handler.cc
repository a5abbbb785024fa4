#include "cache/protocol/request_handler.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/sha256.h"
#include "cache/storage/object_path.h"

namespace kumo::cache {
namespace {

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
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

std::string Quoted(uint64_t etag) { return "\"" + Hex64(etag) + "\""; }

}  // namespace

RequestHandler::RequestHandler(const ServerOptions& options, const CacheServer* server,
                               ObjectStore* store, const Authenticator* auth)
    : options_(options), server_(server), store_(store), auth_(auth) {
  Tick();
}

bool RequestHandler::Tick() {
  int64_t t = time(nullptr);
  if (t == now_s_) return false;
  now_s_ = t;
  time_t tt = static_cast<time_t>(t);
  tm g;
  gmtime_r(&tt, &g);
  char buf[64];
  strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &g);
  date_ = buf;
  return true;
}

bool RequestHandler::InputSpace(Conn& c, char** data, size_t* size) {
  if (c.in_start == c.in_end) c.in_start = c.in_end = 0;
  if (c.in_end == c.in.size() && c.in_start > 0) {
    std::memmove(c.in.data(), c.in.data() + c.in_start, c.in_end - c.in_start);
    c.in_end -= c.in_start;
    c.in_start = 0;
  }
  if (c.in_end == c.in.size()) return false;
  *data = c.in.data() + c.in_end;
  *size = c.in.size() - c.in_end;
  return true;
}

void RequestHandler::OnInput(Conn& c, size_t bytes) {
  c.in_end += bytes;
  c.last_active_s = now_s_;
  metrics_.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
}

void RequestHandler::OnSent(Conn& c, size_t bytes) {
  c.last_active_s = now_s_;
  metrics_.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
}

void RequestHandler::Complete(Conn& c) {
  metrics_.Record(c.method, c.status, static_cast<uint64_t>(NowMicros() - c.request_start_us));
  c.response_pending = false;
  c.out.clear();
  c.out_off = 0;
  c.file.reset();
  c.file_left = 0;
  if (c.close_after) {
    shutdown(c.fd, SHUT_WR);
    c.closing = true;
  }
}

SendProgress RequestHandler::SendFileBody(Conn& c) {
  while (c.file_left > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(c.file_left, 1 << 30));
    ssize_t n = sendfile(c.fd, c.file->fd(), &c.file_off, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return SendProgress::kBlocked;
    if (n <= 0) return SendProgress::kFailed;
    c.file_left -= static_cast<uint64_t>(n);
    OnSent(c, static_cast<size_t>(n));
  }
  return SendProgress::kDone;
}

bool RequestHandler::CheckTimeout(Conn& c) {
  if (c.fill_ticket != 0) return false;
  int64_t idle = now_s_ - c.last_active_s;
  if (c.response_pending) return idle > options_.idle_timeout_s;  // the reader stopped reading
  if (c.reading_body) return idle > options_.body_timeout_s;
  if (c.in_end > c.in_start) {
    if (idle <= options_.header_timeout_s) return false;
    c.method = Method::kOther;
    c.request_start_us = NowMicros();
    QueueSimple(c, 408, "request head not received in time\n", true);
    SendNowAndForget(c);
    return true;
  }
  return idle > options_.idle_timeout_s;
}

void RequestHandler::SendNowAndForget(Conn& c) {
  ssize_t n =
      send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) OnSent(c, static_cast<size_t>(n));
  Complete(c);
  c.closing = true;
}

bool RequestHandler::OnFillDone(Conn& c, const FillCompletion& done) {
  if (c.fill_ticket == 0 || c.fill_ticket != done.ticket) return false;
  c.fill_ticket = 0;
  c.fill_outcome = done.status;
  c.last_active_s = now_s_;
  return true;
}

PumpStep RequestHandler::Pump(Conn& c) {
  while (!c.closing) {
    if (c.fill_ticket != 0) return PumpStep::kWaitFill;
    if (!c.response_pending) {
      Process(c);
      if (c.fill_ticket != 0) return PumpStep::kWaitFill;
      if (!c.response_pending) return c.closing ? PumpStep::kClose : PumpStep::kRead;
      continue;
    }
    if (c.out_off < c.out.size()) return PumpStep::kSend;
    SendProgress p = SendFileBody(c);
    if (p == SendProgress::kBlocked) return PumpStep::kWaitWritable;
    if (p == SendProgress::kFailed) c.closing = true;
    if (p == SendProgress::kDone) Complete(c);
  }
  return PumpStep::kClose;
}

// Handles buffered requests until one response is pending or more input is needed.
void RequestHandler::Process(Conn& c) {
  while (!c.closing && !c.response_pending) {
    if (c.discard_left > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(c.in_end - c.in_start, c.discard_left));
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
        StoreStatus s = AppendBody(c, std::string_view(c.in.data() + c.in_start, take));
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
    ParseResult r = ParseRequestHead(buf, options_.limits, &head);
    if (r.state == ParseState::kIncomplete) return;
    if (!c.fill_outcome) c.request_start_us = NowMicros();  // a resumed head keeps its start
    if (r.state == ParseState::kError) {
      c.method = Method::kOther;
      QueueSimple(c, r.error_status, std::string(r.error_reason) + "\n", true);
      continue;
    }
    c.method = head.method;
    c.keep_alive = head.keep_alive;
    Dispatch(c, head);  // reads views into c.in: consume the head only afterwards
    if (c.fill_ticket != 0) {  // parked: the head is dispatched again when the fill lands
      c.discard_left = 0;
      return;
    }
    c.fill_outcome.reset();  // it answered this head (or auth did, if the token expired since)
    c.in_start += head.head_bytes;
  }
}

StoreStatus RequestHandler::AppendBody(Conn& c, std::string_view bytes) {
  if (c.body_sha256 != nullptr) c.body_sha256->Update(bytes);
  return c.writer->Append(bytes);
}

// Commits the upload of `c` and queues its answer (201 + ETag, or the error). A body that does
// not hash to the SHA-256 its key names is discarded with a 400.
void RequestHandler::CommitPut(Conn& c) {
  if (c.body_sha256 != nullptr) {
    std::string got = c.body_sha256->FinishHex();
    c.body_sha256.reset();
    if (got != c.body_sha256_want) {
      c.writer.reset();  // discards the temp file
      c.reading_body = false;
      QueueSimple(c, 400,
                  "the body's SHA-256 is " + got + ", not the " + c.body_sha256_want +
                      " its key names: nothing was stored\n",
                  !c.keep_alive);
      return;
    }
  }
  Result<ObjectInfo> info = c.writer->Commit();
  c.writer.reset();
  c.reading_body = false;
  if (!info) {
    QueueStatus(c, StoreStatus(info.error()), !c.keep_alive);
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
bool RequestHandler::ContinueChunkedBody(Conn& c) {
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
        StoreStatus s = AppendBody(c, step.data);
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
std::string RequestHandler::Head(Conn& c, int status, uint64_t content_length) {
  c.status = status;
  std::string h;
  h.reserve(256);
  h += "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += Reason(status);
  h += "\r\n";
  h += date_;
  h += "Content-Length: ";
  h += std::to_string(content_length);
  h += "\r\n";
  if (!c.keep_alive) h += "Connection: close\r\n";
  return h;
}

void RequestHandler::Queue(Conn& c, int status, std::string out) {
  c.status = status;
  c.out = std::move(out);
  c.out_off = 0;
  c.response_pending = true;
  c.close_after = !c.keep_alive;
}

void RequestHandler::QueueSimple(Conn& c, int status, const std::string& body, bool close_after,
                                 const char* extra) {
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

// By what the store says, never by its text: a shortage of the object's own size is 413, of the
// cache's room 507; a body that disagrees with its declared size (InvalidArgument) is 413 too.
void RequestHandler::QueueStatus(Conn& c, const StoreStatus& s, bool close_after) {
  int code = 500;
  if (s.code() == StatusCode::kResourceExhausted)
    code = s.shortage() == Shortage::kObjectSize ? 413 : 507;
  if (s.code() == StatusCode::kInvalidArgument) code = 413;
  QueueSimple(c, code, s.message() + "\n", close_after);
}

void RequestHandler::Dispatch(Conn& c, const RequestHead& head) {
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
    std::string body = server_->MetricsText();
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
  bool sha256_key = false;  // the token writes only content addresses
  if (auth_ != nullptr) {
    Access access = (is_put || head.method == Method::kDelete) ? Access::kWrite : Access::kRead;
    AuthResult a = auth_->Check(head.authorization, name->bucket, name->key, access, now_s_,
                                 &tokens_, &sha256_key);
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
  if (options_.router != nullptr && RedirectToOwner(c, head, *name, &owner)) return;
  switch (head.method) {
    case Method::kPut:
      return StartPut(c, head, *name, sha256_key);
    case Method::kDelete: {
      Status s = store_->Delete(name->bucket, name->key);
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
bool RequestHandler::RedirectToOwner(Conn& c, const RequestHead& head, const ObjectName& name,
                                     bool* is_owner) {
  std::shared_ptr<const ClusterView> view = options_.router->Load();
  if (view == nullptr || view->table == nullptr) return false;
  int owner = view->table->LookupObject(name.bucket, name.key);
  if (owner < 0 || owner == view->self) return false;  // no members, or mine
  *is_owner = false;
  if (head.Header("x-kumo-no-redirect") == "1") return false;
  const Member& m = view->table->members()[static_cast<size_t>(owner)];
  metrics_.redirects.fetch_add(1, std::memory_order_relaxed);
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

void RequestHandler::StartPut(Conn& c, const RequestHead& head, const ObjectName& name,
                              bool sha256_key) {
  if (!head.content_length && !head.chunked) {
    QueueSimple(c, 411, "PUT needs Content-Length or Transfer-Encoding: chunked\n", true);
    return;
  }
  std::string_view last = std::string_view(name.key).substr(name.key.rfind('/') + 1);
  if (sha256_key && !IsLowerHex(last, 64)) {
    QueueSimple(c, 400,
                "this token writes only keys that end in the SHA-256 of their bytes (64 "
                "lower-case hex digits)\n",
                false);
    return;
  }
  StoreResult<std::unique_ptr<PutWriter>> w =
      head.chunked ? store_->BeginStreamingPut(name.bucket, name.key)
                   : store_->BeginPut(name.bucket, name.key, *head.content_length);
  if (!w) {
    QueueStatus(c, w.error(), false);
    return;
  }
  c.discard_left = 0;
  c.writer = std::move(*w);
  c.reading_body = true;
  c.body_sha256 = sha256_key ? std::make_unique<Sha256>() : nullptr;
  c.body_sha256_want = sha256_key ? std::string(last) : std::string();
  if (head.chunked) {
    c.chunked = std::make_unique<ChunkedDecoder>(options_.limits);
    c.keep_alive = head.keep_alive;  // Dispatch assumed the body would not be read
  }
  if (head.expect_continue && c.in_end - c.in_start == head.head_bytes) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    // Best effort: an interim response this small fits any fresh socket buffer.
    (void)!send(c.fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL);
  }
}

// A GET miss with an origin parks the connection (step 5) the first time; the second dispatch
// of the same head finds the fill's outcome and answers from the store.
std::optional<ObjectInfo> RequestHandler::Lookup(Conn& c, bool is_get, const ObjectName& name,
                                                 bool owner) {
  std::optional<ObjectInfo> info =
      is_get ? store_->Get(name.bucket, name.key) : store_->Stat(name.bucket, name.key);
  if (const std::optional<StoreStatus>& filled = c.fill_outcome) {  // a miss when it parked
    if (info) return info;
    if (!filled->ok() && filled->code() != StatusCode::kNotFound) {
      QueueStatus(c, *filled, false);
    } else if (filled->ok()) {
      QueueSimple(c, 503, "evicted as soon as it was copied from the origin; retry\n", false);
    } else {
      QueueSimple(c, 404, "no such object (not in the origin either)\n", false);
    }
    return std::nullopt;
  }
  if (info) {
    metrics_.hits.fetch_add(1, std::memory_order_relaxed);
    return info;
  }
  metrics_.misses.fetch_add(1, std::memory_order_relaxed);
  if (is_get && owner && options_.origin != nullptr) {
    c.fill_ticket = ++last_ticket_;
    options_.origin->Fill(name.bucket, name.key, store_,
                          [fills = fills_, key = c.key, ticket = c.fill_ticket](
                              const StoreStatus& s) { fills->Post({key, ticket, s}); });
    return std::nullopt;
  }
  QueueSimple(c, 404, "no such object\n", false);
  return std::nullopt;
}

void RequestHandler::Read(Conn& c, const RequestHead& head, const ObjectName& name, bool owner) {
  bool is_get = head.method == Method::kGet;
  std::optional<ObjectInfo> info = Lookup(c, is_get, name, owner);
  if (!info) return;
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
      QueueSimple(c, 416, "range not satisfiable\n", false,
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
  if (is_get && range.length > 0 && range.length < options_.sendfile_min_bytes) {
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

}  // namespace kumo::cache
