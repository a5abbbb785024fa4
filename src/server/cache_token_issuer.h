// CacheTokenIssuer: the server's own signing key for kumo cache tokens, and the JWKS that
// publishes its public half.
//
// The cache already verifies RS256/ES256 tokens offline against a JWKS file (cache/auth/jwks.h),
// so the server needs no shared secret with it: on first start the server makes an EC P-256 key
// (DATA_DIR/cache-signing-key.pem, mode 0600, written atomically) and writes the public key as
// DATA_DIR/cache-jwks.json, which `kumo cache serve --jwks` reads (and re-reads when it changes).
// The same text is served at GET /v1/cache/jwks. Tokens are short-lived and carry a kumo_scope
// (cache/auth/auth.h) that limits them to the key prefixes of the datasets they were minted for;
// their sub is "system:serviceaccount:kumo:<user>", so the cache's ACL needs one line:
//   namespaces: {kumo: {read: [datasets], write: [datasets]}}
//
// Thread safety: immutable after Open; Mint may run on any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "cache/auth/auth.h"
#include "cache/auth/jwks.h"

namespace kumo::server {

inline constexpr char kCacheTokenNamespace[] = "kumo";

class CacheTokenIssuer {
 public:
  // Loads the key from `data_dir`, creating it (and the JWKS file) on first start.
  static Result<std::unique_ptr<CacheTokenIssuer>> Open(const std::string& data_dir);

  // A token for `principal` (a user or "job-12") valid for `ttl_s` seconds from `now_s`.
  Result<std::string> Mint(const std::string& principal, const cache::TokenScope& scope,
                           int64_t now_s, int64_t ttl_s) const;

  const std::string& jwks_text() const { return jwks_text_; }
  const std::string& jwks_path() const { return jwks_path_; }

 private:
  CacheTokenIssuer(cache::JwsSigner signer, std::string kid, std::string jwks_text,
                   std::string jwks_path)
      : signer_(std::move(signer)), kid_(std::move(kid)), jwks_text_(std::move(jwks_text)),
        jwks_path_(std::move(jwks_path)) {}

  cache::JwsSigner signer_;
  std::string kid_;
  std::string jwks_text_, jwks_path_;
};

}  // namespace kumo::server
