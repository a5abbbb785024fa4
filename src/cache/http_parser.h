// A strict, bounded HTTP/1.1 request-head parser for the cache (RFC 9112), kept apart from
// storage and from the event loop: it reads bytes, never a socket, so it can be unit-tested and
// fuzzed on its own.
//
// Strict means: CRLF line endings only, no obs-fold (RFC 9112 §5.2), header names are tokens,
// Content-Length is digits only and a repeated one must agree (RFC 9112 §6.3), Transfer-Encoding
// is refused (a cache object always has a known size: chunked gets 411, any other coding 501),
// Transfer-Encoding together with Content-Length is a 400 (request smuggling, RFC 9112 §6.1),
// HTTP/1.1 requires Host (RFC 9112 §3.2). Bounded means: the whole head (request line and
// headers) is at most `max_head_bytes` (431 beyond), at most `max_headers` fields.
//
// The parser is stateless: call it again with the longer buffer when it says kIncomplete (the
// head is at most 16 KiB, so re-scanning costs little and keeps no state to get wrong).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kumo::cache {

enum class Method { kGet, kHead, kPut, kDelete, kOther };

struct HeaderField {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // leading and trailing whitespace removed
};

// Views into the caller's buffer: valid while those bytes are.
struct RequestHead {
  Method method = Method::kOther;
  std::string_view method_text;
  std::string_view target;  // origin-form, starts with '/'
  int version_minor = 1;    // HTTP/1.0 or HTTP/1.1
  std::vector<HeaderField> headers;
  std::optional<uint64_t> content_length;
  bool keep_alive = true;          // HTTP/1.1 default unless "Connection: close"
  bool expect_continue = false;    // "Expect: 100-continue"
  std::string_view authorization;  // raw header values, empty when absent
  std::string_view range;
  std::string_view if_none_match;
  size_t head_bytes = 0;  // bytes of the head including the final CRLF CRLF

  // The value of the first header named `lower_name` (ASCII case-insensitive), or empty.
  std::string_view Header(std::string_view lower_name) const;
};

struct ParserLimits {
  size_t max_head_bytes = 16 * 1024;
  size_t max_headers = 100;
};

enum class ParseState { kIncomplete, kDone, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  int error_status = 0;           // with kError: 400, 411, 431, 501 or 505
  std::string_view error_reason;  // static text, for the response body
};

// Parses the request head at the start of `buf`. kDone fills `out` (out->head_bytes says where
// the body starts); kIncomplete means more bytes are needed (and `buf` is still within limits).
ParseResult ParseRequestHead(std::string_view buf, const ParserLimits& limits, RequestHead* out);

// A single byte range resolved against an object of `size` bytes (RFC 9110 §14.1.2):
// "bytes=a-b" (b clamped to size-1), "bytes=a-", "bytes=-n" (the last n bytes).
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};
enum class RangeOutcome { kIgnore, kSatisfiable, kUnsatisfiable };
// kIgnore for a syntactically invalid or multi-range header (RFC 9110 §14.2 lets a server
// ignore Range; we then send the whole object with 200); kUnsatisfiable becomes 416.
RangeOutcome ResolveRange(std::string_view header, uint64_t size, ByteRange* out);

// If-None-Match (RFC 9110 §13.1.2) with the weak comparison: true when `header` is "*" or lists
// `etag` (quoted, e.g. "\"00ab...\""), with or without a W/ prefix.
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

}  // namespace kumo::cache
