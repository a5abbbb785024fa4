// Who may touch which bucket: `Authorization: Bearer <JWT>` (RFC 6750, RFC 7519) signed with
// HS256 (a shared secret), RS256 or ES256 (public keys from a JWKS, src/cache/auth/jwks.h: e.g. the
// Kubernetes API server's, so projected service-account tokens verify offline), and an ACL from
// namespaces to buckets.
//
// A token is accepted when its header's alg is one the configuration allows — HS256 only with
// a secret, RS256 only against an RSA key of the JWKS, ES256 only against an EC P-256 key;
// "none" and everything else are refused, and the token never picks the key type (RFC 8725
// §2.1, §3.1: an RSA public key is never an HMAC secret). With a `kid` only the key with that
// kid is tried; without one every key of the alg's type is. A `crit` header is refused (we
// implement no extensions, RFC 7515 §4.1.11); `jku`/`x5u`/`jwk` are ignored, never fetched.
// Then the signature over "header.payload" must verify (HMAC compared in constant time), `exp`
// be in the future and `nbf` (if present) not, `iss` equal the configured issuer and `aud` (a
// string or an array) contain the configured audience (RFC 7519 §4.1). Its `sub` must look
// like Kubernetes' "system:serviceaccount:NS:SA"; NS is looked up in the ACL.
//
// ACL file (YAML):
//   namespaces:
//     team-a:
//       read: [imagenet, shared]   # buckets; "*" means every bucket
//       write: [imagenet]
// write implies nothing about read: list a bucket under both for read-write.
//
// Scope (tokens the kumo server mints, docs/datasets.md): a token may carry a claim
//   "kumo_scope": {"read": ["datasets/team-a/mnist/"], "write": [...]}
// whose entries are prefixes of "bucket/key". It only narrows: a request is allowed when the ACL
// allows its namespace the bucket AND some entry of the scope for that access is a prefix of
// "bucket/key". So one ACL line for the server's namespace ("kumo: {read: [datasets], write:
// [datasets]}") and per-token scopes give each job and user its own datasets, with no shared
// secret handed out. A malformed kumo_scope makes the token invalid (401), never unscoped.
// With "sha256_keys": true the token writes only content addresses: the last '/'-segment of
// every key it PUTs must be the lower-case hex SHA-256 of the body, which the cache computes as
// the body arrives and refuses (400, nothing stored) when it differs. The server's dataset
// upload tokens carry it, so an object under a dataset's prefix is always the bytes its name
// says — checked once, here, so that pulls need only a fast checksum (docs/datasets.md).
//
// Outcome: 401 for a missing, malformed, forged, expired or not-yet-valid token or a wrong
// issuer/audience; 403 for a valid token whose namespace may not do this to this bucket.
//
// Thread safety: an Authenticator is immutable after Load except for ReplaceJwks, which may run
// while other threads Check; TokenCache is per thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/auth/jwks.h"
#include "base/status.h"

namespace kumo::cache {

enum class Access { kRead, kWrite };
enum class AuthResult { kAllowed, kUnauthenticated, kForbidden };

// Prefixes of "bucket/key" a token is limited to (see Scope above).
struct TokenScope {
  std::vector<std::string> read, write;
  bool sha256_keys = false;  // writes must be named by their bytes' SHA-256 (see Scope above)
};

struct Claims {
  std::string ns;  // from sub
  std::optional<TokenScope> scope;  // absent: the namespace's ACL alone decides
  int64_t exp_s = 0;
  int64_t nbf_s = 0;             // 0: absent
  uint64_t jwks_generation = 0;  // key set it verified against; a newer one re-verifies it
};

// At least one of `secret` and `jwks` is required.
struct AuthOptions {
  std::string secret;  // HS256 key bytes (≥ 32); empty: HS256 tokens are refused
  std::shared_ptr<const JsonWebKeySet> jwks;  // RS256/ES256 keys; null: those are refused
  std::string issuer = "kumo";
  std::string audience = "kumo-cache";
  int64_t leeway_s = 30;  // clock skew allowed on exp/nbf
};

struct BucketGrants {
  std::set<std::string> read, write;  // may contain "*"
};

// Parsed-and-verified tokens by their exact bytes, so each distinct token is verified once
// per thread; exp/nbf and the ACL are still checked on every request. Bounded: cleared when
// it reaches 4,096 entries.
using TokenCache = std::unordered_map<std::string, Claims>;

class Authenticator {
 public:
  static Result<Authenticator> Load(AuthOptions options, const std::string& acl_yaml_text);
  // `authorization` is the raw header value ("Bearer eyJ..."); `now_s` Unix seconds; `key` is
  // checked against the token's scope, if it has one. An allowed write sets *sha256_key (when
  // given) to whether the body must hash to the key's last segment (sha256_keys).
  AuthResult Check(std::string_view authorization, std::string_view bucket, std::string_view key,
                   Access access, int64_t now_s, TokenCache* cache,
                   bool* sha256_key = nullptr) const;
  // Signature and claim-shape checks only (no time, no ACL). Unauthenticated-type failures.
  Result<Claims> Verify(std::string_view token) const;
  // Swaps in a re-read JWKS (non-null). Tokens verified against the old set are verified again
  // on their next use, so a key removed from the file stops working at once.
  void ReplaceJwks(std::shared_ptr<const JsonWebKeySet> jwks);

 private:
  // Shared so the Authenticator stays movable; the workers read it on every token
  // verification, the control thread writes it on a reload.
  struct KeyState {
    std::atomic<std::shared_ptr<const JsonWebKeySet>> jwks;
    std::atomic<uint64_t> generation{0};
  };
  AuthOptions options_;  // options_.jwks is moved into keys_ at Load
  std::shared_ptr<KeyState> keys_;
  std::map<std::string, BucketGrants, std::less<>> acl_;
};

// Builds an HS256 token (for `kumo cache token`, tests and the benchmark), with a kumo_scope
// claim when `scope` is not null.
std::string MakeHs256Token(const std::string& secret, const std::string& sub,
                           const std::string& issuer, const std::string& audience, int64_t exp_s,
                           int64_t nbf_s = 0, const TokenScope* scope = nullptr);

// Builds an RS256 or ES256 token (the signer's key decides), with `kid` in the header when not
// empty, and a kumo_scope claim when `scope` is not null.
Result<std::string> MakeSignedToken(const JwsSigner& signer, const std::string& kid,
                                    const std::string& sub, const std::string& issuer,
                                    const std::string& audience, int64_t exp_s, int64_t nbf_s = 0,
                                    const TokenScope* scope = nullptr);

// Base64url without padding (RFC 7515 §2); Decode returns nullopt on any other byte.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace kumo::cache
