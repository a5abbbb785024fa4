#include "http/request_head.h"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace kumo::http {
namespace {

namespace bhttp = boost::beast::http;

// Parses `text` (a head ending in an empty line) with Beast, as the server does, and checks it.
std::optional<int> Verdict(const std::string& text) {
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.eager(false);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text), ec);
  EXPECT_TRUE(!ec && parser.is_header_done()) << text << ": " << ec.message();
  auto refused = CheckFraming(parser.get().base());
  return refused ? std::optional<int>(refused->status) : std::nullopt;
}

TEST(RequestHeadTest, HostIsRequiredOnceInHttp11) {
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), std::nullopt);
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(Verdict("GET / HTTP/1.0\r\n\r\n"), std::nullopt);
}

TEST(RequestHeadTest, AuthorizationMayNotRepeat) {
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n"), std::nullopt);
  EXPECT_EQ(Verdict("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n"
                    "authorization: Bearer y\r\n\r\n"),
            400);
}

TEST(RequestHeadTest, OnlyALoneChunkedTransferCodingIsAccepted) {
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: chunked\r\n\r\n"), std::nullopt);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: Chunked \r\n\r\n"), std::nullopt);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: xchunked\r\n\r\n"), 501);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: chunked, chunked\r\n\r\n"), 501);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: ,\r\n\r\n"), 501);
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: chunked,\r\n\r\n"), 501);
  // Found by the fuzzer: Beast's message looks at the first field, its parser at every one.
  EXPECT_EQ(Verdict(head + "Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(Verdict("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

TEST(RequestHeadTest, ToRequestDecodesTargetAndLowerCasesNames) {
  bhttp::request_parser<bhttp::empty_body> parser;
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(std::string(
                 "GET /v1/a%20b?x=1&y=two%2Fthree&z HTTP/1.1\r\nHost: h\r\nX-Kumo-Thing: v\r\n\r\n")),
             ec);
  ASSERT_FALSE(ec) << ec.message();
  Request r = ToRequest(parser.get().base(), "127.0.0.1:5");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/v1/a b");
  EXPECT_EQ(r.query.at("y"), "two/three");
  EXPECT_EQ(r.query.at("z"), "");
  EXPECT_EQ(r.Header("x-kumo-thing"), "v");
  EXPECT_EQ(r.remote, "127.0.0.1:5");
  EXPECT_TRUE(r.body.empty());
}

}  // namespace
}  // namespace kumo::http
