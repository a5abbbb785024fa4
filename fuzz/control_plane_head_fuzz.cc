// libFuzzer target for the control plane's request handling before any handler runs
// (src/http/request_head.h): the bytes of a connection go through Beast's request parser with
// the server's limits, and a complete head through CheckFraming and ToRequest — the code every
// unauthenticated client reaches. On every input:
//   - the parser never reads past its 16 KiB head limit without an error;
//   - CheckFraming refuses with 400 or 501 only, with a JSON body naming the code;
//   - a head it lets through has one Host in HTTP/1.1, at most one Authorization, and
//     Transfer-Encoding only alone, as exactly "chunked";
//   - ToRequest keeps the method and target, lower-cases every header name, leaves the body
//     empty, and its path is the decoded part of the target before '?'.
// Built with clang -fsanitize=fuzzer (KUMO_FUZZ=ON, `make fuzz`) and under gcc with
// replay_main.cc as the ctest `fuzz_control_plane_head_replay`.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "http/request_head.h"
#include "fuzz_check.h"

namespace {

namespace bhttp = boost::beast::http;

size_t Count(const kumo::http::RequestHead& head, bhttp::field f) {
  auto [first, last] = head.equal_range(f);
  return static_cast<size_t>(std::distance(first, last));
}

void CheckAccepted(const bhttp::request<bhttp::empty_body>& message) {
  const kumo::http::RequestHead& head = message.base();
  if (head.version() >= 11) FUZZ_CHECK(Count(head, bhttp::field::host) == 1);
  FUZZ_CHECK(Count(head, bhttp::field::authorization) <= 1);
  if (Count(head, bhttp::field::transfer_encoding) > 0) {
    FUZZ_CHECK(Count(head, bhttp::field::content_length) == 0);
    FUZZ_CHECK(message.chunked());
  }
  kumo::http::Request r = kumo::http::ToRequest(head, "127.0.0.1:1");
  FUZZ_CHECK(r.method == std::string(head.method_string()));
  FUZZ_CHECK(r.target == std::string(head.target()));
  FUZZ_CHECK(r.body.empty());
  for (const auto& [name, value] : r.headers)
    for (char c : name) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)));
  FUZZ_CHECK(r.path == kumo::http::PercentDecode(r.target.substr(0, r.target.find('?'))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(16 * 1024);
  parser.eager(false);  // the head only, as the server reads it before the check
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data, size), ec);
  FUZZ_CHECK(used <= size);
  if (ec || !parser.is_header_done()) {
    FUZZ_CHECK(used <= 16 * 1024 || ec);
    return 0;
  }
  const kumo::http::RequestHead& head = parser.get().base();
  if (auto refused = kumo::http::CheckFraming(head)) {
    FUZZ_CHECK(refused->status == 400 || refused->status == 501);
    FUZZ_CHECK(refused->body.starts_with("{\"code\":" + std::to_string(refused->status)));
    return 0;
  }
  CheckAccepted(parser.get());
  return 0;
}
