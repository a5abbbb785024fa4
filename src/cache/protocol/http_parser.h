// A strict, bounded HTTP/1.1 request-head parser for the cache (RFC 9112), kept apart from
// storage and from the event loop: it reads bytes, never a socket, so it can be unit-tested and
// fuzzed on its own.
//
// Strict means: CRLF line endings only, no obs-fold (RFC 9112 §5.2), header names are tokens,
// Content-Length is digits only and a repeated one must agree (RFC 9112 §6.3), the only transfer
// coding is `chunked`, once (any other coding is 501, chunked twice 400; RFC 9112 §6.1),
// Transfer-Encoding together with Content-Length is a 400 (request smuggling, RFC 9112 §6.1),
// so is Transfer-Encoding in an HTTP/1.0 request (its framing is faulty, RFC 9112 §6.1),
// HTTP/1.1 requires Host (RFC 9112 §3.2). Bounded means: the whole head (request line and
// headers) is at most `max_head_bytes` (431 beyond), at most `max_headers` fields.
//
// A chunked body (RFC 9112 §7.1) is decoded by ChunkedDecoder below, which unlike the head
// parser keeps state: a body has no size bound to re-scan within.
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
  bool chunked = false;            // "Transfer-Encoding: chunked": decode with ChunkedDecoder
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
  // A chunk-size line: the size, its extensions and CRLF (400 beyond).
  size_t max_chunk_line_bytes = 4096;
  // Significant hex digits of a chunk size (16: every size below 2^64; 400 beyond).
  size_t max_chunk_size_digits = 16;
  // The trailer section is bounded like a head: max_head_bytes and max_headers (431 beyond).
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

// An incremental decoder of the chunked transfer coding (RFC 9112 §7.1):
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
// Extensions are checked against that grammar and ignored; trailer fields are checked like
// header fields and discarded (the cache stores bytes, not metadata; RFC 9110 §6.5.1 lets a
// recipient drop them). Strict: CRLF only (a bare LF or a CR without LF is 400), hex digits
// only, nothing between a chunk's data and its CRLF. Bounded: see ParserLimits; it holds no
// buffer of its own, just a few counters, so input may arrive split at any byte.
//
// Example: "3\r\nabc\r\n0\r\n\r\n" decodes to "abc".
//
// Not thread-safe: one decoder per body.
enum class ChunkedState {
  kMore,   // the body is not over: call again with the unconsumed rest, or more input
  kDone,   // the body ended (after the trailer section's final CRLF)
  kError,  // malformed or over a limit: see error_status
};

struct ChunkedStep {
  ChunkedState state = ChunkedState::kMore;
  size_t consumed = 0;    // bytes of the input used; never pass them again
  std::string_view data;  // decoded body bytes: a view into the consumed input, maybe empty
  int error_status = 0;   // with kError: 400, 413 (the sum overflows 64 bits) or 431
  std::string_view error_reason;  // static text
};

class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const ParserLimits& limits = {}) : limits_(limits) {}
  // Consumes a prefix of `in` and returns at most one contiguous span of body bytes, so the
  // caller loops until kDone/kError or until it has passed all its input. After kDone or
  // kError every call returns the same state and consumes nothing.
  ChunkedStep Decode(std::string_view in);
  uint64_t body_bytes() const { return body_bytes_; }  // decoded so far

 private:
  enum class Phase {
    // The chunk-size line.
    kSize, kBwsBeforeSemicolon, kExtName, kExtAfterName, kExtValueStart, kExtToken, kExtQuoted,
    kExtQuotedEscape, kExtQuotedEnd, kLineLf,
    // chunk-data CRLF
    kData, kDataCr, kDataLf,
    // The trailer section (kFieldStart and after: counted against the trailer limits).
    kFieldStart, kFieldName, kFieldValue, kFieldLf, kEndLf, kDone, kError,
  };
  ChunkedStep Fail(int status, std::string_view reason, size_t consumed);

  ParserLimits limits_;
  Phase phase_ = Phase::kSize;
  uint64_t chunk_left_ = 0;      // kSize: the size so far; kData: bytes left of this chunk
  size_t size_digits_ = 0;       // significant digits of this chunk size
  bool size_any_digit_ = false;  // at least one digit, zeros included
  bool ext_name_ = false;        // kExtAfterName: still inside the name (no BWS yet)
  size_t line_bytes_ = 0;        // of the current chunk-size line or trailer section
  size_t trailer_bytes_ = 0;     // the trailer section, its final CRLF included
  size_t trailer_fields_ = 0;
  uint64_t body_bytes_ = 0;
  ChunkedStep error_;
};

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
