#include "cache/client/client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "cache/file_stamp.h"
#include "cache/storage/object_path.h"

namespace kumo::cache {
namespace {

constexpr size_t kMaxResponseHeadBytes = 16 * 1024;
constexpr size_t kMaxResponseFields = 100;
constexpr size_t kIoChunkBytes = 256 * 1024;
// A spliced body moves in steps of up to this much (the pipe's size, Linux's default
// pipe-max-size): one step is one write into the page cache. 1 MiB instead of 256 KiB took a
// cold pull's client CPU from 1.06 to 0.60 s per GiB (docs/benchmarks.md, "Datasets").
constexpr size_t kSpliceStepBytes = 1024 * 1024;
constexpr size_t kErrorTextBytes = 4096;  // of an error body kept for the message
constexpr size_t kOwnerCacheMax = 65536;

struct Endpoint {
  std::string host;
  std::string port;
  std::string text() const { return host.find(':') != std::string::npos
                                        ? "[" + host + "]:" + port
                                        : host + ":" + port; }
};

// "host:port" or "[v6]:port"; the port must be 1..65535.
Result<Endpoint> ParseEndpoint(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size())
    return Error(Status::InvalidArgument("want HOST:PORT, got \"" + std::string(s) + "\""));
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || value > 65535)
      return Error(Status::InvalidArgument("bad port in \"" + std::string(s) + "\""));
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535 || host.empty())
    return Error(Status::InvalidArgument("bad HOST:PORT \"" + std::string(s) + "\""));
  return Endpoint{std::string(host), std::string(port)};
}

bool IsTchar(char c) {  // RFC 9110 §5.6.2
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Percent-encodes everything but RFC 3986 unreserved characters (and '/' in keys, which the
// server reads as part of the key).
std::string PercentEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status Errno(const std::string& what, int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) return {StatusCode::kInternal, what + ": timed out"};
  return {StatusCode::kInternal, what + ": " + std::strerror(err)};
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Errno("open " + path, errno));
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Error(Errno("read " + path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Status SendAll(int fd, const char* data, size_t size, bool more, const std::string& what) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno(what, n < 0 ? errno : EPIPE);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteAllFd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("write output", n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Connects with a deadline (a non-blocking connect polled for writability), then makes the
// socket blocking with send/receive timeouts: each later call fails after `io_timeout_ms`
// without progress.
Result<int> Connect(const Endpoint& ep, int connect_timeout_ms, int io_timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &res);
  if (gai != 0)
    return Error(Status(StatusCode::kInternal, "resolve " + ep.text() + ": " + gai_strerror(gai)));
  Status last(StatusCode::kInternal, "connect " + ep.text() + ": no address");
  int fd = -1;
  for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = Errno("socket", errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int ready;
      do {
        ready = poll(&p, 1, connect_timeout_ms);
      } while (ready < 0 && errno == EINTR);
      int err = ETIMEDOUT;
      socklen_t len = sizeof err;
      if (ready > 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last = Errno("connect " + ep.text(), errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return Error(last);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;  // a head and a body in two sends must not wait for a delayed ACK (Nagle)
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{io_timeout_ms / 1000, (io_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// An idle keep-alive connection is usable when nothing is readable: readable means EOF (the
// server's idle timeout closed it) or stray bytes, both unusable.
bool StillOpen(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

// The response side of one connection: buffered reads with the socket's receive timeout.
class Wire {
 public:
  explicit Wire(int fd) : fd_(fd) {}
  bool got_bytes() const { return got_bytes_; }
  bool drained() const { return pos_ == end_; }

  Status Fill() {
    if (pos_ == end_) pos_ = end_ = 0;
    Reserve(end_ + kIoChunkBytes);
    ssize_t n;
    do {
      n = recv(fd_, buf_.get() + end_, kIoChunkBytes, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return {StatusCode::kInternal, "connection closed by the server"};
    if (n < 0) return Errno("receive", errno);
    end_ += static_cast<size_t>(n);
    got_bytes_ = true;
    return Status::Ok();
  }

  Result<ResponseHead> ReadHead() {
    while (true) {
      ResponseHead head;
      std::string error;
      std::string_view view(buf_.get() + pos_, end_ - pos_);
      ResponseParse p = ParseResponseHead(view, &head, &error);
      if (p == ResponseParse::kDone) {
        pos_ += head.head_bytes;
        return head;
      }
      if (p == ResponseParse::kError)
        return Error(Status(StatusCode::kInternal, "bad response: " + error));
      if (Status s = Fill(); !s.ok()) return Error(s);
    }
  }

  // Hands exactly `length` bytes to `sink` in pieces.
  Status ReadBody(uint64_t length, const std::function<Status(std::string_view)>& sink) {
    while (length > 0) {
      if (pos_ == end_)
        if (Status s = Fill(); !s.ok()) return s;
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, end_ - pos_));
      if (Status s = sink(std::string_view(buf_.get() + pos_, n)); !s.ok()) return s;
      pos_ += n;
      length -= n;
    }
    return Status::Ok();
  }

  // Moves exactly `length` bytes into the regular file `out` at its offset: what came with the
  // head is written, the rest goes socket → pipe → file by splice(2). From a sendfile(2) sender
  // over loopback the pipe takes references to the sender's pages, so the one copy is the
  // kernel's into `out`'s page cache — the copy `cp` makes — instead of a receive copy into
  // user space and a write copy back. `check`, when set, then sees each step read back from
  // the file right after it landed (≤ kSpliceStepBytes, in pieces of ≤ kIoChunkBytes: the pages
  // just written are mostly still in the CPU's caches).
  Status SpliceBody(uint64_t length, int out, const std::function<Status(std::string_view)>* check) {
    size_t buffered = static_cast<size_t>(std::min<uint64_t>(length, end_ - pos_));
    std::string_view head_bytes(buf_.get() + pos_, buffered);
    if (Status s = WriteAllFd(out, head_bytes); !s.ok()) return s;
    if (check != nullptr)
      if (Status s = (*check)(head_bytes); !s.ok()) return s;
    pos_ += buffered;
    length -= buffered;
    if (length == 0) return Status::Ok();
    off_t at = lseek(out, 0, SEEK_CUR);
    if (at < 0) return Errno("seek output", errno);
    Pipe pipe;
    if (Status s = pipe.Open(kSpliceStepBytes); !s.ok()) return s;
    Reserve(kIoChunkBytes);
    while (length > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(length, kSpliceStepBytes));
      ssize_t in = splice(fd_, nullptr, pipe.write_end, nullptr, want, SPLICE_F_MOVE);
      if (in < 0 && errno == EINTR) continue;
      if (in == 0) return {StatusCode::kInternal, "connection closed by the server"};
      if (in < 0) return Errno("receive", errno);
      got_bytes_ = true;
      for (ssize_t left = in; left > 0;) {
        ssize_t n = splice(pipe.read_end, nullptr, out, nullptr, static_cast<size_t>(left),
                           SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Errno("write output", n < 0 ? errno : EIO);
        left -= n;
      }
      if (check != nullptr)
        if (Status s = ReadBack(out, at, static_cast<size_t>(in), check); !s.ok()) return s;
      at += in;
      length -= static_cast<uint64_t>(in);
    }
    return Status::Ok();
  }

 private:
  // A pipe for SpliceBody, closed when it goes (it may still hold bytes after a failure).
  struct Pipe {
    int read_end = -1, write_end = -1;
    Status Open(size_t bytes) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe", errno);
      read_end = fds[0];
      write_end = fds[1];
      // Best effort: the default 64 KiB works too, with four times the system calls.
      fcntl(write_end, F_SETPIPE_SZ, static_cast<int>(bytes));
      return Status::Ok();
    }
    ~Pipe() {
      if (read_end >= 0) close(read_end);
      if (write_end >= 0) close(write_end);
    }
  };

  // Makes buf_ hold at least `bytes`, keeping its unread part. Never zero-filled: a Wire lives
  // for one request, so zero-filling would memset 256 KiB per object fetched.
  void Reserve(size_t bytes) {
    if (capacity_ >= bytes) return;
    auto bigger = std::make_unique_for_overwrite<char[]>(bytes);
    if (end_ > 0) std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    capacity_ = bytes;
  }

  // Hands `check` the `n` bytes of `file` at `at`, read into buf_ in pieces of ≤ kIoChunkBytes.
  Status ReadBack(int file, off_t at, size_t n,
                  const std::function<Status(std::string_view)>* check) {
    while (n > 0) {
      size_t piece = std::min(n, kIoChunkBytes);
      ssize_t r = pread(file, buf_.get(), piece, at);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Errno("read back output", r < 0 ? errno : EIO);
      if (Status s = (*check)(std::string_view(buf_.get(), static_cast<size_t>(r))); !s.ok())
        return s;
      at += r;
      n -= static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  int fd_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t pos_ = 0, end_ = 0;  // unread bytes: buf_[pos_, end_)
  bool got_bytes_ = false;
};

// A request as the transport sees it: the body is bytes in memory or a file read in chunks.
struct Outgoing {
  std::string method;
  std::string extra_headers;  // complete "Name: value\r\n" lines
  bool has_body = false;
  std::string_view body;
  int body_fd = -1;  // with body_bytes: the file to stream from offset 0
  uint64_t body_bytes = 0;
  // Instead: a stream read to EOF and sent chunked. `*stream_started` becomes true once a byte
  // may have been read from it (the request can then not be repeated); `*stream_bytes` counts.
  int stream_fd = -1;
  bool* stream_started = nullptr;
  uint64_t* stream_bytes = nullptr;
  // Where a 2xx body goes; null keeps it in Answer::body.
  const std::function<Status(std::string_view)>* sink = nullptr;
  // Or: the regular file a 2xx body is spliced into (Wire::SpliceBody); `sink`, when set, then
  // sees the bytes read back from it.
  int body_file = -1;
};

struct Answer {
  ResponseHead head;
  std::string body;  // a 2xx body without a sink, or the first bytes of an error body
  std::string served_by;
  std::string owner;  // X-Kumo-Owner of the last 307, when there was one
};

// Streams the file body with pread + send(MSG_NOSIGNAL) rather than sendfile: sendfile to a
// socket the peer closed raises SIGPIPE, and a library must not change the process's signal
// disposition.
// The chunked coding (RFC 9112 §7.1) of req.stream_fd up to EOF, one read per chunk. Stops
// early, with *answered set, when the server has answered before the end (a 413 or 507
// mid-stream): the rest would not be stored anyway. A send that fails because the server
// closed after answering counts as answered too, so the caller reads the answer.
Status SendChunkedStream(int fd, const Outgoing& req, bool* answered) {
  *req.stream_started = true;
  constexpr size_t kSizeRoom = 18;  // up to 16 hex digits and CRLF before the data
  std::string buf(kSizeRoom + kIoChunkBytes + 2, '\0');
  auto answer_waiting = [fd] {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  };
  while (true) {
    if (answer_waiting()) {
      *answered = true;
      return Status::Ok();
    }
    ssize_t n = read(req.stream_fd, buf.data() + kSizeRoom, kIoChunkBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read upload stream", errno);
    if (n == 0) return SendAll(fd, "0\r\n\r\n", 5, false, "send body");
    char size[kSizeRoom + 1];
    int len = std::snprintf(size, sizeof size, "%zx\r\n", static_cast<size_t>(n));
    char* start = buf.data() + kSizeRoom - len;
    std::memcpy(start, size, static_cast<size_t>(len));
    std::memcpy(buf.data() + kSizeRoom + n, "\r\n", 2);
    if (Status s = SendAll(fd, start, static_cast<size_t>(len + n + 2), true, "send body");
        !s.ok()) {
      if (!answer_waiting()) return s;
      *answered = true;
      return Status::Ok();
    }
    *req.stream_bytes += static_cast<uint64_t>(n);
  }
}

Status SendBody(int fd, const Outgoing& req) {
  if (req.body_fd < 0) return SendAll(fd, req.body.data(), req.body.size(), false, "send body");
  std::string chunk(static_cast<size_t>(std::min<uint64_t>(kIoChunkBytes, req.body_bytes)), '\0');
  for (uint64_t off = 0; off < req.body_bytes;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), req.body_bytes - off));
    ssize_t n = pread(req.body_fd, chunk.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read upload file", errno);
    if (n == 0) return {StatusCode::kInternal, "upload file shrank while it was being sent"};
    bool more = off + static_cast<uint64_t>(n) < req.body_bytes;
    if (Status s = SendAll(fd, chunk.data(), static_cast<size_t>(n), more, "send body"); !s.ok())
      return s;
    off += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status StatusFromHttp(const ResponseHead& head, std::string_view body) {
  std::string text = Trim(std::string(body.substr(0, 200)));
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  std::string message = std::to_string(head.status) + " " + Lower(head.reason);
  if (!text.empty()) message += ": " + text;
  StatusCode code = StatusCode::kInternal;
  if (head.status == 404) code = StatusCode::kNotFound;
  if (head.status == 400 || head.status == 416) code = StatusCode::kInvalidArgument;
  if (head.status == 401) code = StatusCode::kUnauthenticated;
  if (head.status == 403) code = StatusCode::kPermissionDenied;
  if (head.status == 413 || head.status == 507) code = StatusCode::kResourceExhausted;
  return {code, std::move(message)};
}

// "http://host:port/path" → endpoint and path; nullopt for anything else (the cache only
// redirects to plain HTTP members).
std::optional<std::pair<Endpoint, std::string>> ParseLocation(std::string_view loc) {
  constexpr std::string_view kScheme = "http://";
  if (!loc.starts_with(kScheme)) return std::nullopt;
  loc.remove_prefix(kScheme.size());
  size_t slash = loc.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Result<Endpoint> ep = ParseEndpoint(loc.substr(0, slash));
  if (!ep) return std::nullopt;
  return std::make_pair(*ep, std::string(loc.substr(slash)));
}

}  // namespace

std::string_view ResponseHead::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

ResponseParse ParseResponseHead(std::string_view buf, ResponseHead* out, std::string* error) {
  auto fail = [&](std::string why) {
    *error = std::move(why);
    return ResponseParse::kError;
  };
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() >= kMaxResponseHeadBytes) return fail("response head over 16 KiB");
    return ResponseParse::kIncomplete;
  }
  if (end + 4 > kMaxResponseHeadBytes) return fail("response head over 16 KiB");
  *out = ResponseHead{};
  out->head_bytes = end + 4;
  std::string_view head = buf.substr(0, end + 2);  // every line, each ending in CRLF
  bool first = true;
  bool http10 = false;
  bool keep_alive_token = false;
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.find_first_of("\r\n") != std::string_view::npos)
      return fail("bare CR or LF in the head");
    if (first) {
      first = false;
      if (line.starts_with("HTTP/1.0 ")) {
        http10 = true;
      } else if (!line.starts_with("HTTP/1.1 ")) {
        return fail("not an HTTP/1.x status line");
      }
      std::string_view rest = line.substr(9);
      if (rest.size() < 3 || rest[0] < '1' || rest[0] > '5' || rest[1] < '0' || rest[1] > '9' ||
          rest[2] < '0' || rest[2] > '9')
        return fail("bad status code");
      out->status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
      if (rest.size() > 3) {
        if (rest[3] != ' ') return fail("bad status line");
        out->reason = std::string(rest.substr(4));
      }
      for (char c : out->reason)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
          return fail("control character in reason");
      continue;
    }
    if (line.empty() || line[0] == ' ' || line[0] == '\t')
      return fail("obsolete line folding");  // RFC 9112 §5.2
    if (out->headers.size() == kMaxResponseFields) return fail("more than 100 header fields");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("header without a name");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!IsTchar(c)) return fail("bad header name");
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return fail("control character in a header value");
    std::string lname = Lower(name);
    if (lname == "content-length") {
      if (value.empty() || value.size() > 19) return fail("bad Content-Length");
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return fail("bad Content-Length");
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (out->content_length && *out->content_length != n)
        return fail("conflicting Content-Length");  // RFC 9112 §6.3
      out->content_length = n;
    } else if (lname == "transfer-encoding") {
      return fail("Transfer-Encoding is not supported");
    } else if (lname == "connection") {
      std::string v = Lower(value);
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        std::string tok = Trim(v.substr(pos, comma == std::string::npos ? comma : comma - pos));
        if (tok == "close") out->close = true;
        if (tok == "keep-alive") keep_alive_token = true;
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    }
    out->headers.emplace_back(std::move(lname), std::string(value));
  }
  if (http10 && !keep_alive_token) out->close = true;
  return ResponseParse::kDone;
}

std::optional<int> HttpStatusOf(const Status& status) {
  const std::string& m = status.message();
  if (status.ok() || m.size() < 4 || m[3] != ' ') return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (m[i] < '0' || m[i] > '9') return std::nullopt;
  return std::stoi(m.substr(0, 3));
}

struct CacheClient::Impl {
  ClientOptions options;
  std::vector<Endpoint> servers;
  ClientCounters counters;

  // Guards everything below. Never held across I/O on a socket; held across fork() by the
  // pthread_atfork handlers.
  mutable std::mutex mu;
  pid_t pool_pid = 0;
  std::map<std::string, std::vector<int>> idle;  // endpoint text → idle sockets
  FileStamp token_stamp;
  std::string file_token;
  bool have_file_token = false;
  FileStamp members_stamp;
  std::shared_ptr<const MaglevTable> table;
  struct KnownOwner {
    Endpoint endpoint;
    std::string name;  // X-Kumo-Owner, may be empty
  };
  std::unordered_map<std::string, KnownOwner> owners;  // "bucket/key" → owner a 307 named

  ~Impl() {
    for (auto& [ep, fds] : idle)
      for (int fd : fds) close(fd);
  }

  // REQUIRES: mu held. A child of fork() shares the parent's sockets: forget them (closing our
  // descriptor without shutdown leaves the parent's connection intact).
  void do_CheckPid() {
    pid_t now = getpid();
    if (pool_pid == now) return;
    for (auto& [ep, fds] : idle)
      for (int fd : fds) close(fd);
    idle.clear();
    pool_pid = now;
  }

  Result<std::pair<int, bool>> Acquire(const Endpoint& ep) {
    std::string name = ep.text();
    while (true) {
      int fd = -1;
      {
        std::lock_guard<std::mutex> lock(mu);
        do_CheckPid();
        auto it = idle.find(name);
        if (it == idle.end() || it->second.empty()) break;
        fd = it->second.back();
        it->second.pop_back();
      }
      if (StillOpen(fd)) return std::make_pair(fd, true);
      close(fd);
    }
    Result<int> fd = Connect(ep, options.connect_timeout_ms, options.io_timeout_ms);
    if (!fd) return Error(fd.error());
    counters.connections_opened.fetch_add(1, std::memory_order_relaxed);
    return std::make_pair(*fd, false);
  }

  void Release(const Endpoint& ep, int fd) {
    {
      std::lock_guard<std::mutex> lock(mu);
      do_CheckPid();
      std::vector<int>& fds = idle[ep.text()];
      if (fds.size() < options.max_idle_per_endpoint) {
        fds.push_back(fd);
        return;
      }
    }
    close(fd);
  }

  // The bearer token to send now: the token file when it is readable (re-read when its stamp
  // changed, or always with `force`), else the fixed token.
  Result<std::string> CurrentToken(bool force) {
    if (options.token_file.empty()) return options.token;
    FileStamp now = StampOf(options.token_file);
    std::lock_guard<std::mutex> lock(mu);
    if (!force && have_file_token && now == token_stamp) return file_token;
    Result<std::string> text = ReadWholeFile(options.token_file);
    counters.token_reads.fetch_add(1, std::memory_order_relaxed);
    if (!text) {
      if (!options.token.empty()) return options.token;
      return Error(Status(StatusCode::kFailedPrecondition,
                          "cannot read token file: " + text.error().message()));
    }
    file_token = Trim(std::move(*text));
    have_file_token = true;
    token_stamp = now;
    return file_token;
  }

  // The member table, re-read from members_file when it changed (a file that no longer parses
  // keeps the old table, as the servers do).
  std::shared_ptr<const MaglevTable> Table() {
    if (options.members_file.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      return table;
    }
    FileStamp now = StampOf(options.members_file);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (now == members_stamp || !now.exists) return table;
    }
    std::shared_ptr<const MaglevTable> fresh;
    if (Result<std::string> text = ReadWholeFile(options.members_file); text)
      if (Result<std::vector<Member>> m = ParseMemberList(*text); m)
        if (auto t = MaglevTable::Build(std::move(*m)); t) fresh = std::move(*t);
    std::lock_guard<std::mutex> lock(mu);
    members_stamp = now;
    if (fresh) {
      table = std::move(fresh);
      owners.clear();  // owners may have moved
    }
    return table;
  }

  // The address of the member called `name` in the table (a 307 without Location but with
  // X-Kumo-Owner).
  std::optional<Endpoint> EndpointOfMember(const std::string& name) {
    std::shared_ptr<const MaglevTable> t = Table();
    if (t == nullptr || name.empty()) return std::nullopt;
    int i = t->IndexOf(name);
    if (i < 0) return std::nullopt;
    Result<Endpoint> ep = ParseEndpoint(t->members()[static_cast<size_t>(i)].address);
    return ep ? std::optional<Endpoint>(*ep) : std::nullopt;
  }

  // Where a request goes first: the owner a 307 named before, else the owner by the table,
  // else any server. The name is the member's when known.
  KnownOwner FirstHop(std::string_view bucket, std::string_view key) {
    std::string name = std::string(bucket) + "/" + std::string(key);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = owners.find(name); it != owners.end()) return it->second;
    }
    if (std::shared_ptr<const MaglevTable> t = Table(); t != nullptr) {
      int owner = t->LookupObject(bucket, key);
      if (owner >= 0) {
        const Member& m = t->members()[static_cast<size_t>(owner)];
        if (Result<Endpoint> ep = ParseEndpoint(m.address)) return {*ep, m.name};
      }
    }
    return {servers[MaglevTable::ObjectHash(bucket, key) % servers.size()], ""};
  }

  void RememberOwner(std::string_view bucket, std::string_view key, const KnownOwner& owner,
                     bool forget) {
    std::string name = std::string(bucket) + "/" + std::string(key);
    std::lock_guard<std::mutex> lock(mu);
    if (forget) {
      owners.erase(name);
      return;
    }
    if (owners.size() >= kOwnerCacheMax) owners.clear();
    owners[name] = owner;
  }

  // One request and its response on one connection. `*reusable` says whether the connection
  // may go back to the pool.
  Result<Answer> ExchangeOn(int fd, Wire& wire, const Endpoint& ep, const std::string& path,
                            const std::string& token, const Outgoing& req, bool* reusable) {
    *reusable = false;
    std::string head = req.method + " " + path + " HTTP/1.1\r\nHost: " + ep.text() + "\r\n";
    if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
    head += req.extra_headers;
    uint64_t body_bytes = req.body_fd >= 0 ? req.body_bytes : req.body.size();
    bool streaming = req.stream_fd >= 0;
    if (req.has_body && streaming) {
      head += "Transfer-Encoding: chunked\r\n";
    } else if (req.has_body) {
      head += "Content-Length: " + std::to_string(body_bytes) + "\r\n";
    }
    // A stream cannot be sent twice: always ask first, and wait as long as for any answer.
    bool expect = req.has_body && (streaming || body_bytes >= options.expect_continue_min_bytes);
    bool answered_mid_body = false;
    auto send_body = [&] {
      return streaming ? SendChunkedStream(fd, req, &answered_mid_body) : SendBody(fd, req);
    };
    if (expect) head += "Expect: 100-continue\r\n";
    head += "\r\n";
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    if (Status s = SendAll(fd, head.data(), head.size(), req.has_body && !expect, "send");
        !s.ok())
      return Error(s);

    std::optional<ResponseHead> early;  // a final answer before the body was sent
    if (expect) {
      pollfd p{fd, POLLIN, 0};
      int ready;
      do {
        ready = poll(&p, 1, streaming ? options.io_timeout_ms : options.expect_continue_wait_ms);
      } while (ready < 0 && errno == EINTR);
      if (ready == 0 && streaming)
        return Error(Status(StatusCode::kInternal,
                            "no answer to Expect: 100-continue within the I/O timeout"));
      if (ready > 0) {
        Result<ResponseHead> h = wire.ReadHead();
        if (!h) return Error(h.error());
        if (h->status != 100) early = std::move(*h);
      }
      if (!early)
        if (Status s = send_body(); !s.ok()) return Error(s);
    } else if (req.has_body) {
      if (Status s = send_body(); !s.ok()) return Error(s);
    }

    Answer answer;
    answer.served_by = ep.text();
    if (early) {
      answer.head = std::move(*early);
    } else {
      while (true) {  // interim 1xx answers (a late 100 Continue) come before the final one
        Result<ResponseHead> h = wire.ReadHead();
        if (!h) return Error(h.error());
        if (h->status >= 200) {
          answer.head = std::move(*h);
          break;
        }
      }
    }
    const ResponseHead& rh = answer.head;
    bool no_body = req.method == "HEAD" || rh.status == 204 || rh.status == 304;
    uint64_t length = no_body ? 0 : rh.content_length.value_or(0);
    if (!no_body && !rh.content_length)
      return Error(Status(StatusCode::kInternal, "bad response: no Content-Length"));
    bool success = rh.status >= 200 && rh.status < 300;
    std::function<Status(std::string_view)> keep = [&](std::string_view piece) {
      if (success || answer.body.size() < kErrorTextBytes)
        answer.body.append(piece.substr(0, success ? piece.size()
                                                   : kErrorTextBytes - answer.body.size()));
      return Status::Ok();
    };
    const auto& sink = success && req.sink != nullptr ? *req.sink : keep;
    Status s = success && req.body_file >= 0 ? wire.SpliceBody(length, req.body_file, req.sink)
                                             : wire.ReadBody(length, sink);
    if (!s.ok()) return Error(s);
    // After an early answer the server did not read our body: the connection is unusable.
    *reusable = !early && !answered_mid_body && !rh.close && wire.drained();
    return answer;
  }

  // ExchangeOn with a pooled connection; a failure on a reused connection before any response
  // byte is retried once on a new one (the server may have closed it as we sent).
  Result<Answer> Exchange(const Endpoint& ep, const std::string& path, const std::string& token,
                          const Outgoing& req) {
    while (true) {
      Result<std::pair<int, bool>> conn = Acquire(ep);
      if (!conn) return Error(conn.error());
      auto [fd, reused] = *conn;
      Wire wire(fd);
      bool reusable = false;
      Result<Answer> a = ExchangeOn(fd, wire, ep, path, token, req, &reusable);
      if (a && reusable) {
        Release(ep, fd);
      } else {
        close(fd);
      }
      bool stream_used = req.stream_started != nullptr && *req.stream_started;
      if (a || !reused || wire.got_bytes() || stream_used) {
        if (!a)
          return Error(Status(a.error().code(), req.method + " http://" + ep.text() + path +
                                                    ": " + a.error().message()));
        return a;
      }
    }
  }

  Result<Answer> Execute(std::string_view bucket, std::string_view key, const Outgoing& req) {
    if (!IsValidBucket(bucket))
      return Error(Status::InvalidArgument("bucket must match [a-z0-9-]{1,63}"));
    if (Status s = ValidateKey(key); !s.ok()) return Error(s);
    std::string path = std::string(kObjectsPrefix) + PercentEncode(bucket, false) + "/" +
                       PercentEncode(key, true);
    KnownOwner first = FirstHop(bucket, key);
    Endpoint ep = first.endpoint;
    std::string owner = first.name;
    int hops = 0;
    bool reloaded_token = false;
    while (true) {
      Result<std::string> token = CurrentToken(false);
      if (!token) return Error(token.error());
      Result<Answer> a = Exchange(ep, path, *token, req);
      if (!a) {
        RememberOwner(bucket, key, {ep, owner}, /*forget=*/true);  // a remembered owner may be gone
        return Error(a.error());
      }
      int status = a->head.status;
      bool stream_used = req.stream_started != nullptr && *req.stream_started;
      if ((status == 307 || status == 308) && stream_used)
        return Error(Status(StatusCode::kInternal,
                            std::to_string(status) + " from " + ep.text() +
                                " after the upload stream was sent: it cannot be sent again"));
      if (status == 307 || status == 308) {
        if (++hops > options.max_redirects)
          return Error(Status(StatusCode::kInternal,
                              "more than " + std::to_string(options.max_redirects) +
                                  " redirects for " + std::string(bucket) + "/" +
                                  std::string(key)));
        owner = std::string(a->head.Header("x-kumo-owner"));
        auto next = ParseLocation(a->head.Header("location"));
        std::optional<Endpoint> by_name = next ? std::nullopt : EndpointOfMember(owner);
        if (!next && !by_name)
          return Error(Status(StatusCode::kInternal,
                              "307 from " + ep.text() + " without a usable Location"));
        counters.redirects_followed.fetch_add(1, std::memory_order_relaxed);
        if (next) {
          ep = next->first;
          path = next->second;
        } else {
          ep = *by_name;  // same path: the owner serves the same target
        }
        continue;
      }
      if (status == 401 && !options.token_file.empty() && !reloaded_token && !stream_used) {
        reloaded_token = true;  // rotated between our stat and the server's check?
        Result<std::string> fresh = CurrentToken(true);
        if (fresh && *fresh != *token) continue;
      }
      if (hops > 0 && status < 500) RememberOwner(bucket, key, {ep, owner}, false);
      if (!(status >= 200 && status < 300) && status != 304)
        return Error(StatusFromHttp(a->head, a->body));
      a->owner = owner;
      return a;
    }
  }
};

namespace {

// Every live client, so fork() can hold all their locks (a child must not inherit a lock that
// another parent thread held at the moment of fork: it would never be released).
std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}
std::set<CacheClient::Impl*>& Registry() {
  static std::set<CacheClient::Impl*> r;
  return r;
}
void ForkPrepare() {
  RegistryMutex().lock();
  for (CacheClient::Impl* impl : Registry()) impl->mu.lock();
}
void ForkRelease() {
  for (CacheClient::Impl* impl : Registry()) impl->mu.unlock();
  RegistryMutex().unlock();
}

}  // namespace

Result<std::unique_ptr<CacheClient>> CacheClient::Create(ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  for (const std::string& s : options.servers) {
    Result<Endpoint> ep = ParseEndpoint(s);
    if (!ep) return Error(Status::InvalidArgument("server: " + ep.error().message()));
    impl->servers.push_back(*ep);
  }
  std::vector<Member> members = options.members;
  if (!options.members_file.empty()) {
    Result<std::string> text = ReadWholeFile(options.members_file);
    if (!text) return Error(Status::InvalidArgument("members: " + text.error().message()));
    Result<std::vector<Member>> parsed = ParseMemberList(*text);
    if (!parsed)
      return Error(Status::InvalidArgument(options.members_file + ": " +
                                           parsed.error().message()));
    members = std::move(*parsed);
    impl->members_stamp = StampOf(options.members_file);
  }
  for (const Member& m : members) {
    Result<Endpoint> ep = ParseEndpoint(m.address);
    if (!ep) return Error(Status::InvalidArgument("member " + m.name + ": " + ep.error().message()));
    if (options.servers.empty()) impl->servers.push_back(*ep);
  }
  if (!members.empty()) {
    Result<std::shared_ptr<const MaglevTable>> t = MaglevTable::Build(members);
    if (!t) return Error(t.error());
    impl->table = std::move(*t);
  }
  if (impl->servers.empty())
    return Error(Status::InvalidArgument("no cache server: give a server or a member list"));
  if (options.max_redirects < 0) options.max_redirects = 0;
  impl->options = std::move(options);
  impl->pool_pid = getpid();
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(ForkPrepare, ForkRelease, ForkRelease); });
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().insert(impl.get());
  }
  return std::unique_ptr<CacheClient>(new CacheClient(std::move(impl)));
}

CacheClient::CacheClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CacheClient::~CacheClient() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry().erase(impl_.get());
}

Result<PutResult> CacheClient::Put(std::string_view bucket, std::string_view key,
                                   std::string_view bytes) {
  Outgoing req;
  req.method = "PUT";
  req.has_body = true;
  req.body = bytes;
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  return PutResult{std::string(a->head.Header("etag")), a->served_by, bytes.size()};
}

Result<PutResult> CacheClient::PutStream(std::string_view bucket, std::string_view key, int fd) {
  bool started = false;
  uint64_t sent = 0;
  Outgoing req;
  req.method = "PUT";
  req.has_body = true;
  req.stream_fd = fd;
  req.stream_started = &started;
  req.stream_bytes = &sent;
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  return PutResult{std::string(a->head.Header("etag")), a->served_by, sent};
}

Result<PutResult> CacheClient::PutFile(std::string_view bucket, std::string_view key,
                                       const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Status::NotFound("open " + path + ": " + std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error(Status::InvalidArgument(path + ": not a regular file"));
  }
  Outgoing req;
  req.method = "PUT";
  req.has_body = true;
  req.body_fd = fd;
  req.body_bytes = static_cast<uint64_t>(st.st_size);
  Result<Answer> a = impl_->Execute(bucket, key, req);
  close(fd);
  if (!a) return Error(a.error());
  return PutResult{std::string(a->head.Header("etag")), a->served_by, req.body_bytes};
}

Result<std::string> CacheClient::Get(std::string_view bucket, std::string_view key) {
  Outgoing req;
  req.method = "GET";
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  return std::move(a->body);
}

Result<uint64_t> CacheClient::GetToFd(std::string_view bucket, std::string_view key, int fd,
                                      const std::function<Status(std::string_view)>& check) {
  struct stat st {};
  int flags = fcntl(fd, F_GETFL);
  // splice(2) refuses a file open O_APPEND (EINVAL, as `kumo cache get >> FILE` makes): that one
  // is written like a pipe.
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flags >= 0 && !(flags & O_APPEND);
  if (regular && check && (flags & O_ACCMODE) != O_RDWR)
    return Error(Status::InvalidArgument("a checked download needs the file open O_RDWR"));
  uint64_t handed = 0;
  // Into a regular file the body is spliced and `check` sees it read back; anywhere else (a
  // pipe, a terminal) it is written from the receive buffer, which `check` sees first.
  std::function<Status(std::string_view)> through = [&](std::string_view piece) {
    handed += piece.size();
    if (check)
      if (Status s = check(piece); !s.ok()) return s;
    return regular ? Status::Ok() : WriteAllFd(fd, piece);
  };
  Outgoing req;
  req.method = "GET";
  req.body_file = regular ? fd : -1;
  if (!regular || check) req.sink = &through;  // a file nobody checks is not read back
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  return req.sink != nullptr ? handed : a->head.content_length.value_or(0);
}

Result<uint64_t> CacheClient::GetToFile(std::string_view bucket, std::string_view key,
                                        const std::string& path) {
  std::string partial = path + ".kumo-partial";
  int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error(Errno("open " + partial, errno));
  Result<uint64_t> n = GetToFd(bucket, key, fd);
  bool closed = close(fd) == 0;
  if (n && !closed) n = Error(Errno("close " + partial, errno));
  if (n && std::rename(partial.c_str(), path.c_str()) != 0)
    n = Error(Errno("rename to " + path, errno));
  if (!n) unlink(partial.c_str());
  return n;
}

Result<std::string> CacheClient::GetRange(std::string_view bucket, std::string_view key,
                                          uint64_t first, uint64_t length) {
  if (length == 0) return std::string();
  Outgoing req;
  req.method = "GET";
  uint64_t last = length > UINT64_MAX - first ? UINT64_MAX : first + length - 1;
  req.extra_headers = "Range: bytes=" + std::to_string(first) + "-" + std::to_string(last) + "\r\n";
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  // A server may ignore Range (RFC 9110 §14.2) and send the whole object with 200.
  if (a->head.status == 200) {
    if (first >= a->body.size()) return std::string();
    return a->body.substr(static_cast<size_t>(first), static_cast<size_t>(length));
  }
  return std::move(a->body);
}

Result<ObjectStat> CacheClient::Stat(std::string_view bucket, std::string_view key) {
  Outgoing req;
  req.method = "HEAD";
  Result<Answer> a = impl_->Execute(bucket, key, req);
  if (!a) return Error(a.error());
  ObjectStat st;
  st.size_bytes = a->head.content_length.value_or(0);
  st.etag = std::string(a->head.Header("etag"));
  st.served_by = a->served_by;
  st.owner = a->owner;
  return st;
}

Status CacheClient::Delete(std::string_view bucket, std::string_view key) {
  Outgoing req;
  req.method = "DELETE";
  Result<Answer> a = impl_->Execute(bucket, key, req);
  return a ? Status::Ok() : a.error();
}

std::optional<Member> CacheClient::OwnerOf(std::string_view bucket, std::string_view key) const {
  std::shared_ptr<const MaglevTable> t = impl_->Table();
  if (t == nullptr) return std::nullopt;
  int owner = t->LookupObject(bucket, key);
  if (owner < 0) return std::nullopt;
  return t->members()[static_cast<size_t>(owner)];
}

const ClientCounters& CacheClient::counters() const { return impl_->counters; }

size_t CacheClient::IdleConnections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->do_CheckPid();
  size_t n = 0;
  for (const auto& [ep, fds] : impl_->idle) n += fds.size();
  return n;
}

}  // namespace kumo::cache
