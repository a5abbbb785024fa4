// `kumo cache serve --jwks` end to end: the real binary on loopback (port 0, --port-file, a temp
// dir, stopped by PID), RS256 and ES256 tokens minted by `kumo cache token --key` and by the
// library, 200/401/403 over HTTP, a rotated JWKS file picked up without a restart, and a
// malformed one that stops the server from starting.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cache/auth/auth.h"
#include "test/support/jwks_test_util.h"
#include "test/support/test_process.h"

namespace kumo::cache {
namespace {

using jwks_test::JwksText;
using jwks_test::TestKey;
using test_process::ReadAll;
using test_process::WriteAtomically;

const std::string kIssuer = "https://kubernetes.default.svc.cluster.local";
const std::string kAcl = "namespaces:\n  team-a:\n    read: [data]\n    write: [data]\n";
const std::string kTrainer = "system:serviceaccount:team-a:trainer";

const TestKey& Rsa1() {
  static const TestKey k = jwks_test::MakeRsaKey("rsa-1");
  return k;
}
const TestKey& Rsa2() {
  static const TestKey k = jwks_test::MakeRsaKey("rsa-2");
  return k;
}
const TestKey& Ec1() {
  static const TestKey k = jwks_test::MakeP256Key("ec-1");
  return k;
}

// Runs `kumo ARGS...` to completion; its stdout and stderr together.
std::string RunKumo(const std::vector<std::string>& args, const std::string& log, int* exit_code) {
  std::vector<std::string> full = {KUMO_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  test_process::SpawnOptions o;
  o.stdout_path = log;
  *exit_code = test_process::RunToExit(full, o);
  return ReadAll(log);
}

// Status code of one request on a fresh connection (-1 when there is no answer).
int Status(uint16_t port, const std::string& method, const std::string& path,
           const std::string& bearer, const std::string& body = "") {
  int fd = test_process::ConnectLoopback(port);
  if (fd < 0) return -1;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: t\r\n";
  if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
  if (method == "PUT") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  std::string buf;
  test_process::HttpReply r;
  bool answered = test_process::SendAll(fd, req) &&
                  test_process::ReadReply(fd, &buf, method == "HEAD", &r);
  close(fd);
  return answered ? r.status : -1;
}

std::string LibraryToken(const TestKey& key, const std::string& kid, const std::string& sub,
                         int64_t exp_offset_s = 600, const std::string& audience = "kumo-cache") {
  Result<JwsSigner> signer = JwsSigner::FromPem(key.private_pem);
  EXPECT_TRUE(signer.has_value()) << signer.error().message();
  Result<std::string> t = MakeSignedToken(*signer, kid, sub, kIssuer, audience,
                                          static_cast<int64_t>(time(nullptr)) + exp_offset_s);
  EXPECT_TRUE(t.has_value());
  return *t;
}

class JwksServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_process::MakeTempDir("kumo-jwks-server");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/rsa1.pem") << Rsa1().private_pem;
    std::ofstream(dir_ + "/ec1.pem") << Ec1().private_pem;
    std::ofstream(dir_ + "/rsa1.pub.pem") << Rsa1().public_pem;
    std::ofstream(dir_ + "/acl.yaml") << kAcl;
    WriteAtomically(jwks(), JwksText({Rsa1().public_jwk, Ec1().public_jwk}));
  }
  void TearDown() override {
    server_.Stop();
    std::filesystem::remove_all(dir_);
  }

  std::string jwks() const { return dir_ + "/jwks.json"; }
  std::string log() const { return dir_ + "/serve.log"; }

  // `kumo cache serve` flags after --listen and --port-file.
  std::vector<std::string> ServeFlags() const {
    return {"--dir",  dir_ + "/store", "--capacity", "16Mi",           "--workers",
            "2",      "--jwks",        jwks(),       "--acl",           dir_ + "/acl.yaml",
            "--issuer", kIssuer};
  }

  void Start() {
    ASSERT_TRUE(server_.Start(ServeFlags(), dir_ + "/port", log()));
    port_ = server_.port();
  }

  // `kumo cache token --key PEM [--kid ID]` for team-a's trainer.
  std::string CliToken(const std::string& pem, const std::string& kid) {
    std::vector<std::string> args = {"cache", "token",  "--key",    dir_ + "/" + pem,
                                     "--sub", kTrainer, "--issuer", kIssuer};
    if (!kid.empty()) args.insert(args.end(), {"--kid", kid});
    int rc = 0;
    std::string out = RunKumo(args, dir_ + "/token.out", &rc);
    EXPECT_EQ(rc, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // Waits (bounded) until a GET with `token` answers `want`; the last status seen.
  int AwaitStatus(const std::string& token, int want) {
    int got = -1;
    for (int i = 0; i < 200 && got != want; ++i) {
      got = Status(port_, "GET", "/v1/objects/data/x", token);
      if (got != want) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return got;
  }

  std::string dir_;
  test_process::ServeProcess server_;
  uint16_t port_ = 0;
};

TEST_F(JwksServerTest, Rs256AndEs256TokensOverLoopback) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string rs = CliToken("rsa1.pem", "rsa-1");
  std::string es = CliToken("ec1.pem", "");
  EXPECT_EQ(Status(port_, "PUT", "/v1/objects/data/x", rs, "hello"), 201);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", rs), 200);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", es), 200);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", ""), 401);

  std::string forged = rs;
  std::string sig = *Base64UrlDecode(forged.substr(forged.rfind('.') + 1));
  sig[7] ^= 0x20;
  forged = forged.substr(0, forged.rfind('.') + 1) + Base64UrlEncode(sig);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", forged), 401);
  // The RSA public key as an HMAC secret (RFC 8725 §2.1): the server has no HS256 secret.
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x",
                   MakeHs256Token(Rsa1().public_pem, kTrainer, kIssuer, "kumo-cache",
                                  static_cast<int64_t>(time(nullptr)) + 600)),
            401);
  std::string payload = rs.substr(rs.find('.') + 1, rs.rfind('.') - rs.find('.') - 1);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x",
                   Base64UrlEncode(R"({"alg":"none"})") + "." + payload + "."),
            401);
  EXPECT_EQ(
      Status(port_, "GET", "/v1/objects/data/x", LibraryToken(Rsa1(), "rsa-1", kTrainer, -3600)),
      401);  // expired
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", LibraryToken(Ec1(), "rsa-1", kTrainer)),
            401);  // ES256 naming the RSA key's kid
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", LibraryToken(Rsa2(), "", kTrainer)),
            401);  // a key the JWKS does not hold
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x",
                   LibraryToken(Ec1(), "ec-1", kTrainer, 600, "other-audience")),
            401);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x",
                   LibraryToken(Ec1(), "ec-1", "system:serviceaccount:team-b:x")),
            403);
  EXPECT_EQ(Status(port_, "DELETE", "/v1/objects/data/x", es), 204);
}

TEST_F(JwksServerTest, RotatedJwksIsPickedUpWithoutRestart) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::string old_token = LibraryToken(Rsa1(), "rsa-1", kTrainer);
  std::string new_token = LibraryToken(Rsa2(), "rsa-2", kTrainer);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", old_token), 404);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", new_token), 401);
  WriteAtomically(jwks(), JwksText({Rsa2().public_jwk}));
  EXPECT_EQ(AwaitStatus(new_token, 404), 404) << ReadAll(log());
  // The old key left the file: a token the workers had cached is verified again and refused.
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", old_token), 401);

  // A broken rotation keeps the keys that work.
  WriteAtomically(jwks(), R"({"keys": [{"kty": "RSA", "n": "!", "e": "AQAB"}]})");
  bool reported = false;
  for (int i = 0; i < 200 && !reported; ++i) {
    reported = ReadAll(log()).find("--jwks not reloaded") != std::string::npos;
    if (!reported) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(reported) << ReadAll(log());
  EXPECT_NE(ReadAll(log()).find("jwks keys[0].n: not base64url"), std::string::npos);
  EXPECT_EQ(Status(port_, "GET", "/v1/objects/data/x", new_token), 404);
}

TEST_F(JwksServerTest, MalformedJwksStopsTheServerNamingTheField) {
  nlohmann::json bad = Ec1().public_jwk;
  bad["y"] = "has spaces";
  WriteAtomically(jwks(), JwksText({Rsa1().public_jwk, bad}));
  int rc = 0;
  std::vector<std::string> args = {"cache", "serve", "--listen", "127.0.0.1:0", "--port-file",
                                   dir_ + "/port"};
  for (const std::string& f : ServeFlags()) args.push_back(f);
  AddTestIoFlag(&args);  // as ServeProcess does: the failure must not depend on the backend
  std::string out = RunKumo(args, log(), &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("jwks keys[1].y: not base64url"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/port"));
}

TEST_F(JwksServerTest, TokenCommandRefusesAPublicKey) {
  int rc = 0;
  std::string out = RunKumo({"cache", "token", "--key", dir_ + "/rsa1.pub.pem", "--sub", kTrainer},
                            dir_ + "/token.out", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("not a PEM private key"), std::string::npos) << out;
}

}  // namespace
}  // namespace kumo::cache
