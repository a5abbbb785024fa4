// libFuzzer target for the cache's HTTP request-head parser (src/cache/protocol/http_parser.h), the
// first code that sees untrusted bytes. Beyond "does not crash" (ASan/UBSan catch memory and
// UB errors) it checks the parser's contract on every input:
//   - kDone: head_bytes ends with CRLF CRLF inside the input and within max_head_bytes, at most
//     max_headers fields, every view (method, target, names, values) points into the head,
//     the target is origin-form, and parsing exactly the head again gives the same answer;
//   - kError: a status the server knows how to send, with a reason;
//   - kIncomplete: only while the input is still within max_head_bytes (a bound, not a buffer
//     that grows for ever).
// The chunked decoder (ChunkedDecoder) gets the body after a chunked head, or the whole input
// when there is none: everything it returns lies inside the input, it never consumes more than
// it was given, it counts what it decoded, and decoding the same bytes split at an
// input-chosen point (and one byte at a time) gives the same state, bytes and error.
// It also feeds the input to ResolveRange and IfNoneMatchMatches. Built two ways: with clang and
// -fsanitize=fuzzer (KUMO_FUZZ=ON, `make fuzz`), and under gcc with replay_main.cc as the
// ctest `fuzz_http_parser_replay`.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "cache/protocol/http_parser.h"
#include "fuzz_check.h"

namespace {

using kumo::cache::ByteRange;
using kumo::cache::ChunkedDecoder;
using kumo::cache::ChunkedState;
using kumo::cache::ChunkedStep;
using kumo::cache::ParseRequestHead;
using kumo::cache::ParseResult;
using kumo::cache::ParserLimits;
using kumo::cache::ParseState;
using kumo::cache::RangeOutcome;
using kumo::cache::RequestHead;

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckDone(std::string_view buf, const ParserLimits& limits, const RequestHead& h) {
  FUZZ_CHECK(h.head_bytes >= 4 && h.head_bytes <= buf.size());
  FUZZ_CHECK(h.head_bytes <= limits.max_head_bytes);
  std::string_view head = buf.substr(0, h.head_bytes);
  FUZZ_CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  FUZZ_CHECK(h.headers.size() <= limits.max_headers);
  FUZZ_CHECK(!h.method_text.empty() && Inside(h.method_text, head));
  FUZZ_CHECK(!h.target.empty() && h.target[0] == '/' && Inside(h.target, head));
  FUZZ_CHECK(h.version_minor == 0 || h.version_minor == 1);
  for (const auto& f : h.headers) {
    FUZZ_CHECK(!f.name.empty() && Inside(f.name, head) && Inside(f.value, head));
    FUZZ_CHECK(f.value.find_first_of("\r\n") == std::string_view::npos);
  }
  for (std::string_view v : {h.authorization, h.range, h.if_none_match}) FUZZ_CHECK(Inside(v, head));
  // The parser is stateless: the head alone, without what follows it, parses the same.
  RequestHead again;
  ParseResult r = ParseRequestHead(head, limits, &again);
  FUZZ_CHECK(r.state == ParseState::kDone);
  FUZZ_CHECK(again.head_bytes == h.head_bytes && again.content_length == h.content_length);
  FUZZ_CHECK(again.keep_alive == h.keep_alive && again.target == h.target);
}

struct Decoded {
  ChunkedState state = ChunkedState::kMore;
  int error_status = 0;
  size_t consumed = 0;
  std::string data;
};

// Decodes `body` in pieces of at most `piece` bytes (0: whole), checking each step.
Decoded DecodeChunked(std::string_view body, const ParserLimits& limits, size_t piece) {
  ChunkedDecoder d(limits);
  Decoded out;
  size_t from = 0;
  while (from < body.size() || from == 0) {
    std::string_view rest = body.substr(from, piece == 0 ? body.size() : piece);
    from += rest.size();
    while (true) {
      ChunkedStep s = d.Decode(rest);
      FUZZ_CHECK(s.consumed <= rest.size());
      FUZZ_CHECK(Inside(s.data, rest.substr(0, s.consumed)));
      out.data.append(s.data);
      out.consumed += s.consumed;
      rest.remove_prefix(s.consumed);
      out.state = s.state;
      if (s.state == ChunkedState::kError) {
        FUZZ_CHECK(s.error_status == 400 || s.error_status == 413 || s.error_status == 431);
        FUZZ_CHECK(!s.error_reason.empty());
        out.error_status = s.error_status;
      }
      if (s.state != ChunkedState::kMore) {
        FUZZ_CHECK(d.Decode(rest).consumed == 0);  // finished: nothing more is taken
        FUZZ_CHECK(d.body_bytes() == out.data.size());
        return out;
      }
      if (rest.empty()) break;
    }
    if (body.empty()) break;
  }
  FUZZ_CHECK(out.consumed == body.size());  // kMore: every byte was taken
  FUZZ_CHECK(d.body_bytes() == out.data.size());
  return out;
}

void CheckChunked(std::string_view body, const ParserLimits& limits, size_t split) {
  Decoded whole = DecodeChunked(body, limits, 0);
  for (size_t piece : {split, size_t{1}}) {
    if (piece == 0 || (piece == 1 && body.size() > 4096)) continue;  // bytewise: short inputs
    Decoded parts = DecodeChunked(body, limits, piece);
    FUZZ_CHECK(parts.state == whole.state && parts.error_status == whole.error_status);
    FUZZ_CHECK(parts.consumed == whole.consumed && parts.data == whole.data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  ParserLimits limits;
  RequestHead h;
  ParseResult r = ParseRequestHead(buf, limits, &h);
  switch (r.state) {
    case ParseState::kDone:
      CheckDone(buf, limits, h);
      break;
    case ParseState::kError:
      FUZZ_CHECK(r.error_status == 400 || r.error_status == 417 ||
                 r.error_status == 431 || r.error_status == 501 || r.error_status == 505);
      FUZZ_CHECK(!r.error_reason.empty());
      break;
    case ParseState::kIncomplete:
      FUZZ_CHECK(buf.size() <= limits.max_head_bytes);
      break;
  }
  if (r.state == ParseState::kDone && h.chunked) {
    CheckChunked(buf.substr(h.head_bytes), limits, 1 + (size > 0 ? data[size - 1] % 61 : 0));
  } else {
    CheckChunked(buf, limits, 1 + (size > 0 ? data[size - 1] % 61 : 0));
  }
  // Ranges against a size taken from the input (so small and huge sizes both occur).
  uint64_t object_size = 0;
  if (size > 0) std::memcpy(&object_size, data, size < 8 ? size : 8);
  object_size >>= (size > 0 ? data[0] % 64 : 0);
  for (std::string_view range : {h.range, buf}) {
    ByteRange br;
    RangeOutcome o = kumo::cache::ResolveRange(range, object_size, &br);
    if (o == RangeOutcome::kSatisfiable) {
      FUZZ_CHECK(br.length > 0 && br.first < object_size);
      FUZZ_CHECK(br.length <= object_size - br.first);
    }
  }
  (void)kumo::cache::IfNoneMatchMatches(buf, "\"00000000000000ab\"");
  (void)kumo::cache::IfNoneMatchMatches(h.if_none_match, "\"00000000000000ab\"");
  return 0;
}
