#include "cache/protocol/http_parser.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

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
    if (out->version_minor == 0) return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.1: chunked is the only coding we implement (others: 501) and may be applied
    // once; every Transfer-Encoding field counts, in order, as one list.
    int chunked = 0;
    for (const HeaderField& f : out->headers) {
      if (!EqualsIgnoreCase(f.name, "transfer-encoding")) continue;
      std::string_view list = f.value;
      while (true) {
        size_t comma = list.find(',');
        std::string_view coding = Trim(list.substr(0, comma));
        if (EqualsIgnoreCase(coding, "chunked")) {
          ++chunked;
        } else if (!coding.empty()) {  // empty list elements are allowed (RFC 9110 §5.6.1)
          return Fail(501, "transfer coding not implemented (only chunked)");
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    if (chunked != 1) return Fail(400, "Transfer-Encoding must be chunked, once");
    out->chunked = true;
  }
  return {ParseState::kDone, 0, {}};
}

namespace {

int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

bool IsWhitespace(unsigned char c) { return c == ' ' || c == '\t'; }

// qdtext of a quoted-string (RFC 9110 §5.6.4): HTAB, SP, VCHAR but '"' and '\', obs-text.
bool IsQuotedText(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

}  // namespace

ChunkedStep ChunkedDecoder::Fail(int status, std::string_view reason, size_t consumed) {
  phase_ = Phase::kError;
  error_ = ChunkedStep{ChunkedState::kError, 0, {}, status, reason};
  ChunkedStep step = error_;
  step.consumed = consumed;
  return step;
}

ChunkedStep ChunkedDecoder::Decode(std::string_view in) {
  if (phase_ == Phase::kDone) return {ChunkedState::kDone, 0, {}, 0, {}};
  if (phase_ == Phase::kError) return error_;
  size_t i = 0;
  while (i < in.size()) {
    if (phase_ == Phase::kData) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, in.size() - i));
      chunk_left_ -= take;
      body_bytes_ += take;
      if (chunk_left_ == 0) phase_ = Phase::kDataCr;
      return {ChunkedState::kMore, i + take, in.substr(i, take), 0, {}};
    }
    auto c = static_cast<unsigned char>(in[i++]);
    // After the chunk size or an extension value: ';', the line's CR, or BWS before a ';'.
    auto item_ended = [this](unsigned char ch) {
      if (ch == ';') {
        phase_ = Phase::kExtName;
      } else if (ch == '\r') {
        phase_ = Phase::kLineLf;
      } else if (IsWhitespace(ch)) {
        phase_ = Phase::kBwsBeforeSemicolon;
      } else {
        return false;
      }
      return true;
    };
    bool in_trailer = phase_ >= Phase::kFieldStart;
    if (in_trailer) {
      if (++trailer_bytes_ > limits_.max_head_bytes)
        return Fail(431, "chunked trailer section too large", i);
    } else if (phase_ != Phase::kDataCr && phase_ != Phase::kDataLf) {
      if (++line_bytes_ > limits_.max_chunk_line_bytes)
        return Fail(400, "chunk-size line too long", i);
    }
    bool expects_lf = phase_ == Phase::kLineLf || phase_ == Phase::kDataLf ||
                      phase_ == Phase::kFieldLf || phase_ == Phase::kEndLf;
    if (c == '\n' && !expects_lf) return Fail(400, "bare LF in chunked body", i);
    if (expects_lf && c != '\n') return Fail(400, "CR without LF in chunked body", i);
    switch (phase_) {
      case Phase::kSize: {
        int d = HexValue(c);
        if (d >= 0) {
          if ((chunk_left_ != 0 || d != 0) && ++size_digits_ > limits_.max_chunk_size_digits)
            return Fail(400, "chunk size has too many digits", i);
          chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(d);
          size_any_digit_ = true;
        } else if (!size_any_digit_) {
          return Fail(400, "chunk size is not hex", i);
        } else if (!item_ended(c)) {
          return Fail(400, "bad character after chunk size", i);
        }
        break;
      }
      case Phase::kBwsBeforeSemicolon:  // BWS is allowed only before ';' (RFC 9112 §7.1.1)
        if (c == ';') {
          phase_ = Phase::kExtName;
        } else if (!IsWhitespace(c)) {
          return Fail(400, "bad chunk extension", i);
        }
        break;
      case Phase::kExtName:  // after ';': BWS, then a token
        if (IsTokenChar(c)) {
          phase_ = Phase::kExtAfterName;
          ext_name_ = true;
        } else if (!IsWhitespace(c)) {
          return Fail(400, "bad chunk extension name", i);
        }
        break;
      case Phase::kExtAfterName:  // in the name (ext_name_) or in BWS after it
        if (IsTokenChar(c) && ext_name_) break;
        if (c == '=') {
          phase_ = Phase::kExtValueStart;
        } else if (c == ';') {
          phase_ = Phase::kExtName;
        } else if (c == '\r' && ext_name_) {
          phase_ = Phase::kLineLf;
        } else if (IsWhitespace(c)) {
          ext_name_ = false;
        } else {
          return Fail(400, "bad chunk extension", i);
        }
        break;
      case Phase::kExtValueStart:
        if (c == '"') {
          phase_ = Phase::kExtQuoted;
        } else if (IsTokenChar(c)) {
          phase_ = Phase::kExtToken;
        } else if (!IsWhitespace(c)) {
          return Fail(400, "bad chunk extension value", i);
        }
        break;
      case Phase::kExtToken:
        if (!IsTokenChar(c) && !item_ended(c)) return Fail(400, "bad chunk extension value", i);
        break;
      case Phase::kExtQuoted:
        if (c == '"') {
          phase_ = Phase::kExtQuotedEnd;
        } else if (c == '\\') {
          phase_ = Phase::kExtQuotedEscape;
        } else if (!IsQuotedText(c)) {
          return Fail(400, "bad quoted chunk extension value", i);
        }
        break;
      case Phase::kExtQuotedEscape:  // quoted-pair: HTAB, SP, VCHAR, obs-text
        if (c < 0x20 && c != '\t') return Fail(400, "bad quoted chunk extension value", i);
        if (c == 0x7f) return Fail(400, "bad quoted chunk extension value", i);
        phase_ = Phase::kExtQuoted;
        break;
      case Phase::kExtQuotedEnd:
        if (!item_ended(c)) return Fail(400, "bad chunk extension", i);
        break;
      case Phase::kLineLf:
        line_bytes_ = 0;
        size_digits_ = 0;
        size_any_digit_ = false;
        if (chunk_left_ == 0) {  // last-chunk: the trailer section follows
          phase_ = Phase::kFieldStart;
        } else {
          if (chunk_left_ > UINT64_MAX - body_bytes_) return Fail(413, "chunked body too large", i);
          phase_ = Phase::kData;
        }
        break;
      case Phase::kData:
        break;  // handled above
      case Phase::kDataCr:
        if (c != '\r') return Fail(400, "chunk data not followed by CRLF", i);
        phase_ = Phase::kDataLf;
        break;
      case Phase::kDataLf:
        phase_ = Phase::kSize;
        break;
      case Phase::kFieldStart:
        if (c == '\r') {
          phase_ = Phase::kEndLf;
        } else if (IsWhitespace(c)) {
          return Fail(400, "obsolete line folding in trailer", i);
        } else if (!IsTokenChar(c)) {
          return Fail(400, "bad trailer field name", i);
        } else if (++trailer_fields_ > limits_.max_headers) {
          return Fail(431, "too many trailer fields", i);
        } else {
          phase_ = Phase::kFieldName;
        }
        break;
      case Phase::kFieldName:
        if (c == ':') {
          phase_ = Phase::kFieldValue;
        } else if (!IsTokenChar(c)) {
          return Fail(400, "bad trailer field name", i);
        }
        break;
      case Phase::kFieldValue:
        if (c == '\r') {
          phase_ = Phase::kFieldLf;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
          return Fail(400, "control character in trailer field", i);
        }
        break;
      case Phase::kFieldLf:
        phase_ = Phase::kFieldStart;
        break;
      case Phase::kEndLf:
        phase_ = Phase::kDone;
        return {ChunkedState::kDone, i, {}, 0, {}};
      case Phase::kDone:
      case Phase::kError:
        break;  // returned before the loop
    }
  }
  return {ChunkedState::kMore, in.size(), {}, 0, {}};
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
