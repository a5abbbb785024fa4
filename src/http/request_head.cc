#include "http/request_head.h"

#include <cctype>

namespace kumo::http {
namespace bhttp = boost::beast::http;

namespace {

size_t Count(const RequestHead& head, bhttp::field f) {
  auto [first, last] = head.equal_range(f);
  return static_cast<size_t>(std::distance(first, last));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Transfer-Encoding's value when it is not exactly `chunked` (case and outer blanks aside),
// else "". REQUIRES: exactly one Transfer-Encoding field.
std::string UnsupportedCoding(const RequestHead& head) {
  auto v = head[bhttp::field::transfer_encoding];
  std::string coding = Lower(Trim(std::string_view(v.data(), v.size())));
  return coding == "chunked" ? "" : coding.empty() ? "(empty)" : coding;
}

void SplitTarget(Request& r) {
  auto q = r.target.find('?');
  r.path = PercentDecode(r.target.substr(0, q));
  if (q == std::string::npos) return;
  std::string_view rest = std::string_view(r.target).substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    if (!kv.empty())
      r.query[PercentDecode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
}

}  // namespace

Response ErrorAnswer(int status, const std::string& message) {
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;
    escaped.push_back(c);
  }
  return {status, "application/json",
          "{\"code\":" + std::to_string(status) + ",\"error\":\"" + escaped + "\"}\n", {}};
}

std::optional<Response> CheckFraming(const RequestHead& head) {
  size_t hosts = Count(head, bhttp::field::host);
  if (hosts > 1) return ErrorAnswer(400, "more than one Host header");
  if (hosts == 0 && head.version() >= 11)
    return ErrorAnswer(400, "missing Host header (required in HTTP/1.1)");
  if (Count(head, bhttp::field::authorization) > 1)
    return ErrorAnswer(400, "more than one Authorization header");
  size_t codings = Count(head, bhttp::field::transfer_encoding);
  if (codings == 0) return std::nullopt;
  // One field only: Beast's message reads the first field, its parser every one; with two
  // (an empty one, then `chunked`) they disagree on the framing (found by
  // fuzz/control_plane_head_fuzz.cc). RFC 9110 §5.3 allows combining them; refusing is safe.
  if (codings > 1) return ErrorAnswer(400, "more than one Transfer-Encoding header");
  if (Count(head, bhttp::field::content_length) > 0)
    return ErrorAnswer(400, "both Transfer-Encoding and Content-Length");
  if (head.version() < 11) return ErrorAnswer(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (std::string coding = UnsupportedCoding(head); !coding.empty())
    return ErrorAnswer(501, "transfer coding \"" + coding + "\" not implemented (only chunked)");
  return std::nullopt;
}

Request ToRequest(const RequestHead& head, std::string remote) {
  Request r;
  r.method = std::string(head.method_string());
  r.target = std::string(head.target());
  r.remote = std::move(remote);
  for (const auto& f : head) r.headers[Lower({f.name_string().data(), f.name_string().size()})] = std::string(f.value());
  SplitTarget(r);
  return r;
}

}  // namespace kumo::http
