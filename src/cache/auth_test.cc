#include "cache/auth.h"

#include <gtest/gtest.h>

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
                 Access access = Access::kRead) {
  TokenCache cache;
  return a.Check(authz, bucket, access, kNow, &cache);
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
  EXPECT_EQ(a.Check(t, "data", Access::kRead, kNow, &cache), AuthResult::kAllowed);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(a.Check(t, "data", Access::kRead, kNow + 100, &cache), AuthResult::kUnauthenticated);
}

TEST(Auth, ShortSecretAndBadAclAreRefused) {
  AuthOptions o;
  o.secret = "short";
  EXPECT_FALSE(Authenticator::Load(o, kAcl).has_value());
  o.secret = kSecret;
  EXPECT_FALSE(Authenticator::Load(o, "namespaces: [1, 2]").has_value());
  EXPECT_FALSE(Authenticator::Load(o, "namespaces:\n  a:\n    read: data\n").has_value());
  EXPECT_FALSE(Authenticator::Load(o, "{{{").has_value());
}

}  // namespace
}  // namespace kumo::cache
