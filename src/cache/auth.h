// Who may touch which bucket: `Authorization: Bearer <JWT>` (RFC 6750) signed with HS256
// (RFC 7519, RFC 7515) and an ACL from namespaces to buckets.
//
// A token is accepted when its header says alg HS256 (anything else, "none" included, is
// refused), its HMAC-SHA256 over "header.payload" matches (constant-time compare), `exp` is in
// the future and `nbf` (if present) is not, `iss` equals the configured issuer and `aud` (a
// string or an array) contains the configured audience (RFC 7519 §4.1). Its `sub` must look
// like Kubernetes' "system:serviceaccount:NS:SA"; NS is looked up in the ACL.
//
// ACL file (YAML):
//   namespaces:
//     team-a:
//       read: [imagenet, shared]   # buckets; "*" means every bucket
//       write: [imagenet]
// write implies nothing about read: list a bucket under both for read-write.
//
// Outcome: 401 for a missing, malformed, forged, expired or not-yet-valid token or a wrong
// issuer/audience; 403 for a valid token whose namespace may not do this to this bucket.
//
// Thread safety: an Authenticator is immutable after Load and may be shared by threads;
// TokenCache is per thread.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace kumo::cache {

enum class Access { kRead, kWrite };
enum class AuthResult { kAllowed, kUnauthenticated, kForbidden };

struct Claims {
  std::string ns;  // from sub
  int64_t exp_s = 0;
  int64_t nbf_s = 0;  // 0: absent
};

struct AuthOptions {
  std::string secret;  // HS256 key bytes
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
  // `authorization` is the raw header value ("Bearer eyJ..."); `now_s` Unix seconds.
  AuthResult Check(std::string_view authorization, std::string_view bucket, Access access,
                   int64_t now_s, TokenCache* cache) const;
  // Signature and claim-shape checks only (no time, no ACL). Unauthenticated-type failures.
  Result<Claims> Verify(std::string_view token) const;

 private:
  AuthOptions options_;
  std::map<std::string, BucketGrants, std::less<>> acl_;
};

// Builds an HS256 token (for `kumo cache token`, tests and the benchmark).
std::string MakeHs256Token(const std::string& secret, const std::string& sub,
                           const std::string& issuer, const std::string& audience, int64_t exp_s,
                           int64_t nbf_s = 0);

std::string Base64UrlEncode(std::string_view bytes);

}  // namespace kumo::cache
