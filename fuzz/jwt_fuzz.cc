// libFuzzer target for the cache's token parsers (src/cache/auth/): the JWT verifier that sees
// every request's Authorization header and the JWKS parser that reads key sets published by
// others (a Kubernetes API server). Each input is tried as all three:
//   - a JWKS document: parsing never crashes, and a set that parses has a usable key;
//   - a token (compact JWS) against a fixed HS256 secret and ES256 key: Check allows only what
//     Verify accepts, gives the same answer when its cache is warm, and never allows a token
//     that is not signed by the test keys (the input alone cannot carry a valid signature
//     unless it was minted with them, which the seeds in fuzz/corpus/jwt are);
//   - a token *header* over a fixed payload, correctly HMAC-signed with the secret: it may
//     verify only when the header says alg HS256 (no alg confusion: "none", RS256 or ES256
//     with an HMAC signature must fail, RFC 8725 §2.1).
// Base64url decoding round-trips. Built with clang -fsanitize=fuzzer (KUMO_FUZZ=ON, `make
// fuzz`) and under gcc with replay_main.cc as the ctest `fuzz_jwt_replay`.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cache/auth/auth.h"
#include "cache/auth/jwks.h"
#include "fuzz_check.h"

namespace {

using kumo::cache::Access;
using kumo::cache::AuthResult;
using kumo::cache::Authenticator;
using kumo::cache::Base64UrlDecode;
using kumo::cache::Base64UrlEncode;
using kumo::cache::JsonWebKeySet;

// Test keys only (they sign the seeds in fuzz/corpus/jwt; they guard nothing).
constexpr std::string_view kSecret = "kumo-fuzz-hs256-secret-0123456789abcdef";
constexpr std::string_view kJwks = R"({"keys": [{"kty": "EC", "crv": "P-256", "kid": "fuzz",
  "x": "u2R7Ot2zYTXb0rqXjN9RlxCI4ZW80eefnD6fDbNn5zo",
  "y": "UxB1AoCWZn3ldZ-3HLbVjfvtAatHdy43l-t3jqI3Cs0"}]})";
constexpr int64_t kNow = 1800000000;  // 2027-01-15; the seeds expire in 2100
// A payload every configured check accepts.
constexpr std::string_view kPayload =
    R"({"sub":"system:serviceaccount:team-a:trainer","iss":"kumo","aud":"kumo-cache","exp":4102444800})";

const Authenticator& TheAuthenticator() {
  static const Authenticator* auth = [] {
    kumo::cache::AuthOptions options;
    options.secret = std::string(kSecret);
    auto keys = JsonWebKeySet::Parse(kJwks);
    FUZZ_CHECK(keys.has_value());
    options.jwks = std::make_shared<const JsonWebKeySet>(std::move(*keys));
    auto a = Authenticator::Load(options, "namespaces:\n  team-a:\n    read: ['*']\n");
    FUZZ_CHECK(a.has_value());
    return new Authenticator(std::move(*a));
  }();
  return *auth;
}

std::string HmacSha256(std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

void CheckToken(std::string_view token) {
  const Authenticator& auth = TheAuthenticator();
  auto verified = auth.Verify(token);
  if (verified) FUZZ_CHECK(verified->ns == "team-a");
  kumo::cache::TokenCache cache;
  std::string header = "Bearer " + std::string(token);
  AuthResult first = auth.Check(header, "bucket", "key", Access::kRead, kNow, &cache);
  AuthResult warm = auth.Check(header, "bucket", "key", Access::kRead, kNow, &cache);
  FUZZ_CHECK(first == warm);
  if (first == AuthResult::kAllowed) FUZZ_CHECK(verified.has_value());
  FUZZ_CHECK(auth.Check(header, "bucket", "key", Access::kWrite, kNow, &cache) != AuthResult::kAllowed);
}

// `header_json` as the header of a token over kPayload with a valid HMAC-SHA256 signature.
void CheckHeader(std::string_view header_json) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(kPayload);
  std::string token = input + "." + Base64UrlEncode(HmacSha256(input));
  if (!TheAuthenticator().Verify(token)) return;
  nlohmann::json h = nlohmann::json::parse(header_json, nullptr, false);
  FUZZ_CHECK(h.is_object() && h.value("alg", "") == "HS256");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto keys = JsonWebKeySet::Parse(text);
  if (keys) FUZZ_CHECK(keys->size() >= 1);
  auto decoded = Base64UrlDecode(text);
  if (decoded) FUZZ_CHECK(Base64UrlDecode(Base64UrlEncode(*decoded)) == decoded);
  FUZZ_CHECK(Base64UrlDecode(Base64UrlEncode(text)) == std::string(text));
  CheckToken(text);
  CheckHeader(text);
  return 0;
}
