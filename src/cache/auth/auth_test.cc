#include "cache/auth/auth.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "cache/auth/jwks.h"
#include "test/support/jwks_test_util.h"

namespace kumo::cache {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-test";
const std::string kAcl =
    "namespaces:\n"
    "  team-a:\n"
    "    read: [data, shared]\n"
    "    write: [data]\n"
    "  admins:\n"
    "    read: ['*']\n";
constexpr int64_t kNow = 1'800'000'000;

Authenticator Make() {
  AuthOptions o;
  o.secret = kSecret;
  auto a = Authenticator::Load(o, kAcl);
  EXPECT_TRUE(a.has_value()) << a.error().message();
  return *a;
}

std::string Bearer(const std::string& sub, int64_t exp = kNow + 600,
                   const std::string& iss = "kumo", const std::string& aud = "kumo-cache",
                   const std::string& secret = kSecret, int64_t nbf = 0) {
  return "Bearer " + MakeHs256Token(secret, sub, iss, aud, exp, nbf);
}

AuthResult Check(const Authenticator& a, const std::string& authz, const std::string& bucket,
                 Access access = Access::kRead, const std::string& key = "k") {
  TokenCache cache;
  return a.Check(authz, bucket, key, access, kNow, &cache);
}

TEST(Auth, ValidTokenReadsAndWritesItsBuckets) {
  Authenticator a = Make();
  std::string t = Bearer("system:serviceaccount:team-a:trainer");
  EXPECT_EQ(Check(a, t, "data"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, t, "data", Access::kWrite), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, t, "shared"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, t, "shared", Access::kWrite), AuthResult::kForbidden);
  EXPECT_EQ(Check(a, t, "other"), AuthResult::kForbidden);
  EXPECT_EQ(Check(a, Bearer("system:serviceaccount:admins:x"), "anything"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, Bearer("system:serviceaccount:team-b:x"), "data"), AuthResult::kForbidden);
}

TEST(Auth, BadTokensAreUnauthenticated) {
  Authenticator a = Make();
  const std::string sub = "system:serviceaccount:team-a:trainer";
  std::string good = Bearer(sub);
  std::string forged = good;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  std::string none_alg = "Bearer " + Base64UrlEncode(R"({"alg":"none"})") + "." +
                         good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1) +
                         ".";
  for (const std::string& t :
       {std::string(""), std::string("Bearer"), std::string("Basic abc"), std::string("Bearer x.y"),
        forged, none_alg, Bearer(sub, kNow - 100), Bearer(sub, kNow + 600, "evil"),
        Bearer(sub, kNow + 600, "kumo", "other-aud"),
        Bearer(sub, kNow + 600, "kumo", "kumo-cache", "another-secret-another-secret-xx"),
        Bearer(sub, kNow + 600, "kumo", "kumo-cache", kSecret, kNow + 3600), Bearer("alice"),
        Bearer("system:serviceaccount::x")})
    EXPECT_EQ(Check(a, t, "data"), AuthResult::kUnauthenticated) << t;
}

TEST(Auth, CachedTokenStillExpires) {
  Authenticator a = Make();
  std::string t = Bearer("system:serviceaccount:team-a:t", kNow + 10);
  TokenCache cache;
  EXPECT_EQ(a.Check(t, "data", "k", Access::kRead, kNow, &cache), AuthResult::kAllowed);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(a.Check(t, "data", "k", Access::kRead, kNow + 100, &cache), AuthResult::kUnauthenticated);
}

TEST(Auth, ShortSecretAndBadAclAreRefused) {
  AuthOptions o;
  EXPECT_FALSE(Authenticator::Load(o, kAcl).has_value());  // neither a secret nor a JWKS
  o.secret = "short";
  EXPECT_FALSE(Authenticator::Load(o, kAcl).has_value());
  o.secret = kSecret;
  EXPECT_FALSE(Authenticator::Load(o, "namespaces: [1, 2]").has_value());
  EXPECT_FALSE(Authenticator::Load(o, "namespaces:\n  a:\n    read: data\n").has_value());
  EXPECT_FALSE(Authenticator::Load(o, "{{{").has_value());
}

// ---- RS256 / ES256 with a JWKS ----

using jwks_test::JwksText;
using jwks_test::TestKey;

const std::string kK8sIssuer = "https://kubernetes.default.svc.cluster.local";
const std::string kSub = "system:serviceaccount:team-a:trainer";

// Keys are generated once per test binary run: RSA key generation dominates these tests.
const TestKey& RsaKey() {
  static const TestKey k = jwks_test::MakeRsaKey("rsa-1");
  return k;
}
const TestKey& OtherRsaKey() {  // not in the JWKS, but claims the same kid
  static const TestKey k = jwks_test::MakeRsaKey("rsa-1");
  return k;
}
const TestKey& EcKey() {
  static const TestKey k = jwks_test::MakeP256Key("ec-1");
  return k;
}

JwsSigner Signer(const TestKey& k) {
  Result<JwsSigner> s = JwsSigner::FromPem(k.private_pem);
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return *s;
}

std::shared_ptr<const JsonWebKeySet> Jwks(const std::vector<nlohmann::json>& keys) {
  Result<JsonWebKeySet> set = JsonWebKeySet::Parse(JwksText(keys));
  EXPECT_TRUE(set.has_value()) << set.error().message();
  return std::make_shared<const JsonWebKeySet>(std::move(*set));
}

Authenticator MakeJwks(const std::string& secret = "") {
  AuthOptions o;
  o.secret = secret;
  o.jwks = Jwks({RsaKey().public_jwk, EcKey().public_jwk});
  o.issuer = kK8sIssuer;
  auto a = Authenticator::Load(o, kAcl);
  EXPECT_TRUE(a.has_value()) << a.error().message();
  return *a;
}

std::string Signed(const TestKey& key, const std::string& kid, const std::string& sub = kSub,
                   int64_t exp = kNow + 600, const std::string& iss = kK8sIssuer,
                   const std::string& aud = "kumo-cache", int64_t nbf = 0) {
  Result<std::string> t = MakeSignedToken(Signer(key), kid, sub, iss, aud, exp, nbf);
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return "Bearer " + *t;
}

// A token with the given header and signature bytes over `payload_b64`.
std::string Forge(const std::string& header_json, const std::string& payload_b64,
                  const std::string& signature) {
  return "Bearer " + Base64UrlEncode(header_json) + "." + payload_b64 + "." +
         Base64UrlEncode(signature);
}

std::string PayloadPart(const std::string& bearer) {
  size_t d1 = bearer.find('.');
  return bearer.substr(d1 + 1, bearer.rfind('.') - d1 - 1);
}

std::string SignaturePart(const std::string& bearer) {
  return *Base64UrlDecode(bearer.substr(bearer.rfind('.') + 1));
}

TEST(AuthJwks, ValidRs256AndEs256TokensWithAndWithoutKid) {
  Authenticator a = MakeJwks();
  for (const std::string& t : {Signed(RsaKey(), "rsa-1"), Signed(RsaKey(), ""),
                               Signed(EcKey(), "ec-1"), Signed(EcKey(), "")}) {
    EXPECT_EQ(Check(a, t, "data"), AuthResult::kAllowed) << t;
    EXPECT_EQ(Check(a, t, "data", Access::kWrite), AuthResult::kAllowed) << t;
  }
}

TEST(AuthJwks, KubernetesStyleAudienceArrayAndExtraClaims) {
  Authenticator a = MakeJwks();
  nlohmann::json payload = {
      {"aud", {"https://kubernetes.default.svc", "kumo-cache"}},
      {"exp", kNow + 3600},
      {"iat", kNow - 10},
      {"nbf", kNow - 10},
      {"iss", kK8sIssuer},
      {"sub", kSub},
      {"kubernetes.io", {{"namespace", "team-a"}, {"serviceaccount", {{"name", "trainer"}}}}}};
  std::string input =
      Base64UrlEncode(R"({"alg":"RS256","kid":"rsa-1"})") + "." + Base64UrlEncode(payload.dump());
  Result<std::string> sig = Signer(RsaKey()).Sign(input);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(Check(a, "Bearer " + input + "." + Base64UrlEncode(*sig), "data"),
            AuthResult::kAllowed);
}

TEST(AuthJwks, WrongNamespaceIsForbidden) {
  Authenticator a = MakeJwks();
  EXPECT_EQ(Check(a, Signed(RsaKey(), "rsa-1", "system:serviceaccount:team-b:x"), "data"),
            AuthResult::kForbidden);
  EXPECT_EQ(Check(a, Signed(EcKey(), "ec-1"), "other"), AuthResult::kForbidden);
  EXPECT_EQ(Check(a, Signed(EcKey(), "ec-1"), "shared", Access::kWrite), AuthResult::kForbidden);
}

// kumo_scope narrows what the namespace's ACL allows to prefixes of "bucket/key", per access.
TEST(AuthJwks, ScopeLimitsTheTokenToItsPrefixes) {
  Authenticator a = MakeJwks();
  TokenScope scope{{"data/team-a/mnist/", "shared"}, {"data/team-a/mnist/"}};
  Result<std::string> t =
      MakeSignedToken(Signer(EcKey()), "ec-1", kSub, kK8sIssuer, "kumo-cache", kNow + 600, 0,
                      &scope);
  ASSERT_TRUE(t.has_value());
  std::string bearer = "Bearer " + *t;
  EXPECT_EQ(Check(a, bearer, "data", Access::kRead, "team-a/mnist/abc"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, bearer, "data", Access::kWrite, "team-a/mnist/abc"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, bearer, "shared", Access::kRead, "any/key"), AuthResult::kAllowed);
  // Outside the prefixes: another dataset, a look-alike name, the write side of "shared".
  EXPECT_EQ(Check(a, bearer, "data", Access::kRead, "team-a/other/abc"), AuthResult::kForbidden);
  EXPECT_EQ(Check(a, bearer, "data", Access::kRead, "team-a/mnist2/abc"),
            AuthResult::kForbidden);
  EXPECT_EQ(Check(a, bearer, "shared", Access::kWrite, "any/key"), AuthResult::kForbidden);
  // The scope never widens the ACL: team-a may not write "shared" whatever the token says.
  TokenScope wide{{"*"}, {"shared/"}};
  t = MakeSignedToken(Signer(EcKey()), "ec-1", kSub, kK8sIssuer, "kumo-cache", kNow + 600, 0,
                      &wide);
  EXPECT_EQ(Check(a, "Bearer " + *t, "shared", Access::kWrite, "x"), AuthResult::kForbidden);
  EXPECT_EQ(Check(a, "Bearer " + *t, "data", Access::kRead, "x"), AuthResult::kForbidden);
}

// sha256_keys rides on the scope: an allowed write reports it, a read never does.
TEST(AuthJwks, Sha256KeysScopeIsReportedForWritesOnly) {
  Authenticator a = MakeJwks();
  TokenScope scope{{"data/team-a/mnist/"}, {"data/team-a/mnist/"}, true};
  Result<std::string> t =
      MakeSignedToken(Signer(EcKey()), "ec-1", kSub, kK8sIssuer, "kumo-cache", kNow + 600, 0,
                      &scope);
  ASSERT_TRUE(t.has_value());
  TokenCache cache;
  bool sha256_key = false;
  EXPECT_EQ(a.Check("Bearer " + *t, "data", "team-a/mnist/x", Access::kWrite, kNow, &cache,
                    &sha256_key),
            AuthResult::kAllowed);
  EXPECT_TRUE(sha256_key);
  EXPECT_EQ(a.Check("Bearer " + *t, "data", "team-a/mnist/x", Access::kRead, kNow, &cache,
                    &sha256_key),
            AuthResult::kAllowed);
  EXPECT_FALSE(sha256_key);
  scope.sha256_keys = false;
  t = MakeSignedToken(Signer(EcKey()), "ec-1", kSub, kK8sIssuer, "kumo-cache", kNow + 600, 0,
                      &scope);
  sha256_key = true;
  EXPECT_EQ(a.Check("Bearer " + *t, "data", "team-a/mnist/x", Access::kWrite, kNow, &cache,
                    &sha256_key),
            AuthResult::kAllowed);
  EXPECT_FALSE(sha256_key);
}

TEST(AuthJwks, MalformedScopeIsUnauthenticated) {
  Authenticator a = MakeJwks();
  for (const nlohmann::json& bad :
       {nlohmann::json("data/"), nlohmann::json({{"read", "data/"}}),
        nlohmann::json({{"read", {1}}}), nlohmann::json({{"delete", {"data/"}}}),
        nlohmann::json({{"write", {"data/"}}, {"sha256_keys", "yes"}})}) {
    nlohmann::json payload = {{"aud", "kumo-cache"}, {"exp", kNow + 600}, {"iss", kK8sIssuer},
                              {"sub", kSub},         {"kumo_scope", bad}};
    std::string input =
        Base64UrlEncode(R"({"alg":"ES256","kid":"ec-1"})") + "." + Base64UrlEncode(payload.dump());
    Result<std::string> sig = Signer(EcKey()).Sign(input);
    ASSERT_TRUE(sig.has_value());
    EXPECT_EQ(Check(a, "Bearer " + input + "." + Base64UrlEncode(*sig), "data"),
              AuthResult::kUnauthenticated)
        << bad.dump();
  }
}

TEST(AuthJwks, BadTokensAreUnauthenticated) {
  Authenticator a = MakeJwks();
  std::string rs = Signed(RsaKey(), "rsa-1");
  std::string es = Signed(EcKey(), "ec-1");
  std::string payload = PayloadPart(rs);
  std::string forged_rs = SignaturePart(rs);
  forged_rs[forged_rs.size() / 2] ^= 0x01;
  std::string forged_es = SignaturePart(es);
  forged_es[10] ^= 0x01;
  struct Case {
    const char* what;
    std::string token;
  };
  std::vector<Case> cases = {
      {"forged RS256 signature", Forge(R"({"alg":"RS256","kid":"rsa-1"})", payload, forged_rs)},
      {"forged ES256 signature",
       Forge(R"({"alg":"ES256","kid":"ec-1"})", PayloadPart(es), forged_es)},
      {"payload swapped under a valid signature",
       Forge(R"({"alg":"RS256","kid":"rsa-1"})",
             PayloadPart(Signed(RsaKey(), "rsa-1", "system:serviceaccount:admins:x")),
             SignaturePart(rs))},
      {"unknown kid", Signed(RsaKey(), "rsa-2")},
      {"kid of the EC key on an RS256 token", Signed(RsaKey(), "ec-1")},
      {"a key that is not in the JWKS", Signed(OtherRsaKey(), "rsa-1")},
      {"a key that is not in the JWKS, no kid", Signed(OtherRsaKey(), "")},
      {"RS256 signature relabelled ES256",
       Forge(R"({"alg":"ES256","kid":"rsa-1"})", payload, SignaturePart(rs))},
      {"ES256 signature relabelled RS256",
       Forge(R"({"alg":"RS256"})", PayloadPart(es), SignaturePart(es))},
      {"expired", Signed(RsaKey(), "rsa-1", kSub, kNow - 100)},
      {"nbf in the future",
       Signed(EcKey(), "ec-1", kSub, kNow + 7200, kK8sIssuer, "kumo-cache", kNow + 3600)},
      {"wrong iss", Signed(RsaKey(), "rsa-1", kSub, kNow + 600, "https://evil.example")},
      {"wrong aud", Signed(EcKey(), "ec-1", kSub, kNow + 600, kK8sIssuer, "other")},
      {"alg none", Forge(R"({"alg":"none"})", payload, "")},
      {"alg None", Forge(R"({"alg":"None","kid":"rsa-1"})", payload, "")},
      {"alg RS512", Forge(R"({"alg":"RS512","kid":"rsa-1"})", payload, SignaturePart(rs))},
      {"alg missing", Forge(R"({"kid":"rsa-1"})", payload, SignaturePart(rs))},
      {"kid not a string", Forge(R"({"alg":"RS256","kid":7})", payload, SignaturePart(rs))},
      {"crit header",
       Forge(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})", payload, SignaturePart(rs))},
  };
  for (const Case& c : cases)
    EXPECT_EQ(Check(a, c.token, "data"), AuthResult::kUnauthenticated) << c.what;
}

// RFC 8725 §2.1: a verifier that lets the token's alg pick how the key is used would take the
// (public!) RSA key as an HMAC secret. Try every byte form of the public key an attacker has.
TEST(AuthJwks, Hs256SignedWithThePublicKeyIsRefused) {
  std::string n = *Base64UrlDecode(RsaKey().public_jwk["n"].get<std::string>());
  std::vector<std::string> public_bytes = {RsaKey().public_pem, RsaKey().public_jwk.dump(), n,
                                           JwksText({RsaKey().public_jwk})};
  std::string payload = PayloadPart(Signed(RsaKey(), "rsa-1"));
  auto hs256 = [&](const char* header, const std::string& secret) {
    std::string input = Base64UrlEncode(header) + "." + payload;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
    return "Bearer " + input + "." +
           Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), mac_len));
  };
  const char* kHeaders[] = {R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"HS256","kid":"rsa-1"})"};
  Authenticator with_secret = MakeJwks(kSecret);
  // The forgery is well formed: signed with the real secret it passes.
  for (const char* header : kHeaders)
    EXPECT_EQ(Check(with_secret, hs256(header, kSecret), "data"), AuthResult::kAllowed) << header;
  for (const Authenticator& a : {MakeJwks(), with_secret})
    for (const std::string& secret : public_bytes)
      for (const char* header : kHeaders)
        EXPECT_EQ(Check(a, hs256(header, secret), "data"), AuthResult::kUnauthenticated) << header;
}

TEST(AuthJwks, SecretAndJwksTogetherAcceptBoth) {
  Authenticator a = MakeJwks(kSecret);
  EXPECT_EQ(Check(a, Signed(RsaKey(), "rsa-1"), "data"), AuthResult::kAllowed);
  EXPECT_EQ(Check(a, Bearer(kSub, kNow + 600, kK8sIssuer), "data"), AuthResult::kAllowed);
  // Without the secret, a correctly signed HS256 token is refused: HS256 is not configured.
  EXPECT_EQ(Check(MakeJwks(), Bearer(kSub, kNow + 600, kK8sIssuer), "data"),
            AuthResult::kUnauthenticated);
}

TEST(AuthJwks, ReplacedKeySetRetiresCachedTokens) {
  Authenticator a = MakeJwks();
  std::string old_key = Signed(RsaKey(), "rsa-1");
  TokenCache cache;
  EXPECT_EQ(a.Check(old_key, "data", "k", Access::kRead, kNow, &cache), AuthResult::kAllowed);
  a.ReplaceJwks(Jwks({EcKey().public_jwk}));
  EXPECT_EQ(a.Check(old_key, "data", "k", Access::kRead, kNow, &cache), AuthResult::kUnauthenticated);
  EXPECT_EQ(a.Check(Signed(EcKey(), "ec-1"), "data", "k", Access::kRead, kNow, &cache),
            AuthResult::kAllowed);
}

// JWS ES256 signatures are R||S (RFC 7518 §3.4). Sign with OpenSSL directly (DER), take the
// DER apart by hand here, and check the set verifies the result; and that JwsSigner's output
// is the 64-byte form.
TEST(JwksEs256, RawSignatureMatchesOpenSslDer) {
  BIO* bio =
      BIO_new_mem_buf(EcKey().private_pem.data(), static_cast<int>(EcKey().private_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pkey, nullptr);
  const std::string input = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char der[80];
  size_t der_len = sizeof der;
  ASSERT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey), 1);
  ASSERT_EQ(EVP_DigestSign(ctx, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  // SEQUENCE { INTEGER r, INTEGER s }; both short-form lengths for P-256.
  ASSERT_EQ(der[0], 0x30);
  std::string raw;
  size_t pos = 2;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(der[pos], 0x02);
    size_t len = der[pos + 1];
    std::string v(reinterpret_cast<const char*>(der + pos + 2), len);
    while (v.size() > 32 && v[0] == '\0') v.erase(0, 1);
    raw += std::string(32 - v.size(), '\0') + v;
    pos += 2 + len;
  }
  ASSERT_EQ(pos, der_len);
  std::shared_ptr<const JsonWebKeySet> set = Jwks({EcKey().public_jwk});
  EXPECT_TRUE(set->Verify(JwsAlg::kEs256, std::nullopt, input, raw));
  EXPECT_FALSE(set->Verify(JwsAlg::kEs256, std::nullopt, input,
                           std::string(reinterpret_cast<const char*>(der), der_len)));
  Result<std::string> mine = Signer(EcKey()).Sign(input);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->size(), 64u);
  EXPECT_TRUE(set->Verify(JwsAlg::kEs256, std::string("ec-1"), input, *mine));
}

TEST(Jwks, UsesRsaAndP256KeysAndSkipsOthers) {
  nlohmann::json rsa = RsaKey().public_jwk;
  rsa["alg"] = "RS256";
  rsa["use"] = "sig";
  nlohmann::json ec = EcKey().public_jwk;
  ec["key_ops"] = {"verify"};
  nlohmann::json enc = RsaKey().public_jwk;
  enc["kid"] = "enc";
  enc["use"] = "enc";
  nlohmann::json rs384 = RsaKey().public_jwk;
  rs384["kid"] = "rs384";
  rs384["alg"] = "RS384";
  nlohmann::json ec_as_rs = EcKey().public_jwk;
  ec_as_rs["kid"] = "ec-rs";
  ec_as_rs["alg"] = "RS256";
  nlohmann::json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}};
  nlohmann::json p384 = {{"kty", "EC"}, {"crv", "P-384"}, {"x", "AAAA"}, {"y", "AAAA"}};
  Result<JsonWebKeySet> set =
      JsonWebKeySet::Parse(JwksText({rsa, ec, enc, rs384, ec_as_rs, okp, p384}));
  ASSERT_TRUE(set.has_value()) << set.error().message();
  EXPECT_EQ(set->size(), 2u);
  ASSERT_EQ(set->skipped().size(), 5u);
  EXPECT_EQ(set->skipped()[0], "keys[2]: use \"enc\" is not \"sig\"");
  EXPECT_EQ(set->skipped()[3],
            "keys[5]: kty OKP crv Ed25519 is not supported (RSA and EC P-256 are)");
}

TEST(Jwks, MalformedSetsNameTheKeyAndField) {
  nlohmann::json rsa = RsaKey().public_jwk;
  nlohmann::json ec = EcKey().public_jwk;
  auto with = [](nlohmann::json k, const std::string& field, nlohmann::json v) {
    if (v.is_null())
      k.erase(field);
    else
      k[field] = v;
    return k;
  };
  std::string short_modulus = Base64UrlEncode(std::string(128, '\xc3'));  // 1024 bits
  std::string off_curve = Base64UrlEncode(std::string(32, '\x01'));
  struct Case {
    std::string text;
    std::string error;
  };
  std::vector<Case> cases = {
      {"{not json", "jwks: not JSON"},
      {R"({"keys": 3})", "jwks: want an object {\"keys\": [...]}"},
      {R"([])", "jwks: want an object"},
      {JwksText({rsa, with(rsa, "n", "not*base64")}), "jwks keys[1].n: not base64url"},
      {JwksText({with(rsa, "n", "QUJD=")}), "jwks keys[0].n: not base64url"},
      {JwksText({with(rsa, "e", nullptr)}), "jwks keys[0].e: missing"},
      {JwksText({with(rsa, "n", 12345)}), "jwks keys[0].n: must be a string"},
      {JwksText({with(rsa, "n", short_modulus)}), "jwks keys[0].n: RSA modulus is 1024 bits"},
      {JwksText({with(rsa, "e", "AQAA")}), "jwks keys[0].e: not a usable RSA public exponent"},
      {JwksText({with(rsa, "kty", nullptr)}), "jwks keys[0].kty: missing"},
      {JwksText({with(rsa, "kty", 1)}), "jwks keys[0].kty: must be a string"},
      {JwksText({with(rsa, "kid", true)}), "jwks keys[0].kid: must be a string"},
      {JwksText({with(rsa, "d", "AQAB")}), "jwks keys[0].d: private key material"},
      {JwksText({ec, with(ec, "x", Base64UrlEncode(std::string(31, 'x')))}),
       "jwks keys[1].x: want 32 bytes for P-256, got 31"},
      {JwksText({with(ec, "y", nullptr)}), "jwks keys[0].y: missing"},
      {JwksText({with(ec, "crv", nullptr)}), "jwks keys[0].crv: missing"},
      {JwksText({with(with(ec, "x", off_curve), "y", off_curve)}),
       "jwks keys[0]: (x, y) is not a point on P-256"},
      {JwksText({rsa, with(ec, "kid", "rsa-1")}),
       "jwks keys[1].kid: \"rsa-1\" names an earlier key"},
      {JwksText({rsa, 7}), "jwks keys[1]: want a JSON object"},
      {JwksText({with(rsa, "key_ops", "verify")}), "jwks keys[0].key_ops: must be an array"},
      {JwksText({}), "jwks: no usable RS256/ES256 key"},
      {JwksText({with(rsa, "use", "enc")}),
       "jwks: no usable RS256/ES256 key; keys[0]: use \"enc\" is not \"sig\""},
  };
  for (const Case& c : cases) {
    Result<JsonWebKeySet> set = JsonWebKeySet::Parse(c.text);
    ASSERT_FALSE(set.has_value()) << c.text;
    EXPECT_EQ(set.error().message().rfind(c.error, 0), 0u)
        << "got: " << set.error().message() << "\nwant prefix: " << c.error;
  }
}

TEST(JwksSigner, RefusesWeakOrUnsupportedKeys) {
  EXPECT_FALSE(JwsSigner::FromPem("not a key").has_value());
  EXPECT_FALSE(JwsSigner::FromPem(RsaKey().public_pem).has_value());  // public, not private
  TestKey small = jwks_test::MakeRsaKey("", 1024);
  Result<JwsSigner> s = JwsSigner::FromPem(small.private_pem);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("1024 bits"), std::string::npos) << s.error().message();
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, p384, nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_FALSE(JwsSigner::FromPem(jwks_test::BioText(bio)).has_value());
  BIO_free(bio);
  EVP_PKEY_free(p384);
  EXPECT_EQ(Signer(RsaKey()).alg(), JwsAlg::kRs256);
  EXPECT_EQ(Signer(EcKey()).alg(), JwsAlg::kEs256);
}

}  // namespace
}  // namespace kumo::cache
