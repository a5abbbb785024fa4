#include "cache/auth/jwks.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cache/auth/auth.h"

namespace kumo::cache {
namespace {

// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." The
// upper bound is OpenSSL's own (OPENSSL_RSA_MAX_MODULUS_BITS); it also caps the cost of a verify.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr size_t kMaxRsaExponentBytes = 8;
constexpr size_t kP256CoordinateBytes = 32;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Builds a public key from OpenSSL 3 provider parameters (EVP_PKEY_fromdata; the RSA_* / EC_KEY
// setters are deprecated in 3.0) and runs the provider's public-key check, which for EC rejects
// a point that is not on the curve.
std::shared_ptr<EVP_PKEY> PublicKeyFromParams(const char* type, const OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) <=
          0) {
    ERR_clear_error();
    return nullptr;
  }
  std::shared_ptr<EVP_PKEY> pkey = Share(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return pkey;
}

// R||S → the DER ECDSA-Sig-Value OpenSSL verifies; empty when malformed.
std::string RawEcdsaToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256CoordinateBytes) return {};
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(raw), kP256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kP256CoordinateBytes, kP256CoordinateBytes, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

// DER ECDSA-Sig-Value → R||S, each left-padded to 32 bytes.
std::optional<std::string> DerEcdsaToRaw(std::string_view der) {
  const unsigned char* p = Bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kP256CoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kP256CoordinateBytes) < 0 ||
      BN_bn2binpad(s, out + kP256CoordinateBytes, kP256CoordinateBytes) < 0)
    return std::nullopt;
  return raw;
}

bool VerifyWithKey(EVP_PKEY* pkey, JwsAlg alg, std::string_view signing_input,
                   std::string_view signature) {
  std::string der;
  if (alg == JwsAlg::kEs256) {
    der = RawEcdsaToDer(signature);
    if (der.empty()) return false;
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is (RFC 7518 §3.3).
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(signing_input),
                             signing_input.size()) == 1;
  // A forged token leaves an entry on this thread's OpenSSL error queue; do not let them pile up.
  if (!ok) ERR_clear_error();
  return ok;
}

class KeyParser {
 public:
  KeyParser(const nlohmann::json& jwk, size_t index)
      : jwk_(jwk), where_("jwks keys[" + std::to_string(index) + "]") {}

  Status Fail(const std::string& field, const std::string& why) const {
    return Status::InvalidArgument(where_ + (field.empty() ? "" : "." + field) + ": " + why);
  }

  // A string member; nullopt with *error unset when absent, *error set when not a string.
  std::optional<std::string> OptionalString(const char* field, std::optional<Status>* error) const {
    auto it = jwk_.find(field);
    if (it == jwk_.end()) return std::nullopt;
    if (!it->is_string()) {
      *error = Fail(field, "must be a string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  // A required base64url member (RFC 7518 §6: Base64urlUInt for n, e; fixed-size for x, y).
  Result<std::string> Base64UrlField(const char* field) const {
    auto it = jwk_.find(field);
    if (it == jwk_.end()) return Error(Fail(field, "missing"));
    if (!it->is_string()) return Error(Fail(field, "must be a string"));
    std::optional<std::string> bytes = Base64UrlDecode(it->get<std::string>());
    if (!bytes) return Error(Fail(field, "not base64url (RFC 7515 §2: no padding, '-' and '_')"));
    if (bytes->empty()) return Error(Fail(field, "empty"));
    return *bytes;
  }

  Result<std::shared_ptr<EVP_PKEY>> Rsa() const {
    Result<std::string> n = Base64UrlField("n");
    if (!n) return Error(n.error());
    Result<std::string> e = Base64UrlField("e");
    if (!e) return Error(e.error());
    BnPtr bn_n(BN_bin2bn(Bytes(*n), static_cast<int>(n->size()), nullptr));
    BnPtr bn_e(BN_bin2bn(Bytes(*e), static_cast<int>(e->size()), nullptr));
    if (!bn_n || !bn_e) return Error(Fail("", "out of memory"));
    int bits = BN_num_bits(bn_n.get());
    if (bits < kMinRsaBits || bits > kMaxRsaBits)
      return Error(Fail("n", "RSA modulus is " + std::to_string(bits) +
                                 " bits; RS256 needs 2048..16384 (RFC 7518 §3.3)"));
    if (e->size() > kMaxRsaExponentBytes || BN_is_odd(bn_e.get()) == 0 ||
        BN_is_one(bn_e.get()) == 1)
      return Error(Fail("e",
                        "not a usable RSA public exponent (want an odd number > 1, such as "
                        "AQAB = 65537)"));
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
      return Error(Fail("", "out of memory"));
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    std::shared_ptr<EVP_PKEY> pkey = params ? PublicKeyFromParams("RSA", params.get()) : nullptr;
    if (!pkey) return Error(Fail("", "OpenSSL refused the RSA public key (n, e)"));
    return pkey;
  }

  Result<std::shared_ptr<EVP_PKEY>> P256() const {
    std::string point = "\x04";  // SEC 1 §2.3.3 uncompressed point: 04 || X || Y
    for (const char* field : {"x", "y"}) {
      Result<std::string> c = Base64UrlField(field);
      if (!c) return Error(c.error());
      // RFC 7518 §6.2.1.2: "the full coordinate, even if ... leading zero octets".
      if (c->size() != kP256CoordinateBytes)
        return Error(Fail(field, "want 32 bytes for P-256, got " + std::to_string(c->size())));
      point += *c;
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
      return Error(Fail("", "out of memory"));
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    std::shared_ptr<EVP_PKEY> pkey = params ? PublicKeyFromParams("EC", params.get()) : nullptr;
    if (!pkey) return Error(Fail("", "(x, y) is not a point on P-256"));
    return pkey;
  }

 private:
  const nlohmann::json& jwk_;
  std::string where_;
};

}  // namespace

std::string_view JwsAlgName(JwsAlg alg) { return alg == JwsAlg::kRs256 ? "RS256" : "ES256"; }

Result<JsonWebKeySet> JsonWebKeySet::Parse(std::string_view json_text) {
  nlohmann::json root;
  // nlohmann reports where the text broke only through its exception; this runs at start-up and
  // on a reload of an operator's file, never per request.
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    return Error(Status::InvalidArgument(std::string("jwks: not JSON: ") + e.what()));
  }
  if (!root.is_object() || !root.contains("keys") || !root["keys"].is_array())
    return Error(Status::InvalidArgument(R"(jwks: want an object {"keys": [...]} (RFC 7517 §5))"));
  JsonWebKeySet set;
  const nlohmann::json& keys = root["keys"];
  for (size_t i = 0; i < keys.size(); ++i) {
    const nlohmann::json& jwk = keys[i];
    KeyParser p(jwk, i);
    std::string where = "keys[" + std::to_string(i) + "]";
    if (!jwk.is_object()) return Error(p.Fail("", "want a JSON object"));
    std::optional<Status> error;
    std::optional<std::string> kty = p.OptionalString("kty", &error);
    std::optional<std::string> kid = p.OptionalString("kid", &error);
    std::optional<std::string> alg = p.OptionalString("alg", &error);
    std::optional<std::string> use = p.OptionalString("use", &error);
    std::optional<std::string> crv = p.OptionalString("crv", &error);
    if (error) return Error(*error);
    if (!kty) return Error(p.Fail("kty", "missing"));
    // A verifier's key set holds public keys only; a "d" means a private key was published.
    for (const char* secret : {"d", "p", "q", "k"})
      if (jwk.contains(secret))
        return Error(p.Fail(secret,
                            "private key material does not belong in a verification "
                            "key set; publish the public key only"));
    if (use && *use != "sig") {
      set.skipped_.push_back(where + ": use \"" + *use + "\" is not \"sig\"");
      continue;
    }
    if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
      if (!ops->is_array()) return Error(p.Fail("key_ops", "must be an array of strings"));
      bool verify = false;
      for (const auto& op : *ops) verify |= op.is_string() && op.get<std::string>() == "verify";
      if (!verify) {
        set.skipped_.push_back(where + ": key_ops lacks \"verify\"");
        continue;
      }
    }
    Key key;
    key.kid = kid;
    if (*kty == "RSA") {
      key.alg = JwsAlg::kRs256;
    } else if (*kty == "EC" && crv == "P-256") {
      key.alg = JwsAlg::kEs256;
    } else if (*kty == "EC" && !crv) {
      return Error(p.Fail("crv", "missing"));
    } else {
      set.skipped_.push_back(where + ": kty " + *kty + (crv ? " crv " + *crv : "") +
                             " is not supported (RSA and EC P-256 are)");
      continue;
    }
    if (alg && *alg != JwsAlgName(key.alg)) {
      set.skipped_.push_back(where + ": alg " + *alg + " is not supported for kty " + *kty +
                             " (only " + std::string(JwsAlgName(key.alg)) + ")");
      continue;
    }
    Result<std::shared_ptr<EVP_PKEY>> pkey = key.alg == JwsAlg::kRs256 ? p.Rsa() : p.P256();
    if (!pkey) return Error(pkey.error());
    key.pkey = std::move(*pkey);
    if (kid)
      for (const Key& earlier : set.keys_)
        if (earlier.kid == kid)
          return Error(p.Fail("kid", "\"" + *kid +
                                         "\" names an earlier key too; kids must be "
                                         "distinct (RFC 7517 §4.5)"));
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty()) {
    std::string why = "jwks: no usable RS256/ES256 key";
    for (const std::string& s : set.skipped_) why += "; " + s;
    return Error(Status::InvalidArgument(why));
  }
  return set;
}

bool JsonWebKeySet::Verify(JwsAlg alg, const std::optional<std::string>& kid,
                           std::string_view signing_input, std::string_view signature) const {
  for (const Key& key : keys_) {
    if (key.alg != alg) continue;
    if (kid && key.kid != kid) continue;
    if (VerifyWithKey(key.pkey.get(), alg, signing_input, signature)) return true;
  }
  return false;
}

Result<std::shared_ptr<const JsonWebKeySet>> JwksFile::Read() const {
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Error(Status::NotFound("--jwks " + path_ + ": cannot read the file"));
  Result<JsonWebKeySet> set = JsonWebKeySet::Parse(text.str());
  if (!set) return Error(Status::InvalidArgument("--jwks " + path_ + ": " + set.error().message()));
  return std::make_shared<const JsonWebKeySet>(std::move(*set));
}

Result<JwksFile> JwksFile::Open(std::string path) {
  JwksFile f;
  f.path_ = std::move(path);
  f.stamp_ = StampOf(f.path_);
  Result<std::shared_ptr<const JsonWebKeySet>> keys = f.Read();
  if (!keys) return Error(keys.error());
  f.keys_ = std::move(*keys);
  return f;
}

std::optional<Result<std::shared_ptr<const JsonWebKeySet>>> JwksFile::Poll(bool force) {
  FileStamp now = StampOf(path_);
  if (!force && now == stamp_) return std::nullopt;
  // Take the stamp before reading: a write that lands during the read changes it again and
  // is picked up by the next poll.
  stamp_ = now;
  Result<std::shared_ptr<const JsonWebKeySet>> keys = Read();
  if (keys) keys_ = *keys;
  return keys;
}

Result<JwsSigner> JwsSigner::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    ERR_clear_error();
    return Error(Status::InvalidArgument("not a PEM private key (unencrypted RSA or EC P-256)"));
  }
  JwsSigner s;
  s.pkey_ = Share(raw);
  if (EVP_PKEY_is_a(raw, "RSA") == 1) {
    if (EVP_PKEY_get_bits(raw) < kMinRsaBits)
      return Error(Status::InvalidArgument("the RSA key has " +
                                           std::to_string(EVP_PKEY_get_bits(raw)) +
                                           " bits; RS256 needs at least 2048 (RFC 7518 §3.3)"));
    s.alg_ = JwsAlg::kRs256;
    return s;
  }
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_is_a(raw, "EC") == 1 &&
      EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) ==
          1 &&
      std::string_view(group, len) == "prime256v1") {
    s.alg_ = JwsAlg::kEs256;
    return s;
  }
  ERR_clear_error();
  return Error(Status::InvalidArgument("the private key is neither RSA nor EC P-256"));
}

Result<std::string> JwsSigner::Sign(std::string_view signing_input) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    return Error(Status(StatusCode::kInternal, "OpenSSL could not start signing"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     Bytes(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    return Error(Status(StatusCode::kInternal, "OpenSSL could not sign"));
  }
  sig.resize(len);
  if (alg_ == JwsAlg::kRs256) return sig;
  std::optional<std::string> raw = DerEcdsaToRaw(sig);
  if (!raw)
    return Error(Status(StatusCode::kInternal, "OpenSSL produced an unreadable ECDSA signature"));
  return *raw;
}

}  // namespace kumo::cache
