#include "cache/http_parser.h"

#include <algorithm>
#include <charconv>

namespace kumo::cache {
namespace {

// tchar from RFC 9110 §5.6.2.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when a comma-separated header value lists `token` (case-insensitive).
bool ListHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<uint64_t> ParseDigits(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

ParseResult Fail(int status, std::string_view reason) {
  return {ParseState::kError, status, reason};
}

Method MethodOf(std::string_view m) {
  if (m == "GET") return Method::kGet;
  if (m == "HEAD") return Method::kHead;
  if (m == "PUT") return Method::kPut;
  if (m == "DELETE") return Method::kDelete;
  return Method::kOther;
}

}  // namespace

std::string_view RequestHead::Header(std::string_view lower_name) const {
  for (const HeaderField& h : headers)
    if (EqualsIgnoreCase(h.name, lower_name)) return h.value;
  return {};
}

ParseResult ParseRequestHead(std::string_view buf, const ParserLimits& limits, RequestHead* out) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  size_t skip = 0;
  while (skip + 1 < buf.size() && skip < 4 && buf[skip] == '\r' && buf[skip + 1] == '\n') skip += 2;
  size_t end = buf.find("\r\n\r\n", skip);
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head_bytes) return Fail(431, "request head too large");
    // A bare LF or a NUL is never valid; fail early instead of waiting for 16 KiB.
    for (size_t i = skip; i < buf.size(); ++i) {
      if (buf[i] == '\0') return Fail(400, "NUL in request head");
      if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) return Fail(400, "bare LF");
    }
    return {};
  }
  if (end + 4 > limits.max_head_bytes) return Fail(431, "request head too large");
  *out = RequestHead{};
  out->head_bytes = end + 4;
  std::string_view head = buf.substr(skip, end + 2 - skip);  // every line ends with CRLF

  // Request line: method SP request-target SP HTTP-version (RFC 9112 §3).
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return Fail(400, "bad request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return Fail(400, "bad request line");
  out->method_text = line.substr(0, sp1);
  for (char c : out->method_text)
    if (!IsTokenChar(static_cast<unsigned char>(c))) return Fail(400, "bad method");
  out->method = MethodOf(out->method_text);
  out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (out->target.front() != '/') return Fail(400, "request target must be origin-form");
  for (char c : out->target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Fail(400, "control character in request target");
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    out->version_minor = 1;
  } else if (version == "HTTP/1.0") {
    out->version_minor = 0;
    out->keep_alive = false;
  } else if (version.size() == 8 && version.starts_with("HTTP/")) {
    return Fail(505, "HTTP version not supported");
  } else {
    return Fail(400, "bad HTTP version");
  }

  bool has_host = false;
  bool has_transfer_encoding = false;
  std::string_view transfer_encoding;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.empty()) return Fail(400, "empty header line");
    if (line.front() == ' ' || line.front() == '\t') return Fail(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Fail(400, "bad header line");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!IsTokenChar(static_cast<unsigned char>(c))) return Fail(400, "bad header name");
    std::string_view value = Trim(line.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return Fail(400, "control character in header");
    }
    if (out->headers.size() == limits.max_headers) return Fail(431, "too many header fields");
    out->headers.push_back({name, value});

    if (EqualsIgnoreCase(name, "content-length")) {
      std::optional<uint64_t> n = ParseDigits(value);
      if (!n) return Fail(400, "bad Content-Length");
      if (out->content_length && *out->content_length != *n)
        return Fail(400, "conflicting Content-Length");
      out->content_length = n;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      has_transfer_encoding = true;
      transfer_encoding = value;
    } else if (EqualsIgnoreCase(name, "host")) {
      if (has_host) return Fail(400, "more than one Host");
      has_host = true;
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (ListHasToken(value, "close")) out->keep_alive = false;
      if (ListHasToken(value, "keep-alive") && out->version_minor == 0) out->keep_alive = true;
    } else if (EqualsIgnoreCase(name, "expect")) {
      if (!EqualsIgnoreCase(value, "100-continue")) return Fail(417, "unsupported Expect");
      out->expect_continue = true;
    } else if (EqualsIgnoreCase(name, "authorization")) {
      out->authorization = value;
    } else if (EqualsIgnoreCase(name, "range")) {
      out->range = value;
    } else if (EqualsIgnoreCase(name, "if-none-match")) {
      out->if_none_match = value;
    }
  }
  if (out->version_minor == 1 && !has_host) return Fail(400, "HTTP/1.1 request without Host");
  if (has_transfer_encoding) {
    if (out->content_length) return Fail(400, "Transfer-Encoding with Content-Length");
    if (ListHasToken(transfer_encoding, "chunked"))
      return Fail(411, "chunked transfer coding is not supported: send Content-Length");
    return Fail(501, "transfer coding not implemented");
  }
  return {ParseState::kDone, 0, {}};
}

RangeOutcome ResolveRange(std::string_view header, uint64_t size, ByteRange* out) {
  std::string_view spec = Trim(header);
  if (spec.size() < 6 || !EqualsIgnoreCase(spec.substr(0, 6), "bytes="))
    return RangeOutcome::kIgnore;
  spec.remove_prefix(6);
  if (spec.find(',') != std::string_view::npos) return RangeOutcome::kIgnore;  // one range only
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeOutcome::kIgnore;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  if (a.empty()) {  // suffix-range: the last n bytes
    std::optional<uint64_t> n = ParseDigits(b);
    if (!n) return RangeOutcome::kIgnore;
    if (*n == 0 || size == 0) return RangeOutcome::kUnsatisfiable;
    uint64_t len = std::min(*n, size);
    *out = {size - len, len};
    return RangeOutcome::kSatisfiable;
  }
  std::optional<uint64_t> first = ParseDigits(a);
  if (!first) return RangeOutcome::kIgnore;
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    std::optional<uint64_t> l = ParseDigits(b);
    if (!l || *l < *first) return RangeOutcome::kIgnore;  // invalid: ignored (RFC 9110 §14.1.1)
    last = std::min(*l, last);
  }
  if (*first >= size) return RangeOutcome::kUnsatisfiable;
  *out = {*first, last - *first + 1};
  return RangeOutcome::kSatisfiable;
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  std::string_view v = Trim(header);
  if (v == "*") return true;
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view tag = Trim(v.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace kumo::cache
