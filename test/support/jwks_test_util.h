// Test keys for the RS256/ES256 tests, generated at test time (no key material in the
// repository), and their public JWKs written straight from OpenSSL's key parameters, so the
// JWKS parser is not checked against an encoder of its own.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cache/auth/auth.h"

namespace kumo::cache::jwks_test {

struct TestKey {
  std::string private_pem;
  std::string public_pem;  // SubjectPublicKeyInfo: what an alg-confusion attacker HMACs with
  nlohmann::json public_jwk;
};

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

// Pads to `width` bytes when width > 0 (EC coordinates), minimal big-endian otherwise (RSA).
inline std::string BnParam(EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  std::string out(static_cast<size_t>(width > 0 ? width : BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

inline TestKey Describe(EVP_PKEY* key, const std::string& kid) {
  TestKey t;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  t.private_pem = BioText(priv);
  BIO_free(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  t.public_pem = BioText(pub);
  BIO_free(pub);
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    t.public_jwk = {{"kty", "RSA"},
                    {"n", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_RSA_N))},
                    {"e", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_RSA_E))}};
  } else {
    t.public_jwk = {{"kty", "EC"},
                    {"crv", "P-256"},
                    {"x", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                    {"y", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
  if (!kid.empty()) t.public_jwk["kid"] = kid;
  EVP_PKEY_free(key);
  return t;
}

inline TestKey MakeRsaKey(const std::string& kid, size_t bits = 2048) {
  return Describe(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits), kid);
}

inline TestKey MakeP256Key(const std::string& kid) {
  return Describe(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), kid);
}

inline std::string JwksText(const std::vector<nlohmann::json>& keys) {
  return nlohmann::json{{"keys", keys}}.dump(2);
}

}  // namespace kumo::cache::jwks_test
