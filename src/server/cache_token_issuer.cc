#include "server/cache_token_issuer.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/durable_file.h"
#include "base/sha256.h"
#include "server/util.h"

namespace kumo::server {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// A coordinate of the EC public key, big-endian, padded to 32 bytes (RFC 7518 §6.2.1.2).
std::string Coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return {};
  std::string out(32, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_free(bn);
  return out;
}

// The private key PEM at `path`, made on first use.
Result<std::string> LoadOrCreateKey(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  if (!key) return Error(Status::Internal("cannot generate the cache signing key"));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  if (Status s = WriteFileDurably(path, pem, 0600); !s.ok()) return Error(s);
  return pem;
}

}  // namespace

Result<std::unique_ptr<CacheTokenIssuer>> CacheTokenIssuer::Open(const std::string& data_dir) {
  std::string key_path = data_dir + "/cache-signing-key.pem";
  Result<std::string> pem = LoadOrCreateKey(key_path);
  if (!pem) return Error(pem.error());
  Result<cache::JwsSigner> signer = cache::JwsSigner::FromPem(*pem);
  if (!signer) return Error(Status::InvalidArgument(key_path + ": " + signer.error().message()));
  if (signer->alg() != cache::JwsAlg::kEs256)
    return Error(Status::InvalidArgument(key_path + ": expected an EC P-256 key"));
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr), EVP_PKEY_free);
  BIO_free(bio);
  if (!key) return Error(Status::InvalidArgument(key_path + ": not a PEM private key"));
  std::string x = Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  std::string y = Coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  // The kid names the key, so a rotated key never verifies under the old one's kid.
  std::string kid = "kumo-" + Sha256Hex(x + y).substr(0, 16);
  nlohmann::json jwk = {{"kty", "EC"},          {"crv", "P-256"}, {"x", cache::Base64UrlEncode(x)},
                        {"y", cache::Base64UrlEncode(y)}, {"kid", kid},     {"alg", "ES256"},
                        {"use", "sig"}};
  std::string jwks = nlohmann::json{{"keys", {jwk}}}.dump(2) + "\n";
  std::string jwks_path = data_dir + "/cache-jwks.json";
  if (Status s = WriteFileDurably(jwks_path, jwks, 0644); !s.ok()) return Error(s);
  return std::unique_ptr<CacheTokenIssuer>(
      new CacheTokenIssuer(std::move(*signer), kid, jwks, jwks_path));
}

Result<std::string> CacheTokenIssuer::Mint(const std::string& principal,
                                           const cache::TokenScope& scope, int64_t now_s,
                                           int64_t ttl_s) const {
  return cache::MakeSignedToken(signer_, kid_,
                                std::string("system:serviceaccount:") + kCacheTokenNamespace +
                                    ":" + principal,
                                "kumo", "kumo-cache", now_s + ttl_s, 0, &scope);
}

}  // namespace kumo::server
