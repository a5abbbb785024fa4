// CacheClient and `kumo cache put|get|stat|rm|warm` against real `kumo cache serve` processes on
// loopback (port 0 + --port-file, temp dirs, auth on), each stopped by its PID. Covers round
// trips, a streamed 8 MiB file, client-side Maglev routing in a 3-node cluster (no 307 with the
// right member list, 307s followed with a stale one), token-file rotation, fork safety and the
// CLI end to end. (The response-head parser's cases are in src/cache/client/client_test.cc.)
#include "cache/client/client.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "cache/auth/auth.h"
#include "cache/storage/content_hash.h"
#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

using test_process::Metrics;
using test_process::MetricValue;
using test_process::RandomBytes;
using test_process::ReadAll;
using test_process::WriteAtomically;

const std::string kSecret = "client-test-secret-0123456789abcdef";
const std::string kAcl =
    "namespaces:\n  team-a:\n    read: [data]\n    write: [data]\n  readers:\n    read: [data]\n";

std::string Token(const std::string& ns) {
  return MakeHs256Token(kSecret, "system:serviceaccount:" + ns + ":sa", "kumo", "kumo-cache",
                        time(nullptr) + 600);
}

struct Node {
  std::string name;
  test_process::ServeProcess server;
  uint16_t port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Servers and a temp dir; every process is stopped by PID in TearDown.
class CacheClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_process::MakeTempDir("kumo-cache-client");
    ASSERT_FALSE(dir_.empty());
    WriteAtomically(dir_ + "/secret", kSecret + "\n");
    WriteAtomically(dir_ + "/acl.yaml", kAcl);
    WriteAtomically(token_file(), Token("team-a") + "\n");
  }
  void TearDown() override {
    nodes_.clear();  // stops every server by its PID
    std::filesystem::remove_all(dir_);
  }

  std::string token_file() const { return dir_ + "/token"; }
  std::string members_file() const { return dir_ + "/members"; }

  // Starts `names.size()` servers; with more than one they share members_file() and this waits
  // until each has loaded the full list.
  void StartNodes(const std::vector<std::string>& names) {
    bool cluster = names.size() > 1;
    if (cluster) WriteAtomically(members_file(), "# filled in once the ports are known\n");
    for (const std::string& name : names) {
      std::vector<std::string> flags = {"--dir", dir_ + "/" + name, "--capacity", "64Mi",
                                        "--workers", "1", "--auth-secret-file",
                                        dir_ + "/secret", "--acl", dir_ + "/acl.yaml"};
      if (cluster) {
        flags.insert(flags.end(), {"--members", members_file(), "--self", name});
      }
      Node n;
      n.name = name;
      ASSERT_TRUE(n.server.Spawn(flags, dir_ + "/" + name + ".port", dir_ + "/" + name + ".log"));
      nodes_.push_back(std::move(n));
    }
    for (Node& n : nodes_) {
      ASSERT_TRUE(n.server.AwaitPort()) << n.name;
      n.port = n.server.port();
    }
    if (!cluster) return;
    WriteAtomically(members_file(), MemberText(nodes_));
    for (Node& n : nodes_) n.server.Signal(SIGHUP);
    for (Node& n : nodes_) {
      bool loaded = false;
      for (int i = 0; i < 100 && !loaded; ++i) {
        std::string m = Metrics(n.port);
        loaded = MetricValue(m, "kumo_cache_cluster_members") == nodes_.size();
        if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_TRUE(loaded) << n.name << " did not load the members";
    }
  }

  static std::string MemberText(const std::vector<Node>& nodes) {
    std::string text;
    for (const Node& n : nodes) text += n.name + " " + n.address() + "\n";
    return text;
  }

  std::unique_ptr<CacheClient> SingleNodeClient() {
    ClientOptions o;
    o.servers = {nodes_.at(0).address()};
    o.token_file = token_file();
    Result<std::unique_ptr<CacheClient>> c = CacheClient::Create(o);
    EXPECT_TRUE(c.has_value()) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }

  long long TotalRedirects() {
    long long sum = 0;
    for (const Node& n : nodes_)
      sum += static_cast<long long>(MetricValue(Metrics(n.port), "kumo_cache_redirects_total"));
    return sum;
  }

  // Runs `kumo cache ARGS...` to completion (bounded by its own timeouts) with `env` added.
  CliRun Kumo(const std::vector<std::string>& cache_args, const std::vector<std::string>& env,
              const std::string& in = "/dev/null") {
    std::vector<std::string> args = {KUMO_BINARY, "cache"};
    args.insert(args.end(), cache_args.begin(), cache_args.end());
    std::string out = dir_ + "/cli.out", err = dir_ + "/cli.err";
    test_process::SpawnOptions o;
    o.stdin_path = in;
    o.stdout_path = out;
    o.stderr_path = err;
    o.env = env;
    CliRun r;
    r.exit_code = test_process::RunToExit(args, o);
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  std::string dir_;
  std::vector<Node> nodes_;
};

TEST_F(CacheClientTest, RoundTripsPutGetRangeStatDeleteOnOneKeepAliveConnection) {
  StartNodes({"solo"});
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  std::string body = RandomBytes(100'000, 1);
  Result<PutResult> put = c->Put("data", "dir/sub dir/ünïcode?.bin", body);
  ASSERT_TRUE(put.has_value()) << put.error().message();
  EXPECT_EQ(put->etag, "\"" + Hex64(Xxh64(body)) + "\"");
  Result<std::string> got = c->Get("data", "dir/sub dir/ünïcode?.bin");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(*got, body);
  Result<std::string> range = c->GetRange("data", "dir/sub dir/ünïcode?.bin", 10, 20);
  ASSERT_TRUE(range.has_value()) << range.error().message();
  EXPECT_EQ(*range, body.substr(10, 20));
  range = c->GetRange("data", "dir/sub dir/ünïcode?.bin", 99'990, 1000);  // clamped at the end
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, body.substr(99'990));
  range = c->GetRange("data", "dir/sub dir/ünïcode?.bin", 100'000, 1);
  ASSERT_FALSE(range.has_value());
  EXPECT_EQ(HttpStatusOf(range.error()), 416);
  EXPECT_EQ(range.error().code(), StatusCode::kInvalidArgument);

  Result<ObjectStat> st = c->Stat("data", "dir/sub dir/ünïcode?.bin");
  ASSERT_TRUE(st.has_value()) << st.error().message();
  EXPECT_EQ(st->size_bytes, body.size());
  EXPECT_EQ(st->etag, put->etag);
  EXPECT_EQ(st->served_by, nodes_[0].address());

  EXPECT_TRUE(c->Delete("data", "dir/sub dir/ünïcode?.bin").ok());
  got = c->Get("data", "dir/sub dir/ünïcode?.bin");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(got.error().message(), "404 not found: no such object");
  Status again = c->Delete("data", "dir/sub dir/ünïcode?.bin");
  EXPECT_EQ(HttpStatusOf(again), 404);
  st = c->Stat("data", "missing");  // HEAD: no body, so no server text
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message(), "404 not found");
  // Every request above, errors included, went over one pooled keep-alive connection.
  EXPECT_EQ(c->counters().connections_opened.load(), 1u);
  EXPECT_EQ(c->IdleConnections(), 1u);

  // Names are checked before anything is sent.
  Result<PutResult> bad = c->Put("Data", "k", "x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(HttpStatusOf(bad.error()).has_value());
  EXPECT_FALSE(c->Put("data", "a/../b", "x").has_value());
  EXPECT_EQ(c->counters().requests.load(), 10u);
}

TEST_F(CacheClientTest, StreamsAnEightMebibyteFileBothWays) {
  StartNodes({"solo"});
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  std::string body = RandomBytes(8 << 20, 2);
  std::string in = dir_ + "/big.in", out = dir_ + "/big.out";
  WriteAtomically(in, body);
  Result<PutResult> put = c->PutFile("data", "big", in);  // > 1 MiB: Expect: 100-continue
  ASSERT_TRUE(put.has_value()) << put.error().message();
  EXPECT_EQ(put->etag, "\"" + Hex64(Xxh64(body)) + "\"");
  Result<uint64_t> n = c->GetToFile("data", "big", out);
  ASSERT_TRUE(n.has_value()) << n.error().message();
  EXPECT_EQ(*n, body.size());
  EXPECT_TRUE(ReadAll(out) == body);
  // A failed download leaves no file behind.
  EXPECT_FALSE(c->GetToFile("data", "nope", dir_ + "/nope.out").has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/nope.out"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/nope.out.kumo-partial"));
  // The server closes the connection after a PUT above 1 MiB; the GETs then share one.
  EXPECT_LE(c->counters().connections_opened.load(), 2u);
}

// Into a regular file the body is spliced from the socket; the check sees every byte once, in
// order, read back from the file. Into a pipe it is written from the receive buffer, and the
// check sees the same bytes. A check's error stops the download and is returned.
TEST_F(CacheClientTest, GetToFdSplicesIntoAFileAndChecksWhatItHolds) {
  StartNodes({"solo"});
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  std::string body = RandomBytes((3 << 20) + 12345, 3);  // many pipe loads, an odd tail
  ASSERT_TRUE(c->Put("data", "big", body).has_value());
  std::string out = dir_ + "/big.out";
  int fd = open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  std::string seen;
  Result<uint64_t> n = c->GetToFd("data", "big", fd, [&](std::string_view piece) {
    seen.append(piece);
    return Status::Ok();
  });
  close(fd);
  ASSERT_TRUE(n.has_value()) << n.error().message();
  EXPECT_EQ(*n, body.size());
  EXPECT_TRUE(seen == body);
  EXPECT_TRUE(ReadAll(out) == body);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string piped;
  std::thread reader([&] {
    char buf[65536];
    for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) > 0;) piped.append(buf, static_cast<size_t>(r));
  });
  seen.clear();
  n = c->GetToFd("data", "big", fds[1], [&](std::string_view piece) {
    seen.append(piece);
    return Status::Ok();
  });
  close(fds[1]);
  reader.join();
  close(fds[0]);
  ASSERT_TRUE(n.has_value()) << n.error().message();
  EXPECT_TRUE(seen == body);
  EXPECT_TRUE(piped == body);

  fd = open(out.c_str(), O_RDWR | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  size_t checked = 0;
  n = c->GetToFd("data", "big", fd, [&](std::string_view piece) {
    checked += piece.size();
    return checked > (1u << 20) ? Status::Internal("enough") : Status::Ok();
  });
  close(fd);
  ASSERT_FALSE(n.has_value());
  EXPECT_NE(n.error().message().find("enough"), std::string::npos) << n.error().message();
  EXPECT_LT(checked, body.size());

  // A file open O_APPEND (splice refuses it) is written from the receive buffer.
  fd = open(out.c_str(), O_WRONLY | O_APPEND | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "head:", 5), 5);
  n = c->GetToFd("data", "big", fd);
  close(fd);
  ASSERT_TRUE(n.has_value()) << n.error().message();
  EXPECT_TRUE(ReadAll(out) == "head:" + body);

  // A checked download reads the file back: a write-only descriptor is refused up front.
  fd = open(out.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  n = c->GetToFd("data", "big", fd, [](std::string_view) { return Status::Ok(); });
  close(fd);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code(), StatusCode::kInvalidArgument);
}

TEST_F(CacheClientTest, ReportsStatusAndServerMessage) {
  StartNodes({"solo"});
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  WriteAtomically(token_file(), Token("readers"));
  Result<PutResult> r = c->Put("data", "k", "x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(HttpStatusOf(r.error()), 403);
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(r.error().message().starts_with("403 forbidden: ")) << r.error().message();

  ClientOptions o;
  o.servers = {"127.0.0.1:1"};  // nothing listens on port 1
  o.connect_timeout_ms = 2000;
  Result<std::unique_ptr<CacheClient>> down = CacheClient::Create(o);
  ASSERT_TRUE(down.has_value());
  Result<std::string> g = (*down)->Get("data", "k");
  ASSERT_FALSE(g.has_value());
  EXPECT_FALSE(HttpStatusOf(g.error()).has_value());
  EXPECT_NE(g.error().message().find("127.0.0.1:1"), std::string::npos) << g.error().message();

  EXPECT_FALSE(CacheClient::Create({}).has_value());
  o.servers = {"no-port"};
  EXPECT_FALSE(CacheClient::Create(o).has_value());
}

TEST_F(CacheClientTest, TokenFileRotationIsPickedUpByTheNextRequest) {
  StartNodes({"solo"});
  WriteAtomically(token_file(), Token("readers") + "\n");
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  Result<PutResult> r = c->Put("data", "rotated", "v1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(HttpStatusOf(r.error()), 403);
  uint64_t reads = c->counters().token_reads.load();

  WriteAtomically(token_file(), Token("team-a") + "\n");  // kubelet-style: write + rename
  r = c->Put("data", "rotated", "v1");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(c->counters().token_reads.load(), reads + 1);
  ASSERT_TRUE(c->Get("data", "rotated").has_value());
  EXPECT_EQ(c->counters().token_reads.load(), reads + 1);  // unchanged file: not re-read

  WriteAtomically(token_file(), "not-a-token\n");
  Result<std::string> g = c->Get("data", "rotated");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(HttpStatusOf(g.error()), 401);

  // A rewrite the stamp cannot see (same inode, size and mtime): the 401 it causes makes the
  // client re-read the file once and retry with the new token.
  auto team_a = [](int64_t exp) {
    return MakeHs256Token(kSecret, "system:serviceaccount:team-a:sa", "kumo", "kumo-cache", exp);
  };
  std::string expired = team_a(time(nullptr) - 3600), valid = team_a(time(nullptr) + 3600);
  ASSERT_EQ(expired.size(), valid.size());
  WriteAtomically(token_file(), expired);
  g = c->Get("data", "rotated");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(HttpStatusOf(g.error()), 401);
  struct stat before {};
  ASSERT_EQ(stat(token_file().c_str(), &before), 0);
  {
    std::ofstream f(token_file(), std::ios::trunc | std::ios::binary);  // in place: same inode
    f << valid;
  }
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, token_file().c_str(), times, 0), 0);
  g = c->Get("data", "rotated");
  ASSERT_TRUE(g.has_value()) << g.error().message();
  EXPECT_EQ(*g, "v1");
}

TEST_F(CacheClientTest, ForkedChildOpensItsOwnConnectionsAndTheParentKeepsItsOwn) {
  StartNodes({"solo"});
  std::unique_ptr<CacheClient> c = SingleNodeClient();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Put("data", "parent", "from the parent").has_value());
  ASSERT_EQ(c->IdleConnections(), 1u);
  uint64_t opened = c->counters().connections_opened.load();

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes say which check failed; the child never returns into gtest.
    if (c->IdleConnections() != 0) _exit(10);  // inherited sockets dropped
    if (!c->Put("data", "child", "from the child").has_value()) _exit(11);
    Result<std::string> g = c->Get("data", "parent");
    if (!g || *g != "from the parent") _exit(12);
    if (c->counters().connections_opened.load() != opened + 1) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's pooled connection survived the child closing its copy.
  Result<std::string> g = c->Get("data", "child");
  ASSERT_TRUE(g.has_value()) << g.error().message();
  EXPECT_EQ(*g, "from the child");
  EXPECT_EQ(c->counters().connections_opened.load(), opened);
}

TEST_F(CacheClientTest, ClusterRoutesToTheOwnerAndFollowsRedirectsWhenTheListIsStale) {
  StartNodes({"node-a", "node-b", "node-c"});
  long long redirects_before = TotalRedirects();

  ClientOptions o;
  o.members_file = members_file();
  o.token_file = token_file();
  Result<std::unique_ptr<CacheClient>> made = CacheClient::Create(o);
  ASSERT_TRUE(made.has_value()) << made.error().message();
  CacheClient& c = **made;
  std::map<std::string, int> per_owner;
  for (int i = 0; i < 30; ++i) {
    std::string key = "routed/" + std::to_string(i);
    std::optional<Member> owner = c.OwnerOf("data", key);
    ASSERT_TRUE(owner.has_value());
    Result<PutResult> p = c.Put("data", key, "v" + std::to_string(i));
    ASSERT_TRUE(p.has_value()) << p.error().message();
    EXPECT_EQ(p->served_by, owner->address);
    Result<ObjectStat> st = c.Stat("data", key);
    ASSERT_TRUE(st.has_value()) << st.error().message();
    EXPECT_EQ(st->owner, owner->name);
    ++per_owner[owner->name];
  }
  EXPECT_EQ(per_owner.size(), 3u);  // 30 keys reach every member
  EXPECT_EQ(c.counters().redirects_followed.load(), 0u);
  EXPECT_EQ(TotalRedirects(), redirects_before);  // the servers saw no request to redirect

  // A stale list without node-c: node-c's keys go to a or b first and arrive by 307.
  ClientOptions stale;
  stale.members = {{"node-a", nodes_[0].address()}, {"node-b", nodes_[1].address()}};
  stale.token_file = token_file();
  Result<std::unique_ptr<CacheClient>> stale_made = CacheClient::Create(stale);
  ASSERT_TRUE(stale_made.has_value());
  CacheClient& s = **stale_made;
  int owned_by_c = 0;
  std::string big_key;
  for (int i = 0; i < 30; ++i) {
    std::string key = "routed/" + std::to_string(i);
    Result<std::string> g = s.Get("data", key);
    ASSERT_TRUE(g.has_value()) << g.error().message();
    EXPECT_EQ(*g, "v" + std::to_string(i));
    if (c.OwnerOf("data", key)->name == "node-c") {
      ++owned_by_c;
      big_key = key;
      Result<ObjectStat> st = s.Stat("data", key);
      ASSERT_TRUE(st.has_value());
      EXPECT_EQ(st->owner, "node-c");  // from X-Kumo-Owner
      EXPECT_EQ(st->served_by, nodes_[2].address());
    }
  }
  ASSERT_GT(owned_by_c, 0);
  // The first request per node-c key was redirected; the owner is then remembered.
  EXPECT_EQ(s.counters().redirects_followed.load(), static_cast<uint64_t>(owned_by_c));
  EXPECT_EQ(TotalRedirects(), redirects_before + owned_by_c);

  // A 2 MiB PUT through a fresh stale client: Expect: 100-continue gets the 307 before the body.
  Result<std::unique_ptr<CacheClient>> fresh = CacheClient::Create(stale);
  ASSERT_TRUE(fresh.has_value());
  std::string body = RandomBytes(2 << 20, 3);
  Result<PutResult> p = (*fresh)->Put("data", big_key, body);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->served_by, nodes_[2].address());
  EXPECT_EQ((*fresh)->counters().redirects_followed.load(), 1u);
  Result<std::string> g = c.Get("data", big_key);
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(*g == body);

  // More hops than allowed is an error, not a loop.
  stale.max_redirects = 0;
  Result<std::unique_ptr<CacheClient>> strict = CacheClient::Create(stale);
  ASSERT_TRUE(strict.has_value());
  Result<std::string> none = (*strict)->Get("data", big_key);
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("redirects"), std::string::npos);
}

TEST_F(CacheClientTest, PutStreamSendsAPipeChunkedAndFollowsARedirectBeforeReadingIt) {
  StartNodes({"node-a", "node-b"});
  ClientOptions o;
  o.members_file = members_file();
  o.token_file = token_file();
  Result<std::unique_ptr<CacheClient>> routed = CacheClient::Create(o);
  ASSERT_TRUE(routed.has_value());
  // A key node-b owns, sent through a client that only knows node-a: the 307 must come before
  // any byte is taken from the pipe, or the upload could not be repeated to node-b.
  std::string key;
  for (int i = 0; key.empty(); ++i)
    if ((*routed)->OwnerOf("data", "pipe/" + std::to_string(i))->name == "node-b")
      key = "pipe/" + std::to_string(i);
  ClientOptions only_a;
  only_a.servers = {nodes_[0].address()};
  only_a.token_file = token_file();
  Result<std::unique_ptr<CacheClient>> c = CacheClient::Create(only_a);
  ASSERT_TRUE(c.has_value());
  std::string body = RandomBytes(3 << 20, 9);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::thread writer([&] {
    std::mt19937 rng(2);
    for (size_t off = 0; off < body.size();) {
      size_t n = std::min(body.size() - off, 1 + static_cast<size_t>(rng() % 100000));
      ASSERT_EQ(write(p[1], body.data() + off, n), static_cast<ssize_t>(n));
      off += n;
    }
    close(p[1]);
  });
  Result<PutResult> put = (*c)->PutStream("data", key, p[0]);
  writer.join();
  close(p[0]);
  ASSERT_TRUE(put.has_value()) << put.error().message();
  EXPECT_EQ(put->size_bytes, body.size());
  EXPECT_EQ(put->served_by, nodes_[1].address());
  EXPECT_EQ(put->etag, "\"" + Hex64(Xxh64(body)) + "\"");
  EXPECT_EQ((*c)->counters().redirects_followed.load(), 1u);
  Result<std::string> got = (*routed)->Get("data", key);
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_TRUE(*got == body);
}

TEST_F(CacheClientTest, CliPutGetStatRmWithExitCodesAndMessages) {
  StartNodes({"solo"});
  std::vector<std::string> env = {"KUMO_CACHE_SERVER=" + nodes_[0].address(),
                                  "KUMO_CACHE_TOKEN_FILE=" + token_file()};
  std::string body = RandomBytes(300'000, 4);
  WriteAtomically(dir_ + "/in.bin", body);
  std::string etag = "\"" + Hex64(Xxh64(body)) + "\"";

  CliRun r = Kumo({"put", "data/cli/obj.bin", dir_ + "/in.bin"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(etag), std::string::npos) << r.out;
  // "-" streams stdin with the chunked coding.
  r = Kumo({"put", "data/cli/stdin.bin", "-"}, env, dir_ + "/in.bin");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "data/cli/stdin.bin: 300000 bytes, etag " + etag + "\n");
  r = Kumo({"get", "data/cli/obj.bin"}, env);  // stdout
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == body);
  r = Kumo({"get", "data/cli/obj.bin", "-o", dir_ + "/out.bin"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadAll(dir_ + "/out.bin") == body);
  // Flags instead of the environment.
  r = Kumo({"stat", "--server", nodes_[0].address(), "--token-file", token_file(),
            "data/cli/obj.bin"},
           {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("size: 300000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("etag: " + etag + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("owner: " + nodes_[0].address()), std::string::npos) << r.out;
  r = Kumo({"rm", "data/cli/obj.bin"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Kumo({"get", "data/cli/obj.bin"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kumo cache get: data/cli/obj.bin: 404 not found: no such object\n");
  EXPECT_TRUE(r.out.empty());

  WriteAtomically(dir_ + "/reader-token", Token("readers"));
  r = Kumo({"put", "data/x", dir_ + "/in.bin", "--token-file", dir_ + "/reader-token"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.starts_with("kumo cache put: data/x: 403 forbidden: ")) << r.err;

  EXPECT_EQ(Kumo({"get"}, env).exit_code, 2);
  EXPECT_EQ(Kumo({"get", "no-slash"}, env).exit_code, 2);
  EXPECT_EQ(Kumo({"get", "data/x", "--bogus"}, env).exit_code, 2);
  r = Kumo({"get", "data/x"}, {});  // no server anywhere
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--server"), std::string::npos) << r.err;
}

TEST_F(CacheClientTest, CliWarmUploadsATreeSkipsWhatMatchesAndReportsFailures) {
  StartNodes({"node-a", "node-b", "node-c"});
  std::vector<std::string> env = {"KUMO_CACHE_MEMBERS=" + members_file(),
                                  "KUMO_CACHE_TOKEN_FILE=" + token_file()};
  std::string tree = dir_ + "/tree";
  std::map<std::string, std::string> files;  // relative path → bytes
  files["top.txt"] = "top\n";
  files["empty"] = "";
  files["a/b/c/deep.bin"] = RandomBytes(1'500'000, 5);  // > 1 MiB: Expect path
  for (int i = 0; i < 12; ++i)
    files["a/n" + std::to_string(i % 3) + "/f" + std::to_string(i)] =
        RandomBytes(static_cast<size_t>(1000 * (i + 1)), 10 + static_cast<uint32_t>(i));
  for (const auto& [rel, bytes] : files) {
    std::filesystem::create_directories(std::filesystem::path(tree + "/" + rel).parent_path());
    WriteAtomically(tree + "/" + rel, bytes);
  }
  std::filesystem::create_directories(tree + "/empty-dir/inner");
  std::filesystem::create_symlink(tree + "/top.txt", tree + "/link-to-top");  // not uploaded

  CliRun r = Kumo({"warm", tree, "data/ds1", "--parallel", "3"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string n = std::to_string(files.size());
  EXPECT_NE(r.out.find(n + " files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(n + " uploaded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 skipped, 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);  // stderr is a file: no progress bar

  ClientOptions o;
  o.members_file = members_file();
  o.token_file = token_file();
  Result<std::unique_ptr<CacheClient>> c = CacheClient::Create(o);
  ASSERT_TRUE(c.has_value());
  for (const auto& [rel, bytes] : files) {
    Result<std::string> g = (*c)->Get("data", "ds1/" + rel);
    ASSERT_TRUE(g.has_value()) << rel << ": " << g.error().message();
    EXPECT_TRUE(*g == bytes) << rel;
  }
  EXPECT_FALSE((*c)->Stat("data", "ds1/link-to-top").has_value());

  r = Kumo({"warm", tree, "data/ds1"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 uploaded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(n + " skipped"), std::string::npos) << r.out;

  WriteAtomically(tree + "/a/n0/f0", RandomBytes(1000, 99));  // same size, other bytes
  r = Kumo({"warm", tree, "data/ds1"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" 1 uploaded"), std::string::npos) << r.out;
  r = Kumo({"warm", tree, "data/ds1", "--force"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(n + " uploaded"), std::string::npos) << r.out;

  // A token that may only read: every upload fails, each is listed, the exit code says so.
  WriteAtomically(dir_ + "/reader-token", Token("readers"));
  r = Kumo({"warm", tree, "data/ds2", "--token-file", dir_ + "/reader-token"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(n + " failed"), std::string::npos) << r.out;
  size_t listed = 0;
  for (size_t at = 0; (at = r.err.find("kumo cache warm: failed: ", at)) != std::string::npos; ++at)
    ++listed;
  EXPECT_EQ(listed, files.size()) << r.err;
  EXPECT_NE(r.err.find(tree + "/a/b/c/deep.bin -> data/ds2/a/b/c/deep.bin: 403 forbidden"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kumo::cache
