// The cache server on loopback (port 0, temp dirs), spoken to with raw sockets so the tests
// control every byte (pipelining, chunked uploads, malformed heads).
#include "cache/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "base/sha256.h"
#include "cache/routing/maglev.h"
#include "test/support/test_process.h"

namespace kumo::cache {

// gtest names the parameter in failure messages (found by ADL, so not in the unnamed namespace).
void PrintTo(IoBackend backend, std::ostream* os) { *os << IoBackendName(backend); }

namespace {

std::string BackendName(const ::testing::TestParamInfo<IoBackend>& info) {
  return IoBackendName(info.param);
}

const std::string kSecret = "server-test-secret-0123456789abcdef";
const std::string kAcl =
    "namespaces:\n  team-a:\n    read: [data]\n    write: [data]\n  readers:\n    read: [data]\n";

using test_process::RandomBytes;
using Response = test_process::HttpReply;

// One connection; every byte is the test's.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(test_process::ConnectLoopback(port)) {
    EXPECT_GE(fd_, 0) << "connect to port " << port;
  }
  ~Client() { close(fd_); }
  void Send(const std::string& bytes) { ASSERT_TRUE(test_process::SendAll(fd_, bytes)); }
  // Reads one response; a HEAD, 204 or 304 has no body whatever Content-Length says.
  Response Read(bool head_request = false) {
    Response r;
    if (!test_process::ReadReply(fd_, &buf_, head_request, &r)) r.status = 0;
    return r;
  }
  Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& extra_headers = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra_headers;
    if (method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    Send(req + "\r\n" + body);
    return Read(method == "HEAD");
  }
  bool ClosedByPeer() {
    char c;
    return buf_.empty() && read(fd_, &c, 1) == 0;
  }

 private:
  int fd_;
  std::string buf_;
};

std::string Auth(const std::string& ns, int64_t exp_offset_s = 600,
                 const std::string& secret = kSecret) {
  return "Authorization: Bearer " +
         MakeHs256Token(secret, "system:serviceaccount:" + ns + ":sa", "kumo", "kumo-cache",
                        time(nullptr) + exp_offset_s) +
         "\r\n";
}

// Every test runs against both I/O backends (io_worker.h): the HTTP behaviour must not depend
// on how the bytes are moved. Without io_uring the uring half fails saying why, unless
// KUMO_SKIP_URING_TESTS=1 (then it is skipped).
class CacheServerTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == IoBackend::kUring) {
      UringProbe probe = ProbeUring();
      if (!probe.usable && std::getenv("KUMO_SKIP_URING_TESTS") != nullptr)
        GTEST_SKIP() << "io_uring: " << probe.detail;
      ASSERT_TRUE(probe.usable) << "io_uring: " << probe.detail
                                << " (KUMO_SKIP_URING_TESTS=1 skips the uring half)";
    }
    dir_ = test_process::MakeTempDir("kumo-cache-server");
    ASSERT_FALSE(dir_.empty());
    Start();
  }
  void TearDown() override {
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Start(uint64_t capacity = 64 << 20, uint64_t max_object = 0,
             const MaglevRouter* router = nullptr, Origin* origin = nullptr,
             bool verify_reads = false) {
    server_.reset();
    store_.reset();
    StoreOptions so;
    so.dir = dir_;
    so.capacity_bytes = capacity;
    so.max_object_bytes = max_object;
    so.verify_reads = verify_reads;
    store_ = std::move(*ObjectStore::Open(so));
    AuthOptions ao;
    ao.secret = kSecret;
    auth_ = std::make_unique<Authenticator>(*Authenticator::Load(ao, kAcl));
    ServerOptions options = options_;
    options.io = GetParam();
    options.router = router;
    options.origin = origin;
    auto s = CacheServer::Start(options, store_.get(), auth_.get());
    ASSERT_TRUE(s.has_value()) << s.error().message();
    server_ = std::move(*s);
  }
  uint16_t port() const { return server_->port(); }

  ServerOptions options_;  // timeouts and limits for Start(); io, router and origin are set there
  std::string dir_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<Authenticator> auth_;
  MaglevRouter router_;  // outlives server_ (TearDown stops the server first)
  std::unique_ptr<CacheServer> server_;
};

TEST_P(CacheServerTest, PutGetHeadRangeEtagDeleteRoundTrip) {
  Client c(port());
  const std::string a = Auth("team-a");
  for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{200 * 1024}}) {  // both paths
    std::string body = RandomBytes(size, static_cast<uint32_t>(size));
    std::string target = "/v1/objects/data/dir/obj-" + std::to_string(size) + ".bin";
    Response put = c.Call("PUT", target, body, a);
    ASSERT_EQ(put.status, 201) << put.body;
    std::string etag = "\"" + Hex64(Xxh64(body)) + "\"";
    EXPECT_EQ(put.headers["etag"], etag);
    Response get = c.Call("GET", target, "", a);
    ASSERT_EQ(get.status, 200);
    EXPECT_EQ(get.body, body);
    EXPECT_EQ(get.headers["etag"], etag);
    Response head = c.Call("HEAD", target, "", a);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers["content-length"], std::to_string(size));
    EXPECT_EQ(c.Call("GET", target, "", a + "If-None-Match: " + etag + "\r\n").status, 304);
    EXPECT_EQ(c.Call("GET", target, "", a + "If-None-Match: \"nope\"\r\n").status, 200);
    if (size >= 1000) {
      Response r = c.Call("GET", target, "", a + "Range: bytes=10-19\r\n");
      EXPECT_EQ(r.status, 206);
      EXPECT_EQ(r.body, body.substr(10, 10));
      EXPECT_EQ(r.headers["content-range"], "bytes 10-19/" + std::to_string(size));
      r = c.Call("GET", target, "", a + "Range: bytes=-7\r\n");
      EXPECT_EQ(r.body, body.substr(size - 7));
      r = c.Call("GET", target, "", a + "Range: bytes=999-\r\n");
      EXPECT_EQ(r.body, body.substr(999));
    }
    Response bad = c.Call("GET", target, "", a + "Range: bytes=" + std::to_string(size) + "-\r\n");
    EXPECT_EQ(bad.status, 416);
    EXPECT_EQ(bad.headers["content-range"], "bytes */" + std::to_string(size));
    EXPECT_EQ(c.Call("DELETE", target, "", a).status, 204);
    EXPECT_EQ(c.Call("GET", target, "", a).status, 404);
    EXPECT_EQ(c.Call("DELETE", target, "", a).status, 404);
  }
  std::string metrics = c.Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("kumo_cache_requests_total{method=\"PUT\",code=\"201\"} 4"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kumo_cache_request_duration_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("kumo_cache_misses_total 4"), std::string::npos);
}

TEST_P(CacheServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c(port());
  const std::string a = Auth("team-a");
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/x", "xx", a).status, 201);
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/y", std::string(100000, 'y'), a).status, 201);
  std::string get = " HTTP/1.1\r\nHost: t\r\n" + a + "\r\n";
  c.Send("GET /v1/objects/data/y" + get + "GET /v1/objects/data/x" + get +
         "PUT /v1/objects/data/z HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n" + a +
         "\r\nzzzGET /v1/objects/data/z" + get);
  EXPECT_EQ(c.Read().body, std::string(100000, 'y'));
  EXPECT_EQ(c.Read().body, "xx");
  EXPECT_EQ(c.Read().status, 201);
  EXPECT_EQ(c.Read().body, "zzz");
}

TEST_P(CacheServerTest, StrictParserAnswersAndCloses) {
  {
    Client c(port());
    c.Send("PUT /v1/objects/data/k HTTP/1.1\r\nHost: t\r\n" + Auth("team-a") + "\r\nabc");
    Response r = c.Read();
    EXPECT_EQ(r.status, 411);
    EXPECT_NE(r.body.find("Content-Length"), std::string::npos);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  for (const std::string te : {"Transfer-Encoding: gzip\r\n", "Transfer-Encoding: gzip, chunked\r\n",
                               "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"}) {
    Client c(port());
    c.Send("PUT /v1/objects/data/k HTTP/1.1\r\nHost: t\r\n" + te + Auth("team-a") +
           "\r\n3\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(c.Read().status, te.find("Content-Length") == std::string::npos ? 501 : 400) << te;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(port());
    c.Send("GARBAGE\r\n\r\n");
    EXPECT_EQ(c.Read().status, 400);
  }
  {
    Client c(port());
    c.Send("GET /v1/objects/data/k HTTP/1.1\r\nHost: t\r\nX: " + std::string(20000, 'a'));
    EXPECT_EQ(c.Read().status, 431);
  }
  Client c(port());
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/a/../b", "", Auth("team-a")).status, 400);
  EXPECT_EQ(c.Call("GET", "/v1/objects/Data/b", "", Auth("team-a")).status, 400);
  EXPECT_EQ(c.Call("POST", "/v1/objects/data/b", "", Auth("team-a")).status, 405);
  EXPECT_EQ(store_->object_count(), 0u);
}

// `body` in the chunked coding, in chunks of 1..max_chunk bytes (some with extensions), then
// the last-chunk, `trailers` and the final CRLF.
std::string Chunked(const std::string& body, size_t max_chunk, uint32_t seed,
                    const std::string& trailers = "") {
  std::mt19937 rng(seed);
  std::string out;
  char size[32];
  for (size_t off = 0; off < body.size();) {
    size_t n = std::min(body.size() - off, 1 + static_cast<size_t>(rng() % max_chunk));
    std::snprintf(size, sizeof size, rng() % 2 ? "%zx" : "%zX", n);
    out += size;
    if (rng() % 8 == 0) out += ";ext=\"v\"";
    out += "\r\n" + body.substr(off, n) + "\r\n";
    off += n;
  }
  return out + "0\r\n" + trailers + "\r\n";
}

std::string ChunkedPutHead(const std::string& target, const std::string& extra) {
  return "PUT " + target + " HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n" + extra +
         "\r\n";
}

TEST_P(CacheServerTest, ChunkedPutRoundTripInManyChunksThenAPipelinedGet) {
  Client c(port());
  const std::string a = Auth("team-a");
  std::string body = RandomBytes(5 << 20, 11);  // more than one reservation step of the store
  std::string wire = Chunked(body, 70000, 3, "Checksum: ignored\r\nX-Other: also\r\n");
  // The chunked PUT and a GET behind it, sent in pieces that cut chunk lines anywhere.
  std::string all = ChunkedPutHead("/v1/objects/data/big", a) + wire +
                    "GET /v1/objects/data/big HTTP/1.1\r\nHost: t\r\n" + a + "\r\n";
  std::thread sender([&] {
    std::mt19937 rng(5);
    for (size_t off = 0; off < all.size();) {
      size_t n = std::min(all.size() - off, 1 + static_cast<size_t>(rng() % 9000));
      c.Send(all.substr(off, n));
      off += n;
    }
  });
  Response put = c.Read();
  Response get = c.Read();
  sender.join();
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.headers["etag"], "\"" + Hex64(Xxh64(body)) + "\"");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.body.size(), body.size());
  EXPECT_TRUE(get.body == body);
  EXPECT_EQ(store_->used_bytes(), body.size());  // the store's over-reservation was given back
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/tmp"));
  // An empty chunked body is an empty object; the connection is still in step.
  c.Send(ChunkedPutHead("/v1/objects/data/empty", a) + "0\r\n\r\n");
  EXPECT_EQ(c.Read().status, 201);
  Response empty = c.Call("GET", "/v1/objects/data/empty", "", a);
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.headers["content-length"], "0");
}

TEST_P(CacheServerTest, ChunkedPutWithExpectContinueGets100First) {
  Client c(port());
  const std::string a = Auth("team-a");
  c.Send(ChunkedPutHead("/v1/objects/data/e", a + "Expect: 100-continue\r\n"));
  EXPECT_EQ(c.Read().status, 100);
  c.Send(Chunked("hello, chunked world", 4, 1));
  Response put = c.Read();
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/e", "", a).body, "hello, chunked world");
  // Refused before the body (403): answered at once, and the connection closes (a chunked
  // body has no length to skip by).
  Client r(port());
  r.Send(ChunkedPutHead("/v1/objects/data/e", Auth("readers") + "Expect: 100-continue\r\n"));
  Response refused = r.Read();
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.headers["connection"], "close");
  EXPECT_TRUE(r.ClosedByPeer());
}

TEST_P(CacheServerTest, ChunkedPutOverMaxObjectIs413MidStreamAndLeavesNothing) {
  Start(/*capacity=*/64 << 20, /*max_object=*/100000);
  const std::string a = Auth("team-a");
  Client c(port());
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/over", "the old object", a).status, 201);
  c.Send(ChunkedPutHead("/v1/objects/data/over", a) +
         Chunked(RandomBytes(150000, 2), 10000, 4));
  Response r = c.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("--max-object"), std::string::npos) << r.body;
  // The rest of the refused body was decoded and dropped: the connection is in step.
  Response old = c.Call("GET", "/v1/objects/data/over", "", a);
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(old.body, "the old object");  // the partial upload never replaced it
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/tmp"));
  EXPECT_EQ(store_->object_count(), 1u);
  // Exactly max_object is fine.
  c.Send(ChunkedPutHead("/v1/objects/data/max", a) + Chunked(std::string(100000, 'm'), 999, 5));
  EXPECT_EQ(c.Read().status, 201);
}

TEST_P(CacheServerTest, ChunkedPutThatCannotFitIs507AndLeavesNothing) {
  Start(/*capacity=*/1 << 20);
  const std::string a = Auth("team-a");
  // An upload in progress reserves 900,000 of the 1 MiB; its 100 Continue says it has.
  Client holder(port());
  holder.Send("PUT /v1/objects/data/held HTTP/1.1\r\nHost: t\r\n" + a +
              "Content-Length: 900000\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(holder.Read().status, 100);
  Client c(port());
  c.Send(ChunkedPutHead("/v1/objects/data/k", a) + Chunked(std::string(300000, 'k'), 30000, 6));
  Response r = c.Read();
  EXPECT_EQ(r.status, 507);
  EXPECT_FALSE(store_->Stat("data", "k").has_value());
  // What fits still fits, on the same connection.
  c.Send(ChunkedPutHead("/v1/objects/data/small", a) + Chunked(std::string(100000, 's'), 30000, 7));
  EXPECT_EQ(c.Read().status, 201);
  holder.Send(std::string(900000, 'h'));
  EXPECT_EQ(holder.Read().status, 201);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/tmp"));
  EXPECT_EQ(store_->used_bytes(), 1000000u);
}

TEST_P(CacheServerTest, MalformedChunkedBodyIs400ClosesAndStoresNothing) {
  const std::string a = Auth("team-a");
  for (const std::string& bad : {std::string("3\r\nabcd\r\n0\r\n\r\n"), std::string("3\nabc\r\n"),
                                 std::string("zz\r\n"), std::string("0\r\nBad Trailer\r\n\r\n"),
                                 "1;x=" + std::string(5000, 'x') + "\r\n"}) {
    Client c(port());
    c.Send(ChunkedPutHead("/v1/objects/data/bad", a) + "2\r\nok\r\n" + bad);
    Response r = c.Read();
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_FALSE(store_->Stat("data", "bad").has_value());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/tmp"));
}

TEST_P(CacheServerTest, BadTokensGet401Or403AndReadOrWriteNothing) {
  Client c(port());
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/secret", "top", Auth("team-a")).status, 201);
  struct Case {
    std::string header;
    int status;
  };
  std::vector<Case> cases = {
      {"", 401},
      {Auth("team-a", -3600), 401},                                       // expired
      {Auth("team-a", 600, "a-different-secret-of-enough-length"), 401},  // forged
      {"Authorization: Bearer not.a.jwt\r\n", 401},
      {Auth("team-b"), 403},  // wrong namespace
  };
  for (const Case& k : cases) {
    Response get = c.Call("GET", "/v1/objects/data/secret", "", k.header);
    EXPECT_EQ(get.status, k.status) << k.header;
    EXPECT_EQ(get.body.find("top"), std::string::npos);
    if (k.status == 401) {
      EXPECT_EQ(get.headers["www-authenticate"].rfind("Bearer", 0), 0u);
    }
    EXPECT_EQ(c.Call("PUT", "/v1/objects/data/new", "evil", k.header).status, k.status);
    EXPECT_EQ(c.Call("DELETE", "/v1/objects/data/secret", "", k.header).status, k.status);
  }
  // Read-only namespace: may read, may not write.
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/secret", "", Auth("readers")).status, 200);
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/new", "evil", Auth("readers")).status, 403);
  EXPECT_EQ(store_->object_count(), 1u);
  EXPECT_FALSE(store_->Stat("data", "new").has_value());
}

// A token with sha256_keys (what the kumo server hands dataset pushers) stores an upload only
// when its bytes hash to the SHA-256 its key ends in: sized and chunked bodies alike; a
// mismatch is a 400 that stores nothing and leaves the connection in step.
TEST_P(CacheServerTest, Sha256KeysTokenStoresOnlyBytesThatHashToTheirKey) {
  TokenScope scope{{"data/p/"}, {"data/p/"}, true};
  std::string auth = "Authorization: Bearer " +
                     MakeHs256Token(kSecret, "system:serviceaccount:team-a:sa", "kumo",
                                    "kumo-cache", time(nullptr) + 600, 0, &scope) +
                     "\r\n";
  const std::string body = "the bytes", other = "other bytes";
  const std::string key = "/v1/objects/data/p/" + Sha256Hex(body);
  Client c(port());
  EXPECT_EQ(c.Call("PUT", key, other, auth).status, 400);
  EXPECT_FALSE(store_->Stat("data", "p/" + Sha256Hex(body)).has_value());
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/p/not-a-digest", body, auth).status, 400);
  EXPECT_EQ(c.Call("PUT", key, body, auth).status, 201);  // the same connection, in step
  Response got = c.Call("GET", key, "", auth);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, body);
  // Chunked: the mismatch is found at the last chunk; the stored object is untouched.
  Client d(port());
  d.Send("PUT " + key + " HTTP/1.1\r\nHost: t\r\n" + auth +
         "Transfer-Encoding: chunked\r\n\r\n4\r\nothe\r\n7\r\nr bytes\r\n0\r\n\r\n");
  EXPECT_EQ(d.Read().status, 400);
  EXPECT_EQ(c.Call("GET", key, "", auth).body, body);
  // Without sha256_keys the same namespace writes any key.
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/p/free", other, Auth("team-a")).status, 201);
}

TEST_P(CacheServerTest, RestartKeepsObjects) {
  std::string body = RandomBytes(300000, 7);
  {
    Client c(port());
    ASSERT_EQ(c.Call("PUT", "/v1/objects/data/keep/me", body, Auth("team-a")).status, 201);
  }
  Start();
  Client c(port());
  Response r = c.Call("GET", "/v1/objects/data/keep/me", "", Auth("team-a"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, body);
}

TEST_P(CacheServerTest, TooLargeIs413AndBiggerThanCapacityIs507) {
  Start(/*capacity=*/1 << 20, /*max_object=*/1000);
  Client c(port());
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/big", std::string(1001, 'b'), Auth("team-a")).status,
            413);
  // The refused body was skipped: the connection still works.
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/ok", std::string(1000, 'b'), Auth("team-a")).status,
            201);
  Client c2(port());
  c2.Send("PUT /v1/objects/data/huge HTTP/1.1\r\nHost: t\r\n" + Auth("team-a") +
          "Content-Length: 2097152\r\n\r\n");
  EXPECT_EQ(c2.Read().status, 507);
}

TEST_P(CacheServerTest, SmallCapacityEvictsOverHttp) {
  Start(/*capacity=*/100 * 1000);
  Client c(port());
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(c.Call("PUT", "/v1/objects/data/k" + std::to_string(i), std::string(1000, 'k'),
                     Auth("team-a"))
                  .status,
              201);
  EXPECT_LE(store_->used_bytes(), 100u * 1000);
  EXPECT_EQ(store_->evictions(), 200u);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/k299", "", Auth("team-a")).status, 200);
  EXPECT_NE(c.Call("GET", "/metrics").body.find("kumo_cache_evictions_total 200"),
            std::string::npos);
}

TEST_P(CacheServerTest, ConcurrentPutsOfOneKeyLeaveOneWholeObject) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      Client c(port());
      for (int i = 0; i < 5; ++i)
        EXPECT_EQ(
            c.Call("PUT", "/v1/objects/data/same", std::string(150000 + t, 'a' + t), Auth("team-a"))
                .status,
            201);
    });
  for (auto& th : threads) th.join();
  Client c(port());
  Response r = c.Call("GET", "/v1/objects/data/same", "", Auth("team-a"));
  ASSERT_EQ(r.status, 200);
  ASSERT_FALSE(r.body.empty());
  EXPECT_EQ(r.body, std::string(r.body.size(), r.body[0]));
  EXPECT_EQ(r.body.size(), 150000u + static_cast<size_t>(r.body[0] - 'a'));
  EXPECT_EQ(r.headers["etag"], "\"" + Hex64(Xxh64(r.body)) + "\"");
  EXPECT_EQ(store_->object_count(), 1u);
}

TEST_P(CacheServerTest, HeadOfAMissingObjectHasNoBodyAndKeepsTheConnectionInStep) {
  Client c(port());
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/here", "abc", Auth("team-a")).status, 201);
  EXPECT_EQ(c.Call("HEAD", "/v1/objects/data/missing", "", Auth("team-a")).status, 404);
  EXPECT_EQ(c.Call("HEAD", "/v1/objects/data/here", "", "").status, 401);
  Response r = c.Call("GET", "/v1/objects/data/here", "", Auth("team-a"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abc");
}

TEST_P(CacheServerTest, ClusterRoutingRedirectsAfterAuthAndServesOwnKeysLocally) {
  // In-process: this node is "me"; "other" owns about half the names (Maglev §3.4).
  MaglevRouter& router = router_;
  auto view = std::make_shared<ClusterView>();
  view->table = *MaglevTable::Build({{"me", "127.0.0.1:1"}, {"other", "192.0.2.7:8470"}});
  view->self = view->table->IndexOf("me");
  view->generation = 1;
  router.Swap(view);
  Start(64 << 20, 0, &router);
  std::string mine, theirs;
  for (int i = 0; mine.empty() || theirs.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    (view->table->members()[view->table->LookupObject("data", k)].name == "me" ? mine : theirs) = k;
  }
  Client c(port());
  const std::string a = Auth("team-a");
  EXPECT_EQ(c.Call("PUT", "/v1/objects/data/" + mine, "local", a).status, 201);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + mine, "", a).body, "local");
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) {
    Response r = c.Call(method, "/v1/objects/data/" + theirs, method[0] == 'P' ? "body" : "", a);
    EXPECT_EQ(r.status, 307) << method;
    EXPECT_EQ(r.headers["location"], "http://192.0.2.7:8470/v1/objects/data/" + theirs);
    EXPECT_EQ(r.headers["x-kumo-owner"], "other");
    EXPECT_TRUE(r.body.empty());
  }
  // Auth first: no redirect (and no owner) for a bad or insufficient token.
  Response r = c.Call("GET", "/v1/objects/data/" + theirs, "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.count("location"), 0u);
  r = c.Call("PUT", "/v1/objects/data/" + theirs, "x", Auth("readers"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.count("x-kumo-owner"), 0u);
  // X-Kumo-No-Redirect: 1 serves locally.
  EXPECT_EQ(
      c.Call("PUT", "/v1/objects/data/" + theirs, "forced", a + "X-Kumo-No-Redirect: 1\r\n").status,
      201);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + theirs, "", a + "X-Kumo-No-Redirect: 1\r\n").body,
            "forced");
  // Not a member any more: everything goes to the members. No members: everything is local.
  auto gone = std::make_shared<ClusterView>(*view);
  gone->self = -1;
  gone->generation = 2;
  router.Swap(gone);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + mine, "", a).status, 307);
  auto empty = std::make_shared<ClusterView>();
  empty->table = *MaglevTable::Build({});
  empty->generation = 3;
  router.Swap(empty);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + theirs, "", a).status, 200);
  std::string metrics = c.Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("kumo_cache_redirects_total 5\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("kumo_cache_requests_total{method=\"GET\",code=\"307\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("\nkumo_cache_cluster_generation 3\n"), std::string::npos);
}

// An origin directory beside the fixture's cache dir (removed with it).
class CacheServerOriginTest : public CacheServerTest {
 protected:
  void SetUp() override {
    CacheServerTest::SetUp();
    // Beside dir_, spelled without "..": TearDown removes dir_ first, and a path through it
    // would no longer resolve.
    std::filesystem::path d(dir_);
    origin_dir_ = (d.parent_path() / (d.filename().string() + "-origin")).string();
    std::filesystem::create_directories(origin_dir_ + "/data");
    origin_ = std::move(*Origin::Open(origin_dir_));
  }
  void TearDown() override {
    CacheServerTest::TearDown();
    origin_.reset();
    std::filesystem::remove_all(origin_dir_);
  }
  void WriteOrigin(const std::string& key, const std::string& bytes) {
    std::filesystem::create_directories(
        std::filesystem::path(origin_dir_ + "/data/" + key).parent_path());
    std::ofstream(origin_dir_ + "/data/" + key, std::ios::binary) << bytes;
  }
  std::string origin_dir_;
  std::unique_ptr<Origin> origin_;
};

TEST_P(CacheServerOriginTest, MissReadsThroughOnceAndServesTheCopy) {
  Start(64 << 20, 0, nullptr, origin_.get());
  std::string big = RandomBytes(300000, 11), small = RandomBytes(500, 12);
  WriteOrigin("train/big.bin", big);
  WriteOrigin("train/small.bin", small);
  Client c(port());
  const std::string a = Auth("team-a");
  Response r = c.Call("GET", "/v1/objects/data/train/big.bin", "", a);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, big);
  EXPECT_EQ(r.headers["etag"], "\"" + Hex64(Xxh64(big)) + "\"");
  r = c.Call("GET", "/v1/objects/data/train/small.bin", "", a + "Range: bytes=10-19\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, small.substr(10, 10));
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/train/big.bin", "", a).body, big);  // a hit now
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/train/none", "", a).status, 404);
  WriteOrigin("head-only", "h");
  EXPECT_EQ(c.Call("HEAD", "/v1/objects/data/head-only", "", a).status, 404);  // GET only
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/train/big.bin", "", "").status, 401);
  std::string m = c.Call("GET", "/metrics").body;
  EXPECT_NE(m.find("\nkumo_cache_origin_fetches_total 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("\nkumo_cache_origin_fetched_bytes_total 300500\n"), std::string::npos);
  EXPECT_NE(m.find("\nkumo_cache_hits_total 1\n"), std::string::npos);
  EXPECT_EQ(store_->object_count(), 2u);
}

TEST_P(CacheServerOriginTest, OnlyTheOwnerReadsThrough) {
  auto view = std::make_shared<ClusterView>();
  view->table = *MaglevTable::Build({{"me", "127.0.0.1:1"}, {"other", "192.0.2.7:8470"}});
  view->self = view->table->IndexOf("me");
  view->generation = 1;
  router_.Swap(view);
  Start(64 << 20, 0, &router_, origin_.get());
  std::string mine, theirs;
  for (int i = 0; mine.empty() || theirs.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    (view->table->members()[view->table->LookupObject("data", k)].name == "me" ? mine : theirs) = k;
  }
  WriteOrigin(mine, "mine");
  WriteOrigin(theirs, "theirs");
  Client c(port());
  const std::string a = Auth("team-a");
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + theirs, "", a).status, 307);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + theirs, "", a + "X-Kumo-No-Redirect: 1\r\n").status,
            404);
  EXPECT_EQ(origin_->fetches(), 0u);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/" + mine, "", a).body, "mine");
  EXPECT_EQ(origin_->fetches(), 1u);
}

// The read-through copy runs off the I/O worker (origin.h). With one worker and the copy of
// slow.bin held at its start (a slow origin), that worker still answers another connection;
// the parked connection's pipelined request waits its turn; a second miss of the same name
// shares the one copy. Ordering, not timing: the held copy is released only after the other
// connection's answers are in.
TEST_P(CacheServerOriginTest, SlowFillDoesNotBlockTheWorkersOtherConnections) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  int started = 0;
  OriginOptions o;
  o.before_copy = [&](const std::string& name) {
    if (name != "data/slow.bin") return;
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  };
  origin_ = std::move(*Origin::Open(origin_dir_, o));
  options_.workers = 1;
  Start(64 << 20, 0, nullptr, origin_.get());
  std::string slow = RandomBytes(300000, 21), resident = RandomBytes(1000, 22);
  WriteOrigin("slow.bin", slow);
  const std::string a = Auth("team-a");
  Client other(port());
  ASSERT_EQ(other.Call("PUT", "/v1/objects/data/resident", resident, a).status, 201);

  Client parked(port()), second(port());
  std::string get = "GET /v1/objects/data/slow.bin HTTP/1.1\r\nHost: t\r\n" + a + "\r\n";
  parked.Send(get + "GET /v1/objects/data/resident HTTP/1.1\r\nHost: t\r\n" + a + "\r\n");
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started == 1; });  // the copy is in flight and held
  }
  second.Send(get);
  Response r = other.Call("GET", "/v1/objects/data/resident", "", a);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, resident);
  EXPECT_EQ(other.Call("GET", "/v1/objects/data/none", "", a).status, 404);  // another miss
  EXPECT_EQ(other.Call("GET", "/healthz").status, 200);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  r = parked.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, slow);
  r = parked.Read();  // the pipelined request, answered after the parked one
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, resident);
  r = second.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, slow);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(origin_->fetches(), 1u);
}

TEST_P(CacheServerOriginTest, VerifiedReadNeverServesACorruptObject) {
  Start(64 << 20, 0, nullptr, nullptr, /*verify_reads=*/true);
  Client c(port());
  const std::string a = Auth("team-a");
  std::string body = RandomBytes(200 * 1024, 13);  // the sendfile path
  for (const std::string key : {"rot", "rot2"})
    ASSERT_EQ(c.Call("PUT", "/v1/objects/data/" + key, body, a).status, 201);
  auto flip = [&](const std::string& name) {
    std::string hex = Hex64(Xxh64(name));
    int fd = open((dir_ + "/objects/" + hex.substr(0, 2) + "/" + hex).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char x = 0;
    ASSERT_EQ(pwrite(fd, &x, 1, static_cast<off_t>(40 + name.size() + 150000)), 1);
    close(fd);
  };
  flip("data/rot");
  // A Range inside the intact part still needs the whole object to verify.
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/rot", "", a + "Range: bytes=0-9\r\n").status, 404);
  EXPECT_EQ(c.Call("GET", "/v1/objects/data/rot", "", a).status, 404);
  EXPECT_FALSE(store_->Stat("data", "rot").has_value());
  // With an origin, the damaged copy is replaced by a fresh fetch.
  Start(64 << 20, 0, nullptr, origin_.get(), true);
  Client c2(port());
  WriteOrigin("rot2", body);
  flip("data/rot2");
  Response r = c2.Call("GET", "/v1/objects/data/rot2", "", a);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, body);
  std::string m = c2.Call("GET", "/metrics").body;
  EXPECT_NE(m.find("\nkumo_cache_corrupt_total 1\n"), std::string::npos) << m;  // this process
  EXPECT_NE(m.find("\nkumo_cache_origin_fetches_total 1\n"), std::string::npos);
}

// A body far bigger than the socket buffers goes out through sendfile in many steps while the
// reader is slow (the backend must wait for room: EPOLLOUT or a POLLOUT submission), and the
// pipelined request behind it is answered after it, in order.
TEST_P(CacheServerTest, LargeBodyToASlowReaderThenThePipelinedRequest) {
  const std::string a = Auth("team-a");
  std::string big = RandomBytes(24 << 20, 7);
  ASSERT_EQ(Client(port()).Call("PUT", "/v1/objects/data/big", big, a).status, 201);
  Client c(port());
  ASSERT_EQ(c.Call("PUT", "/v1/objects/data/small", "small", a).status, 201);
  auto get = [&](const std::string& key, const std::string& extra = "") {
    return "GET /v1/objects/data/" + key + " HTTP/1.1\r\nHost: t\r\n" + a + extra + "\r\n";
  };
  c.Send(get("big") + get("big", "Range: bytes=5-9\r\n") + get("small"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the server's send block
  Response r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == big) << "body differs (" << r.body.size() << " bytes)";
  r = c.Read();
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, big.substr(5, 5));
  EXPECT_EQ(c.Read().body, "small");
}

// Timeouts (ServerOptions, shortened here): a head that never completes gets 408 and a close,
// an idle keep-alive connection is closed, and a connection in the middle of an upload when the
// server stops is closed with its upload discarded.
TEST_P(CacheServerTest, SlowHeadGets408IdleConnectionIsClosedStopDiscardsUploads) {
  options_.header_timeout_s = 1;
  options_.idle_timeout_s = 1;
  Start();
  Client slow(port()), idle(port()), upload(port());
  slow.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n");
  upload.Send("PUT /v1/objects/data/half HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n" +
              Auth("team-a") + "\r\n" + std::string(1000, 'h'));
  Response r = slow.Read();  // blocks until the sweep (once a second) finds it overdue
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(slow.ClosedByPeer());
  EXPECT_TRUE(idle.ClosedByPeer());
  server_.reset();  // the upload is still open (its body timeout is 30 s)
  EXPECT_TRUE(upload.ClosedByPeer());
  EXPECT_FALSE(store_->Stat("data", "half").has_value());
}

TEST_P(CacheServerTest, MetricsNameTheIoBackendInUse) {
  Client c(port());
  std::string m = c.Call("GET", "/metrics").body;
  std::string mine = std::string("kumo_cache_io_backend{backend=\"") + IoBackendName(GetParam());
  std::string other =
      std::string("kumo_cache_io_backend{backend=\"") +
      IoBackendName(GetParam() == IoBackend::kUring ? IoBackend::kEpoll : IoBackend::kUring);
  EXPECT_NE(m.find(mine + "\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find(other + "\"} 0\n"), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Io, CacheServerTest,
                         ::testing::Values(IoBackend::kEpoll, IoBackend::kUring), BackendName);
INSTANTIATE_TEST_SUITE_P(Io, CacheServerOriginTest,
                         ::testing::Values(IoBackend::kEpoll, IoBackend::kUring), BackendName);

}  // namespace
}  // namespace kumo::cache
