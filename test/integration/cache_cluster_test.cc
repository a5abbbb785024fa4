// A 3-node kumo cache cluster on loopback: three real `kumo cache serve` processes (port 0,
// --port-file, temp dirs, auth on) sharing one member file. Checks Maglev routing (§3.4) end to
// end: auth before redirect, PUT/GET through any node following 307 by hand, the owner serving
// 200, and that removing a member from the file moves about 1/3 of 3,000 keys while the rest keep
// their owner. Every server is stopped by its PID.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include "cache/auth/auth.h"
#include "cache/routing/maglev.h"
#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

using test_process::HttpReply;
using test_process::ServeProcess;
using test_process::WriteAtomically;
using Reply = HttpReply;

const std::string kSecret = "cluster-test-secret-0123456789abcdef";
const std::string kAcl =
    "namespaces:\n  team-a:\n    read: [data]\n    write: [data]\n  readers:\n    read: [data]\n";

// One keep-alive connection; reconnects when the server closed it.
class Conn {
 public:
  explicit Conn(uint16_t port) : port_(port) {}
  ~Conn() {
    if (fd_ >= 0) close(fd_);
  }
  Reply Call(const std::string& method, const std::string& target, const std::string& body,
             const std::string& extra) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && (fd_ = test_process::ConnectLoopback(port_)) < 0) return {};
      std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra;
      if (method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      req += "\r\n" + body;
      Reply r;
      if (test_process::SendAll(fd_, req) &&
          test_process::ReadReply(fd_, &buf_, method == "HEAD", &r)) {
        if (r.headers["connection"] == "close") Reset();
        return r;
      }
      Reset();
    }
    return {};
  }

 private:
  void Reset() {
    close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

std::string Auth(const std::string& ns) {
  return "Authorization: Bearer " +
         MakeHs256Token(kSecret, "system:serviceaccount:" + ns + ":sa", "kumo", "kumo-cache",
                        time(nullptr) + 600) +
         "\r\n";
}

struct Node {
  std::string name;
  ServeProcess server;
  uint16_t port = 0;
  std::unique_ptr<Conn> conn;
};

class CacheClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_process::MakeTempDir("kumo-cache-cluster");
    ASSERT_FALSE(dir_.empty());
    WriteAtomically(dir_ + "/secret", kSecret + "\n");
    WriteAtomically(dir_ + "/acl.yaml", kAcl);
    WriteAtomically(members_file(), "# filled in once the ports are known\n");
    for (const char* name : {"node-a", "node-b", "node-c"}) Spawn(name);
    for (Node& n : nodes_) {
      ASSERT_TRUE(n.server.AwaitPort()) << n.name;
      n.port = n.server.port();
      n.conn = std::make_unique<Conn>(n.port);
    }
  }
  void TearDown() override {
    nodes_.clear();  // stops every server by its PID
    std::filesystem::remove_all(dir_);
  }

  std::string members_file() const { return dir_ + "/members"; }
  std::string Log(const Node& n) const { return n.server.Log(); }

  void Spawn(const std::string& name) {
    Node n;
    n.name = name;
    ASSERT_TRUE(n.server.Spawn({"--dir", dir_ + "/" + name, "--capacity", "64Mi", "--workers", "1",
                                "--auth-secret-file", dir_ + "/secret", "--acl",
                                dir_ + "/acl.yaml", "--members", members_file(), "--self", name},
                               dir_ + "/" + name + ".port", dir_ + "/" + name + ".log"));
    nodes_.push_back(std::move(n));
  }

  // Writes the member file for `names` (plain lines), and waits until every running node has
  // loaded it (its generation passes `min_generation`); SIGHUP when `signal` is set, otherwise
  // the nodes notice the change by their once-a-second poll.
  void SetMembers(const std::vector<std::string>& names, uint64_t min_generation, bool signal) {
    std::string text;
    for (const Node& n : nodes_)
      for (const std::string& want : names)
        if (n.name == want) text += n.name + " 127.0.0.1:" + std::to_string(n.port) + "\n";
    WriteAtomically(members_file(), text);
    if (signal)
      for (const Node& n : nodes_) n.server.Signal(SIGHUP);
    std::string want_members =
        "\nkumo_cache_cluster_members " + std::to_string(names.size()) + "\n";
    for (Node& n : nodes_) {
      bool loaded = false;
      for (int i = 0; i < 100 && !loaded; ++i) {
        std::string m = n.conn->Call("GET", "/metrics", "", "").body;
        size_t g = m.find("\nkumo_cache_cluster_generation ");
        loaded = m.find(want_members) != std::string::npos && g != std::string::npos &&
                 std::stoull(m.substr(g + 31)) >= min_generation;
        if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_TRUE(loaded) << n.name << " did not load the member list; log: " << Log(n);
    }
  }

  Node* ByPort(uint16_t port) {
    for (Node& n : nodes_)
      if (n.port == port) return &n;
    return nullptr;
  }
  Node* ByName(const std::string& name) {
    for (Node& n : nodes_)
      if (n.name == name) return &n;
    return nullptr;
  }

  // The owner of `key` according to `node`: its own name when it serves the key, else the
  // X-Kumo-Owner of its 307.
  std::string OwnerSeenBy(Node& node, const std::string& key) {
    Reply r = node.conn->Call("HEAD", "/v1/objects/data/" + key, "", Auth("team-a"));
    if (r.status == 307) return r.headers["x-kumo-owner"];
    if (r.status == 200 || r.status == 404) return node.name;
    return "status " + std::to_string(r.status);
  }

  // Sends the request to `start` and follows 307s by hand (at most 2 hops); `hops` counts them.
  Reply Follow(Node& start, const std::string& method, const std::string& key,
               const std::string& body, int* hops, std::string* served_by) {
    Node* at = &start;
    *hops = 0;
    while (true) {
      Reply r = at->conn->Call(method, "/v1/objects/data/" + key, body, Auth("team-a"));
      *served_by = at->name;
      if (r.status != 307 || *hops == 2) return r;
      const std::string& loc = r.headers["location"];
      const std::string prefix = "http://127.0.0.1:";
      if (loc.rfind(prefix, 0) != 0) return r;
      size_t slash = loc.find('/', prefix.size());
      EXPECT_EQ(loc.substr(slash), "/v1/objects/data/" + key);
      Node* next = ByPort(static_cast<uint16_t>(std::stoi(loc.substr(prefix.size()))));
      if (next == nullptr) return r;
      EXPECT_EQ(next->name, r.headers["x-kumo-owner"]);
      EXPECT_TRUE(r.body.empty());
      at = next;
      ++*hops;
    }
  }

  std::string dir_;
  std::vector<Node> nodes_;
};

TEST_F(CacheClusterTest, RoutesByMaglevRedirectsAndMovesAThirdOnMemberRemoval) {
  SetMembers({"node-a", "node-b", "node-c"}, 2, /*signal=*/true);
  // The table a client that knows the member list would build: the servers must agree with it.
  auto table = *MaglevTable::Build({{"node-a", "x:1"}, {"node-b", "x:2"}, {"node-c", "x:3"}});
  auto expected_owner = [&](const std::string& key) {
    return table->members()[static_cast<size_t>(table->LookupObject("data", key))].name;
  };

  // Auth comes first: a non-owner answers 401/403 without saying where the object lives.
  std::string key_of_b;
  for (int i = 0; key_of_b.empty(); ++i)
    if (expected_owner("k" + std::to_string(i)) == "node-b") key_of_b = "k" + std::to_string(i);
  Node& a = *ByName("node-a");
  Reply r = a.conn->Call("GET", "/v1/objects/data/" + key_of_b, "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.count("location"), 0u);
  EXPECT_EQ(r.headers.count("x-kumo-owner"), 0u);
  r = a.conn->Call("PUT", "/v1/objects/data/" + key_of_b, "evil", Auth("readers"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.count("location"), 0u);
  r = a.conn->Call("GET", "/v1/objects/data/" + key_of_b, "", Auth("team-b"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.count("location"), 0u);

  // PUT through every node: the client follows at most one 307 and lands on the owner.
  constexpr int kObjects = 150;
  std::map<std::string, std::string> stored_on;
  for (int i = 0; i < kObjects; ++i) {
    std::string key = "obj/" + std::to_string(i);
    int hops = 0;
    std::string served_by;
    Reply put =
        Follow(nodes_[static_cast<size_t>(i) % 3], "PUT", key, "body-" + key, &hops, &served_by);
    ASSERT_EQ(put.status, 201) << key;
    EXPECT_LE(hops, 1);
    EXPECT_EQ(served_by, expected_owner(key));
    stored_on[key] = served_by;
  }
  // A large PUT with Expect: 100-continue to a non-owner gets the 307 before any body byte is
  // asked for (no 100 Continue), and the connection closes (the body is not worth skipping).
  {
    int fd = test_process::ConnectLoopback(a.port);
    ASSERT_GE(fd, 0);
    std::string req = "PUT /v1/objects/data/" + key_of_b + " HTTP/1.1\r\nHost: t\r\n" +
                      Auth("team-a") + "Content-Length: 8388608\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_TRUE(test_process::SendAll(fd, req));
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
    close(fd);
    EXPECT_EQ(got.rfind("HTTP/1.1 307 ", 0), 0u) << got;
    EXPECT_NE(got.find("\r\nConnection: close\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("\r\nX-Kumo-Owner: node-b\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
  }

  // GET from a non-owner: 307 to the owner; the owner: 200 with the bytes. A non-owner told not
  // to redirect serves locally (and does not have it).
  for (const auto& [key, owner] : stored_on) {
    for (Node& n : nodes_) {
      Reply g = n.conn->Call("GET", "/v1/objects/data/" + key, "", Auth("team-a"));
      if (n.name == owner) {
        EXPECT_EQ(g.status, 200) << key;
        EXPECT_EQ(g.body, "body-" + key);
      } else {
        EXPECT_EQ(g.status, 307) << key;
        EXPECT_EQ(g.headers["x-kumo-owner"], owner);
        EXPECT_EQ(g.headers["location"], "http://127.0.0.1:" + std::to_string(ByName(owner)->port) +
                                             "/v1/objects/data/" + key);
        Reply local = n.conn->Call("GET", "/v1/objects/data/" + key, "",
                                   Auth("team-a") + "X-Kumo-No-Redirect: 1\r\n");
        EXPECT_EQ(local.status, 404) << key;
      }
    }
  }

  // 3,000 keys: who owns them before and after node-c leaves the member file (picked up by the
  // once-a-second poll, no signal).
  constexpr int kKeys = 3000;
  std::vector<std::string> before(kKeys), after(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "epoch/" + std::to_string(i);
    before[static_cast<size_t>(i)] = OwnerSeenBy(nodes_[static_cast<size_t>(i) % 3], key);
    ASSERT_EQ(before[static_cast<size_t>(i)], expected_owner(key)) << key;
  }
  auto start = std::chrono::steady_clock::now();
  SetMembers({"node-a", "node-b"}, 3, /*signal=*/false);
  double reload_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int moved = 0, moved_between_survivors = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "epoch/" + std::to_string(i);
    std::string owner = OwnerSeenBy(nodes_[static_cast<size_t>(i) % 2], key);
    ASSERT_TRUE(owner == "node-a" || owner == "node-b") << key << ": " << owner;
    after[static_cast<size_t>(i)] = owner;
    if (owner == before[static_cast<size_t>(i)]) continue;
    ++moved;
    if (before[static_cast<size_t>(i)] != "node-c") ++moved_between_survivors;
  }
  std::printf(
      "[cluster] removing 1 of 3 members: %d of %d keys changed owner (%.3f), %d between "
      "survivors; reload seen by all nodes after %.2f s\n",
      moved, kKeys, static_cast<double>(moved) / kKeys, moved_between_survivors, reload_s);
  // Every key of node-c moves (≈ 1/3), and Maglev moves almost nothing else (§3.4).
  EXPECT_GE(moved, kKeys * 8 / 30);   // 0.8/N
  EXPECT_LE(moved, kKeys * 13 / 30);  // 1.3/N
  EXPECT_LE(moved_between_survivors, kKeys / 100);
  // Node-c is no longer a member: it redirects everything to the survivors.
  Node& c = *ByName("node-c");
  Reply g = c.conn->Call("GET", "/v1/objects/data/epoch/0", "", Auth("team-a"));
  EXPECT_EQ(g.status, 307);
  EXPECT_EQ(g.headers["x-kumo-owner"], after[0]);
  // Objects whose owner did not change are still served by it.
  for (const auto& [key, owner] : stored_on) {
    if (owner == "node-c") continue;
    int hops = 0;
    std::string served_by;
    Reply get = Follow(a, "GET", key, "", &hops, &served_by);
    if (served_by == owner) {
      EXPECT_EQ(get.status, 200) << key;
      EXPECT_EQ(get.body, "body-" + key);
    }
  }
}

TEST_F(CacheClusterTest, EmptyMemberListServesLocally) {
  // Before any member is listed every node serves every key itself (single-node behaviour).
  Node& a = nodes_[0];
  EXPECT_EQ(a.conn->Call("PUT", "/v1/objects/data/x", "x", Auth("team-a")).status, 201);
  EXPECT_EQ(a.conn->Call("GET", "/v1/objects/data/x", "", Auth("team-a")).body, "x");
  // A bad member file is refused and the previous table kept.
  WriteAtomically(members_file(), "node-a not-an-address\n");
  for (Node& n : nodes_) n.server.Signal(SIGHUP);
  for (int i = 0; i < 100 && Log(a).find("not reloaded") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(Log(a).find("not reloaded, keeping 1"), std::string::npos) << Log(a);
  EXPECT_EQ(a.conn->Call("GET", "/v1/objects/data/x", "", Auth("team-a")).status, 200);
  EXPECT_NE(a.conn->Call("GET", "/metrics", "", "").body.find("kumo_cache_cluster_generation 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace kumo::cache
