#include "cache/protocol/http_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cache/storage/object_path.h"

namespace kumo::cache {
namespace {

ParseResult Parse(const std::string& s, RequestHead* h) { return ParseRequestHead(s, {}, h); }

TEST(HttpParser, ParsesAGetWithHeaders) {
  RequestHead h;
  std::string req =
      "GET /v1/objects/b/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
      "Range:  bytes=0-9 \r\nIf-None-Match: \"e\"\r\n\r\nNEXT";
  ParseResult r = Parse(req, &h);
  ASSERT_EQ(r.state, ParseState::kDone);
  EXPECT_EQ(h.method, Method::kGet);
  EXPECT_EQ(h.target, "/v1/objects/b/k");
  EXPECT_EQ(h.authorization, "Bearer t");
  EXPECT_EQ(h.range, "bytes=0-9");
  EXPECT_EQ(h.if_none_match, "\"e\"");
  EXPECT_EQ(h.head_bytes, req.size() - 4);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.Header("host"), "x");
}

TEST(HttpParser, IncompleteUntilTheBlankLine) {
  RequestHead h;
  std::string req = "PUT /v1/objects/b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
  for (size_t n = 0; n < req.size(); ++n)
    EXPECT_EQ(Parse(req.substr(0, n), &h).state, ParseState::kIncomplete) << n;
  ASSERT_EQ(Parse(req, &h).state, ParseState::kDone);
  EXPECT_EQ(h.content_length, 5u);
}

TEST(HttpParser, RejectsMalformedHeads) {
  struct Case {
    std::string req;
    int status;
  };
  const std::string host = "Host: x\r\n";
  std::vector<Case> cases = {
      {"GET /a HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET /a HTTP/2.0\r\n" + host + "\r\n", 505},
      {"GET /a FOO/1.1\r\n" + host + "\r\n", 400},
      {"GET a HTTP/1.1\r\n" + host + "\r\n", 400},  // not origin-form
      {"GET  /a HTTP/1.1\r\n" + host + "\r\n", 400},
      {"G(T /a HTTP/1.1\r\n" + host + "\r\n", 400},
      {"GET /a HTTP/1.1\r\n" + host + " folded\r\n\r\n", 400},  // obs-fold
      {"GET /a HTTP/1.1\r\n" + host + "Bad Name: v\r\n\r\n", 400},
      {"GET /a HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Content-Length: 1x\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", 501},
      {"PUT /a HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"PUT /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"PUT /a HTTP/1.1\r\n" + host + "Transfer-Encoding: ,\r\n\r\n", 400},
      {"PUT /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"PUT /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       400},
      {"GET /a HTTP/1.1\r\n" + host + "Host: y\r\n\r\n", 400},
      {"GET /a HTTP/1.1\r\n" + host + "X: a\x01b\r\n\r\n", 400},
      {"GET /a HTTP/1.1\n" + host + "\r\n\r\n", 400},  // bare LF
      {"GET /a HTTP/1.1\r\n" + host + "Expect: weird\r\n\r\n", 417},
  };
  for (const Case& c : cases) {
    RequestHead h;
    ParseResult r = Parse(c.req, &h);
    EXPECT_EQ(r.state, ParseState::kError) << c.req;
    EXPECT_EQ(r.error_status, c.status) << c.req;
  }
}

TEST(HttpParser, HeadLargerThan16KiBIs431) {
  RequestHead h;
  std::string big = "GET /a HTTP/1.1\r\nHost: x\r\nX: " + std::string(17 * 1024, 'a');
  EXPECT_EQ(Parse(big, &h).error_status, 431);
  EXPECT_EQ(Parse(big + "\r\n\r\n", &h).error_status, 431);
  std::string many = "GET /a HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(Parse(many + "\r\n", &h).error_status, 431);
}

TEST(HttpParser, AcceptsChunkedTransferCoding) {
  RequestHead h;
  ASSERT_EQ(Parse("PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h).state,
            ParseState::kDone);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.content_length.has_value());
  ASSERT_EQ(Parse("PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked\r\n\r\n", &h).state,
            ParseState::kDone);
  EXPECT_TRUE(h.chunked);
  ASSERT_EQ(Parse("PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &h).state,
            ParseState::kDone);
  EXPECT_FALSE(h.chunked);
}

// Feeds `body` to a fresh decoder in the pieces `cuts` (ascending offsets) makes; returns the
// final step with `*data` the decoded bytes and `*consumed` the bytes used.
ChunkedStep DecodeInPieces(const std::string& body, const std::vector<size_t>& cuts,
                           std::string* data, size_t* consumed, const ParserLimits& limits = {}) {
  ChunkedDecoder d(limits);
  data->clear();
  *consumed = 0;
  ChunkedStep last;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(body.size());
  for (size_t end : ends) {
    std::string piece = body.substr(from, end - from);  // its own buffer: ASan sees overreads
    std::string_view rest = piece;
    from = end;
    while (true) {
      last = d.Decode(rest);
      EXPECT_LE(last.consumed, rest.size());
      data->append(last.data);
      *consumed += last.consumed;
      rest.remove_prefix(last.consumed);
      if (last.state != ChunkedState::kMore) return last;
      if (rest.empty()) break;
    }
  }
  return last;
}

ChunkedStep DecodeWhole(const std::string& body, std::string* data, size_t* consumed,
                        const ParserLimits& limits = {}) {
  return DecodeInPieces(body, {}, data, consumed, limits);
}

TEST(ChunkedDecoder, DecodesChunksExtensionsAndTrailers) {
  std::string data;
  size_t consumed = 0;
  const std::string body =
      "3\r\nabc\r\n"
      "A;name=value;flag ; q = \"a \\\" b\"\r\n0123456789\r\n"
      "0000000000000000000001\r\nZ\r\n"  // leading zeros do not count as digits
      "0;last\r\n"
      "Checksum: abc\r\nX-Empty:\r\n"
      "\r\n";
  ChunkedStep s = DecodeWhole(body + "GET /next", &data, &consumed);
  ASSERT_EQ(s.state, ChunkedState::kDone) << s.error_reason;
  EXPECT_EQ(data, "abc0123456789Z");
  EXPECT_EQ(consumed, body.size());  // stops at the end of the body: the next request is left
  ChunkedDecoder d;
  ChunkedStep empty = d.Decode("0\r\n\r\n");
  EXPECT_EQ(empty.state, ChunkedState::kDone);
  EXPECT_EQ(d.body_bytes(), 0u);
  EXPECT_EQ(d.Decode("more").state, ChunkedState::kDone);  // stays done, consumes nothing
  EXPECT_EQ(d.Decode("more").consumed, 0u);
}

TEST(ChunkedDecoder, SameResultAtEverySplitPoint) {
  const std::vector<std::string> bodies = {
      "3\r\nabc\r\n10;x=\"q\\\"\"\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n",
      "1\r\n\r\r\n0\r\n\r\n",  // a CR as data
      "3\r\nabc\r\n4\nabcd\r\n0\r\n\r\n",    // bare LF: an error wherever the cut falls
      "3\r\nabcd\r\n0\r\n\r\n",               // data longer than its size
  };
  for (const std::string& body : bodies) {
    std::string whole_data;
    size_t whole_consumed = 0;
    ChunkedStep whole = DecodeWhole(body, &whole_data, &whole_consumed);
    for (size_t i = 0; i <= body.size(); ++i) {
      for (size_t j = i; j <= body.size(); ++j) {  // every pair of cuts: three pieces
        std::string data;
        size_t consumed = 0;
        ChunkedStep s = DecodeInPieces(body, {i, j}, &data, &consumed);
        ASSERT_EQ(s.state, whole.state) << body << " cut at " << i << "," << j;
        EXPECT_EQ(s.error_status, whole.error_status);
        if (s.state == ChunkedState::kDone) {
          EXPECT_EQ(data, whole_data);
          EXPECT_EQ(consumed, whole_consumed);
        }
      }
    }
    std::vector<size_t> every_byte;
    for (size_t i = 1; i < body.size(); ++i) every_byte.push_back(i);
    std::string data;
    size_t consumed = 0;
    ChunkedStep s = DecodeInPieces(body, every_byte, &data, &consumed);
    EXPECT_EQ(s.state, whole.state);
    if (s.state == ChunkedState::kDone) {
      EXPECT_EQ(data, whole_data);
    }
  }
}

TEST(ChunkedDecoder, RejectsMalformedBodies) {
  struct Case {
    std::string body;
    int status;
  };
  std::vector<Case> cases = {
      {"\r\n", 400},                        // no chunk size
      {"x\r\n", 400},                       // not hex
      {"-1\r\n", 400},
      {"+1\r\n", 400},
      {"0x3\r\nabc\r\n0\r\n\r\n", 400},
      {"3\nabc\r\n0\r\n\r\n", 400},          // bare LF after the size
      {"3\rabc", 400},                       // CR without LF
      {"3 \r\nabc\r\n", 400},               // BWS only before ';'
      {"3;\r\nabc\r\n", 400},               // empty extension name
      {"3;a=\r\nabc\r\n", 400},             // empty extension value
      {"3;a b\r\nabc\r\n", 400},
      {"3;a=b c\r\nabc\r\n", 400},
      {"3;a=\"b\r\nabc\r\n", 400},          // unterminated quoted string
      {"3;a=\"b\"c\r\nabc\r\n", 400},
      {"3;a=b\x01\r\nabc\r\n", 400},
      {"3\r\nabcd\r\n", 400},               // data longer than the size
      {"3\r\nabc\n0\r\n\r\n", 400},         // bare LF after the data
      {"3\r\nabc\r\n0\r\n\n", 400},         // bare LF ending the body
      {"0\r\nT: v\n\r\n", 400},              // bare LF in a trailer
      {"0\r\n folded\r\n\r\n", 400},        // obs-fold in the trailer section
      {"0\r\nBad Name: v\r\n\r\n", 400},
      {"0\r\nNoColon\r\n\r\n", 400},
      {"0\r\nT: a\x7f\r\n\r\n", 400},
      {"0\r\n\rX", 400},
      {"10000000000000000\r\n", 400},       // 17 significant digits: above 2^64 - 1
      {"3;x=" + std::string(5000, 'a') + "\r\n", 400},  // chunk-size line over 4096 bytes
      {"0\r\nT: " + std::string(17 * 1024, 'a') + "\r\n\r\n", 431},
  };
  std::string many = "0\r\n";
  for (int i = 0; i < 101; ++i) many += "T" + std::to_string(i) + ": v\r\n";
  cases.push_back({many + "\r\n", 431});
  for (const Case& c : cases) {
    std::string data;
    size_t consumed = 0;
    ChunkedStep s = DecodeWhole(c.body, &data, &consumed);
    EXPECT_EQ(s.state, ChunkedState::kError) << c.body;
    EXPECT_EQ(s.error_status, c.status) << c.body;
    EXPECT_FALSE(s.error_reason.empty());
  }
}

TEST(ChunkedDecoder, SizesUpToTheLimitAreAccepted) {
  ChunkedDecoder d;
  ChunkedStep s = d.Decode("ffffffffffffffff\r\nabc");
  EXPECT_EQ(s.state, ChunkedState::kMore);
  EXPECT_EQ(s.data, "abc");
  // The sum of chunk sizes may not pass 2^64 - 1 either.
  std::string data;
  size_t consumed = 0;
  ChunkedStep over = DecodeWhole("1\r\na\r\nffffffffffffffff\r\n", &data, &consumed);
  EXPECT_EQ(over.state, ChunkedState::kError);
  EXPECT_EQ(over.error_status, 413);
  ParserLimits tight;
  tight.max_chunk_size_digits = 2;
  EXPECT_EQ(DecodeWhole("ff\r\n", &data, &consumed, tight).state, ChunkedState::kMore);
  EXPECT_EQ(DecodeWhole("100\r\n", &data, &consumed, tight).error_status, 400);
}

TEST(HttpParser, ConnectionAndVersionDecideKeepAlive) {
  RequestHead h;
  ASSERT_EQ(Parse("GET /a HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", &h).state,
            ParseState::kDone);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(Parse("GET /a HTTP/1.0\r\n\r\n", &h).state, ParseState::kDone);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(Parse("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h).state,
            ParseState::kDone);
  EXPECT_TRUE(h.keep_alive);
}

// A bounded, deterministic mutation loop (a fuzzer's poor cousin that runs in every test run):
// flips, inserts and deletes bytes of valid requests; the parser must never crash, must stay
// within the buffer, and anything it accepts must be self-consistent.
TEST(HttpParser, SurvivesMutatedInput) {
  const std::vector<std::string> seeds = {
      "GET /v1/objects/b/k HTTP/1.1\r\nHost: x\r\nRange: bytes=1-2\r\n\r\n",
      "PUT /v1/objects/b/a/b/c HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: "
      "100-continue\r\n\r\n0123456789",
      "DELETE /v1/objects/b/k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"};
  std::mt19937 rng(20261202);
  const char kAlphabet[] = "\r\n :/-0123456789aZ\t\x00\x7f\xff";
  int done = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    std::string s = seeds[iter % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = rng() % s.size();
      char c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
      switch (rng() % 3) {
        case 0:
          s[pos] = c;
          break;
        case 1:
          s.insert(s.begin() + static_cast<long>(pos), c);
          break;
        default:
          s.erase(pos, 1);
      }
    }
    RequestHead h;
    ParseResult r = Parse(s, &h);
    if (r.state == ParseState::kDone) {
      ++done;
      ASSERT_LE(h.head_bytes, s.size());
      ASSERT_EQ(s.compare(h.head_bytes - 4, 4, "\r\n\r\n"), 0);
      ASSERT_FALSE(h.target.empty());
      ASSERT_EQ(h.target.front(), '/');
    } else if (r.state == ParseState::kError) {
      ASSERT_TRUE(r.error_status >= 400 && r.error_status <= 505) << r.error_status;
    }
  }
  EXPECT_GT(done, 0);
}

TEST(ByteRange, ResolvesTheThreeFormsAndClamps) {
  ByteRange r;
  ASSERT_EQ(ResolveRange("bytes=0-9", 100, &r), RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(ResolveRange("bytes=90-", 100, &r), RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(ResolveRange("bytes=-30", 100, &r), RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.first, 70u);
  ASSERT_EQ(ResolveRange("bytes=-300", 100, &r), RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.length, 100u);
  ASSERT_EQ(ResolveRange("bytes=50-1000", 100, &r), RangeOutcome::kSatisfiable);
  EXPECT_EQ(r.length, 50u);
  EXPECT_EQ(ResolveRange("bytes=100-", 100, &r), RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(ResolveRange("bytes=-0", 100, &r), RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(ResolveRange("bytes=5-2", 100, &r), RangeOutcome::kIgnore);
  EXPECT_EQ(ResolveRange("bytes=0-1,5-6", 100, &r), RangeOutcome::kIgnore);
  EXPECT_EQ(ResolveRange("items=0-1", 100, &r), RangeOutcome::kIgnore);
}

TEST(IfNoneMatch, WeakComparisonAndStar) {
  EXPECT_TRUE(IfNoneMatchMatches("*", "\"a\""));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", W/\"a\"", "\"a\""));
  EXPECT_FALSE(IfNoneMatchMatches("\"b\"", "\"a\""));
}

TEST(ObjectPath, ValidatesBucketAndKey) {
  auto ok = ParseObjectTarget("/v1/objects/my-bucket/a/b/c.bin");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->bucket, "my-bucket");
  EXPECT_EQ(ok->key, "a/b/c.bin");
  auto decoded = ParseObjectTarget("/v1/objects/b/a%20b");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->key, "a b");
  for (const std::string& bad : std::vector<std::string>{
           "/v1/objects/B/k", "/v1/objects//k", "/v1/objects/b", "/v1/objects/b/",
           "/v1/objects/b/a//c", "/v1/objects/b/../x", "/v1/objects/b/a/%2e%2e/x",
           "/v1/objects/b/a/./x", "/v1/objects/b/a%00", "/v1/objects/b/a%zz", "/v1/objects/b/a%2",
           "/v1/objects/b/k?x=1", "/v1/objects/" + std::string(64, 'a') + "/k",
           "/v1/objects/b/" + std::string(1025, 'k'), "/v1/objects/b/a%5Cb", "/v1/objects/b/a\\b",
           "/v1/objects/b/a%0Ab", "/v1/objects/b/a%1fb", "/v1/objects/b/a%7Fb",
           "/v1/objects/b/a%09b"})
    EXPECT_FALSE(ParseObjectTarget(bad).has_value()) << bad;
  EXPECT_TRUE(ParseObjectTarget("/v1/objects/b/" + std::string(1024, 'k')).has_value());
  // Bytes at and above 0x80 (UTF-8) and the other printable ASCII stay allowed.
  EXPECT_TRUE(ParseObjectTarget("/v1/objects/b/%C3%A9t%C3%A9~!$&'()*+,;=:@").has_value());
  EXPECT_EQ(ParseObjectTarget("/v1/objects/b/a%1Fb").error().message(), "control byte 0x1f in key");
}

}  // namespace
}  // namespace kumo::cache
