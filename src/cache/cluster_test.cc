// A 3-node kumo cache cluster on loopback: three real `kumo cache serve` processes (port 0,
// --port-file, temp dirs, auth on) sharing one member file. Checks Maglev routing (§3.4) end to
// end: auth before redirect, PUT/GET through any node following 307 by hand, the owner serving
// 200, and that removing a member from the file moves about 1/3 of 3,000 keys while the rest keep
// their owner. Every server is stopped by its PID.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cache/auth.h"
#include "cache/maglev.h"
#include "cache/test_io_backend.h"

extern char** environ;

namespace kumo::cache {
namespace {

const std::string kSecret = "cluster-test-secret-0123456789abcdef";
const std::string kAcl =
    "namespaces:\n  team-a:\n    read: [data]\n    write: [data]\n  readers:\n    read: [data]\n";

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

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
      if (fd_ < 0 && !Connect()) return {};
      std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra;
      if (method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      req += "\r\n" + body;
      Reply r;
      if (SendAll(req) && Read(method == "HEAD", &r)) return r;
      close(fd_);
      fd_ = -1;
      buf_.clear();
    }
    return {};
  }

 private:
  bool Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    close(fd_);
    fd_ = -1;
    return false;
  }
  bool SendAll(const std::string& b) {
    for (size_t off = 0; off < b.size();) {
      ssize_t n = send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char tmp[65536];
    ssize_t n = read(fd_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool Read(bool head_request, Reply* r) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill()) return false;
    std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    r->status = std::atoi(head.substr(9, 3).c_str());
    for (size_t pos = head.find("\r\n") + 2; pos < head.size();) {
      size_t eol = head.find("\r\n", pos);
      std::string line = head.substr(pos, eol - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      r->headers[name] = line.substr(colon + 2);
      pos = eol + 2;
    }
    size_t len = r->headers.count("content-length") ? std::stoul(r->headers["content-length"]) : 0;
    if (head_request || r->status == 204 || r->status == 304) len = 0;
    while (buf_.size() < len)
      if (!Fill()) return false;
    r->body = buf_.substr(0, len);
    buf_.erase(0, len);
    if (r->headers["connection"] == "close") {
      close(fd_);
      fd_ = -1;
      buf_.clear();
    }
    return true;
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

void WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
  }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

struct Node {
  std::string name;
  pid_t pid = -1;
  uint16_t port = 0;
  std::unique_ptr<Conn> conn;
};

class CacheClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kumo-cache-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    WriteAtomically(dir_ + "/secret", kSecret + "\n");
    WriteAtomically(dir_ + "/acl.yaml", kAcl);
    WriteAtomically(members_file(), "# filled in once the ports are known\n");
    for (const char* name : {"node-a", "node-b", "node-c"}) Spawn(name);
    for (Node& n : nodes_) {
      std::string port_file = dir_ + "/" + n.name + ".port";
      for (int i = 0; i < 200 && !std::filesystem::exists(port_file); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream pf(port_file);
      int port = 0;
      pf >> port;
      ASSERT_GT(port, 0) << n.name << " did not start; log: " << Log(n);
      n.port = static_cast<uint16_t>(port);
      n.conn = std::make_unique<Conn>(n.port);
    }
  }
  void TearDown() override {
    for (Node& n : nodes_) {
      if (n.pid <= 0) continue;
      kill(n.pid, SIGTERM);
      int status = 0;
      bool exited = false;
      for (int i = 0; i < 100 && !exited; ++i) {
        exited = waitpid(n.pid, &status, WNOHANG) == n.pid;
        if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!exited) {
        kill(n.pid, SIGKILL);
        waitpid(n.pid, &status, 0);
      }
    }
    std::filesystem::remove_all(dir_);
  }

  std::string members_file() const { return dir_ + "/members"; }
  std::string Log(const Node& n) const {
    std::ifstream f(dir_ + "/" + n.name + ".log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  void Spawn(const std::string& name) {
    std::string log = dir_ + "/" + name + ".log";
    std::vector<std::string> args = {KUMO_BINARY,
                                     "cache",
                                     "serve",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     dir_ + "/" + name + ".port",
                                     "--dir",
                                     dir_ + "/" + name,
                                     "--capacity",
                                     "64MiB",
                                     "--workers",
                                     "1",
                                     "--auth-secret-file",
                                     dir_ + "/secret",
                                     "--acl",
                                     dir_ + "/acl.yaml",
                                     "--members",
                                     members_file(),
                                     "--self",
                                     name};
    AddTestIoFlag(&args);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "posix_spawn " << KUMO_BINARY;
    nodes_.push_back({name, pid, 0, nullptr});
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
      for (const Node& n : nodes_) kill(n.pid, SIGHUP);
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
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    std::string req = "PUT /v1/objects/data/" + key_of_b + " HTTP/1.1\r\nHost: t\r\n" +
                      Auth("team-a") + "Content-Length: 8388608\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
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
  for (Node& n : nodes_) kill(n.pid, SIGHUP);
  for (int i = 0; i < 100 && Log(a).find("not reloaded") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(Log(a).find("not reloaded, keeping 1"), std::string::npos) << Log(a);
  EXPECT_EQ(a.conn->Call("GET", "/v1/objects/data/x", "", Auth("team-a")).status, 200);
  EXPECT_NE(a.conn->Call("GET", "/metrics", "", "").body.find("kumo_cache_cluster_generation 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace kumo::cache
