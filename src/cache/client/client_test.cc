// The client's response-head parser (RFC 9112 §4, §6): the pure part of client.cc. The client
// against real `kumo cache serve` processes is test/integration/cache_client_test.cc.
#include "cache/client/client.h"

#include <gtest/gtest.h>

#include <string>

namespace kumo::cache {
namespace {

TEST(CacheClientResponseParser, AcceptsWellFormedHeadsAndRefusesMalformedOnes) {
  ResponseHead h;
  std::string err;
  std::string ok =
      "HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nETag: \"ab\"\r\n"
      "Content-Length: 5\r\n\r\nhello";
  ASSERT_EQ(ParseResponseHead(ok, &h, &err), ResponseParse::kDone) << err;
  EXPECT_EQ(h.status, 206);
  EXPECT_EQ(h.reason, "Partial Content");
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_EQ(h.Header("etag"), "\"ab\"");
  EXPECT_EQ(h.head_bytes, ok.size() - 5);
  EXPECT_FALSE(h.close);
  for (size_t cut = 0; cut < h.head_bytes; ++cut)
    EXPECT_EQ(ParseResponseHead(std::string_view(ok).substr(0, cut), &h, &err),
              ResponseParse::kIncomplete)
        << cut;

  ASSERT_EQ(ParseResponseHead("HTTP/1.1 204\r\nConnection: keep-alive, close\r\n\r\n", &h, &err),
            ResponseParse::kDone);
  EXPECT_TRUE(h.close);
  EXPECT_EQ(h.reason, "");
  ASSERT_EQ(ParseResponseHead("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &h, &err),
            ResponseParse::kDone);
  EXPECT_TRUE(h.close);  // HTTP/1.0 closes unless it says keep-alive

  for (const std::string bad : {
           "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",               // bare LF
           "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",               // obs-fold
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/2 200 OK\r\n\r\n",
           "HTTP/1.1 20 OK\r\n\r\n",
           "HTTP/1.1 200OK\r\n\r\n",
           "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n",
       })
    EXPECT_EQ(ParseResponseHead(bad, &h, &err), ResponseParse::kError) << bad;
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(ParseResponseHead(many + "\r\n", &h, &err), ResponseParse::kError);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 200 OK\r\nA: " + std::string(17000, 'x'), &h, &err),
            ResponseParse::kError);  // no end of head within 16 KiB
}

}  // namespace
}  // namespace kumo::cache
