// Public keys for RS256 and ES256 JWS signatures (RFC 7518 §3.3, §3.4) read from a JSON Web Key
// Set (RFC 7517 §5), e.g. the one a Kubernetes API server publishes at
// /openid/v1/jwks, so projected service-account tokens verify offline; and the private-key side
// (JwsSigner) that mints such tokens for `kumo cache token --key`, tests and benchmarks.
//
// JWKS file: {"keys": [{"kty": "RSA", "n": "...", "e": "AQAB", "kid": "k1", "alg": "RS256",
// "use": "sig"}, {"kty": "EC", "crv": "P-256", "x": "...", "y": "..."}]}. `kid`, `alg`, `use`
// and `key_ops` are optional; when present they are honoured: a key whose `use` is not "sig",
// whose `key_ops` lacks "verify", whose `alg` is not RS256 (RSA) / ES256 (EC), or whose kty/crv
// this verifier does not implement (OKP, P-384, ...) is skipped and listed in skipped(), so a
// set published for several verifiers still loads. A malformed key is an error naming it:
// "jwks keys[1].n: not base64url".
//
// Thread safety: a JsonWebKeySet and a JwsSigner are immutable after construction; Verify and
// Sign may run on any number of threads at once.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/file_stamp.h"

namespace kumo::cache {

enum class JwsAlg { kRs256, kEs256 };

// "RS256" / "ES256".
std::string_view JwsAlgName(JwsAlg alg);

class JsonWebKeySet {
 public:
  // Errors name the key index and field. At least one usable key is required.
  static Result<JsonWebKeySet> Parse(std::string_view json_text);

  // Whether `signature` (the decoded third part of a compact JWS) signs `signing_input`
  // ("header.payload") under `alg` with one of the keys: the one whose kid equals `kid` when
  // the token names one (RFC 7515 §4.1.4), otherwise any key of that algorithm. A key is only
  // ever used with its own algorithm (RSA → RS256, EC P-256 → ES256).
  bool Verify(JwsAlg alg, const std::optional<std::string>& kid, std::string_view signing_input,
              std::string_view signature) const;

  size_t size() const { return keys_.size(); }
  // Why each left-out key was left out: "keys[2]: kty OKP is not supported".
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  struct Key {
    std::optional<std::string> kid;
    JwsAlg alg;
    std::shared_ptr<EVP_PKEY> pkey;
  };
  std::vector<Key> keys_;
  std::vector<std::string> skipped_;
};

// A JWKS file that is re-read when it changes: a new inode (rename, or Kubernetes swapping a
// ConfigMap's symlink), mtime or size. Errors name the path: "--jwks /etc/jwks.json: jwks
// keys[1].n: not base64url". Not thread-safe: one control thread polls it.
class JwksFile {
 public:
  static Result<JwksFile> Open(std::string path);
  const std::shared_ptr<const JsonWebKeySet>& keys() const { return keys_; }
  // nullopt when the file looks unchanged and `force` is false; otherwise the newly read set
  // (now keys()) or why it could not be used (keys() stays the previous set).
  std::optional<Result<std::shared_ptr<const JsonWebKeySet>>> Poll(bool force);

 private:
  Result<std::shared_ptr<const JsonWebKeySet>> Read() const;
  std::string path_;
  FileStamp stamp_;
  std::shared_ptr<const JsonWebKeySet> keys_;
};

class JwsSigner {
 public:
  // A PEM private key (PKCS#8 "PRIVATE KEY", or the traditional RSA/EC forms): RSA of at least
  // 2048 bits signs RS256, EC P-256 signs ES256; anything else is refused.
  static Result<JwsSigner> FromPem(std::string_view pem);

  JwsAlg alg() const { return alg_; }
  // The JWS signature bytes of `signing_input`: PKCS#1 v1.5 for RS256, R||S (2 × 32 bytes,
  // RFC 7518 §3.4) for ES256 — not the DER that OpenSSL produces.
  Result<std::string> Sign(std::string_view signing_input) const;

 private:
  JwsAlg alg_ = JwsAlg::kRs256;
  std::shared_ptr<EVP_PKEY> pkey_;
};

}  // namespace kumo::cache
