#include "cache/auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace kumo::cache {
namespace {

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::optional<int64_t> IntClaim(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return static_cast<int64_t>(it->get<double>());
}

bool Grants(const std::set<std::string>& buckets, std::string_view bucket) {
  return buckets.count("*") > 0 || buckets.count(std::string(bucket)) > 0;
}

// The registered claims every token carries (RFC 7519 §4.1), and kumo_scope when given, as the
// JWS payload.
std::string ClaimsPayload(const std::string& sub, const std::string& issuer,
                          const std::string& audience, int64_t exp_s, int64_t nbf_s,
                          const TokenScope* scope = nullptr) {
  nlohmann::json payload = {{"sub", sub}, {"iss", issuer}, {"aud", audience}, {"exp", exp_s}};
  if (nbf_s != 0) payload["nbf"] = nbf_s;
  if (scope != nullptr) {
    payload["kumo_scope"] = {{"read", scope->read}, {"write", scope->write}};
    if (scope->sha256_keys) payload["kumo_scope"]["sha256_keys"] = true;
  }
  return Base64UrlEncode(payload.dump());
}

// kumo_scope; nullopt when it is not {"read": [str...], "write": [...], "sha256_keys": bool}
// (each part optional).
std::optional<TokenScope> ParseScope(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  TokenScope scope;
  for (auto& [name, list] : j.items()) {
    if (name == "sha256_keys") {
      if (!list.is_boolean()) return std::nullopt;
      scope.sha256_keys = list.get<bool>();
      continue;
    }
    if (name != "read" && name != "write") return std::nullopt;
    if (!list.is_array()) return std::nullopt;
    for (const auto& e : list) {
      if (!e.is_string() || e.get_ref<const std::string&>().empty()) return std::nullopt;
      (name == "read" ? scope.read : scope.write).push_back(e.get<std::string>());
    }
  }
  return scope;
}

// Whether some prefix in `prefixes` starts "bucket/key" (compared piecewise: nothing is built
// on the request path).
bool ScopeAllows(const std::vector<std::string>& prefixes, std::string_view bucket,
                 std::string_view key) {
  for (std::string_view p : prefixes) {
    if (p.size() <= bucket.size()) {
      if (bucket.starts_with(p)) return true;
      continue;
    }
    if (p.starts_with(bucket) && p[bucket.size()] == '/' &&
        key.starts_with(p.substr(bucket.size() + 1)))
      return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view s) {
  if (s.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::string MakeHs256Token(const std::string& secret, const std::string& sub,
                           const std::string& issuer, const std::string& audience, int64_t exp_s,
                           int64_t nbf_s, const TokenScope* scope) {
  std::string signing_input = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                              ClaimsPayload(sub, issuer, audience, exp_s, nbf_s, scope);
  return signing_input + "." + Base64UrlEncode(HmacSha256(secret, signing_input));
}

Result<std::string> MakeSignedToken(const JwsSigner& signer, const std::string& kid,
                                    const std::string& sub, const std::string& issuer,
                                    const std::string& audience, int64_t exp_s, int64_t nbf_s,
                                    const TokenScope* scope) {
  nlohmann::json header = {{"alg", JwsAlgName(signer.alg())}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  std::string signing_input = Base64UrlEncode(header.dump()) + "." +
                              ClaimsPayload(sub, issuer, audience, exp_s, nbf_s, scope);
  Result<std::string> sig = signer.Sign(signing_input);
  if (!sig) return Error(sig.error());
  return signing_input + "." + Base64UrlEncode(*sig);
}

Result<Authenticator> Authenticator::Load(AuthOptions options, const std::string& acl_yaml_text) {
  if (options.secret.empty() && !options.jwks)
    return Error(Status::InvalidArgument("auth needs an HS256 secret, a JWKS or both"));
  if (!options.secret.empty() && options.secret.size() < 32)
    return Error(
        Status::InvalidArgument("the HS256 secret must be at least 32 bytes (RFC 7518 §3.2)"));
  Authenticator a;
  a.keys_ = std::make_shared<KeyState>();
  a.keys_->jwks.store(std::move(options.jwks));
  a.options_ = std::move(options);
  // yaml-cpp reports errors by exception; this runs once at start-up, not per request.
  try {
    YAML::Node root = YAML::Load(acl_yaml_text);
    YAML::Node ns = root["namespaces"];
    if (!ns || !ns.IsMap()) return Error(Status::InvalidArgument("ACL: want a 'namespaces' map"));
    for (const auto& kv : ns) {
      BucketGrants g;
      for (const char* field : {"read", "write"}) {
        YAML::Node list = kv.second[field];
        if (!list) continue;
        if (!list.IsSequence())
          return Error(Status::InvalidArgument("ACL: " + kv.first.as<std::string>() + "." + field +
                                               " must be a list of buckets"));
        for (const auto& b : list)
          (std::string_view(field) == "read" ? g.read : g.write).insert(b.as<std::string>());
      }
      a.acl_[kv.first.as<std::string>()] = std::move(g);
    }
  } catch (const YAML::Exception& e) {
    return Error(Status::InvalidArgument(std::string("ACL: ") + e.what()));
  }
  return a;
}

void Authenticator::ReplaceJwks(std::shared_ptr<const JsonWebKeySet> jwks) {
  keys_->jwks.store(std::move(jwks));
  // After the store: a worker that sees the new generation also sees the new set.
  keys_->generation.fetch_add(1, std::memory_order_release);
}

Result<Claims> Authenticator::Verify(std::string_view token) const {
  auto bad = [](const char* why) { return Error(Status::InvalidArgument(why)); };
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return bad("not a JWS compact token");
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return bad("not a JWS compact token");
  std::optional<std::string> header = Base64UrlDecode(token.substr(0, d1));
  std::optional<std::string> payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  std::optional<std::string> sig = Base64UrlDecode(token.substr(d2 + 1));
  if (!header || !payload || !sig) return bad("bad base64url");
  nlohmann::json h = nlohmann::json::parse(*header, nullptr, false);
  if (h.is_discarded() || !h.is_object()) return bad("bad JOSE header");
  auto alg = h.find("alg");
  if (alg == h.end() || !alg->is_string()) return bad("alg is required");
  if (h.contains("crit")) return bad("crit names extensions this verifier does not implement");
  std::optional<std::string> kid;
  if (auto k = h.find("kid"); k != h.end()) {
    if (!k->is_string()) return bad("kid must be a string");
    kid = k->get<std::string>();
  }
  // The configuration, not the token, decides which algorithms exist (RFC 8725 §3.1): HS256
  // needs the secret and uses nothing else as the HMAC key; RS256/ES256 only reach keys of
  // their own type inside the JWKS.
  const std::string& alg_name = alg->get_ref<const std::string&>();
  std::string_view signing_input = token.substr(0, d2);
  uint64_t generation = keys_->generation.load(std::memory_order_acquire);
  if (alg_name == "HS256") {
    if (options_.secret.empty()) return bad("HS256 is not configured");
    std::string expected = HmacSha256(options_.secret, signing_input);
    if (sig->size() != expected.size() ||
        CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
      return bad("bad signature");
  } else if (alg_name == "RS256" || alg_name == "ES256") {
    std::shared_ptr<const JsonWebKeySet> jwks = keys_->jwks.load();
    if (!jwks) return bad("RS256/ES256 are not configured (no --jwks)");
    if (!jwks->Verify(alg_name == "RS256" ? JwsAlg::kRs256 : JwsAlg::kEs256, kid, signing_input,
                      *sig))
      return bad("bad signature or no such key");
  } else {
    return bad("alg must be HS256, RS256 or ES256");
  }
  nlohmann::json p = nlohmann::json::parse(*payload, nullptr, false);
  if (p.is_discarded() || !p.is_object()) return bad("bad claims");
  auto iss = p.find("iss");
  if (iss == p.end() || !iss->is_string() || iss->get<std::string>() != options_.issuer)
    return bad("wrong issuer");
  auto aud = p.find("aud");
  bool aud_ok = false;
  if (aud != p.end() && aud->is_string()) aud_ok = aud->get<std::string>() == options_.audience;
  if (aud != p.end() && aud->is_array())
    for (const auto& x : *aud) aud_ok |= x.is_string() && x.get<std::string>() == options_.audience;
  if (!aud_ok) return bad("wrong audience");
  Claims c;
  c.jwks_generation = generation;
  std::optional<int64_t> exp = IntClaim(p, "exp");
  if (!exp) return bad("exp is required");
  c.exp_s = *exp;
  c.nbf_s = IntClaim(p, "nbf").value_or(0);
  auto sub = p.find("sub");
  constexpr std::string_view kPrefix = "system:serviceaccount:";
  if (sub == p.end() || !sub->is_string()) return bad("sub is required");
  std::string s = sub->get<std::string>();
  if (!s.starts_with(kPrefix)) return bad("sub is not a service account");
  size_t colon = s.find(':', kPrefix.size());
  if (colon == std::string::npos || colon == kPrefix.size() || colon + 1 == s.size())
    return bad("sub is not system:serviceaccount:NS:SA");
  c.ns = s.substr(kPrefix.size(), colon - kPrefix.size());
  if (auto scope = p.find("kumo_scope"); scope != p.end()) {
    c.scope = ParseScope(*scope);
    if (!c.scope)
      return bad("kumo_scope is not {\"read\": [prefix...], \"write\": [...], "
                 "\"sha256_keys\": bool}");
  }
  return c;
}

AuthResult Authenticator::Check(std::string_view authorization, std::string_view bucket,
                                std::string_view key, Access access, int64_t now_s,
                                TokenCache* cache, bool* sha256_key) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || !authorization.starts_with(kBearer))
    return AuthResult::kUnauthenticated;
  std::string_view token = authorization.substr(kBearer.size());
  const Claims* claims = nullptr;
  auto hit = cache->find(std::string(token));
  if (hit != cache->end() &&
      hit->second.jwks_generation != keys_->generation.load(std::memory_order_relaxed)) {
    cache->erase(hit);
    hit = cache->end();
  }
  if (hit != cache->end()) {
    claims = &hit->second;
  } else {
    Result<Claims> verified = Verify(token);
    if (!verified) return AuthResult::kUnauthenticated;
    if (cache->size() >= 4096) cache->clear();
    claims = &cache->emplace(std::string(token), std::move(*verified)).first->second;
  }
  if (now_s >= claims->exp_s + options_.leeway_s) return AuthResult::kUnauthenticated;
  if (claims->nbf_s != 0 && now_s + options_.leeway_s < claims->nbf_s)
    return AuthResult::kUnauthenticated;
  auto grants = acl_.find(claims->ns);
  if (grants == acl_.end()) return AuthResult::kForbidden;
  const std::set<std::string>& allowed =
      access == Access::kRead ? grants->second.read : grants->second.write;
  if (!Grants(allowed, bucket)) return AuthResult::kForbidden;
  if (claims->scope &&
      !ScopeAllows(access == Access::kRead ? claims->scope->read : claims->scope->write, bucket,
                   key))
    return AuthResult::kForbidden;
  if (sha256_key != nullptr)
    *sha256_key = access == Access::kWrite && claims->scope && claims->scope->sha256_keys;
  return AuthResult::kAllowed;
}

}  // namespace kumo::cache
