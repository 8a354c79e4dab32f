#include "auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/durable_file.h"
#include "base/status.h"

namespace auth {
namespace {

using base::AsAbsl;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

absl::StatusOr<std::string> Base64Url(std::string_view in, std::string_view what) {
  std::string out;
  // JWS forbids padding; WebSafeBase64Unescape would accept it.
  if (in.find('=') != std::string_view::npos || !absl::WebSafeBase64Unescape(AsAbsl(in), &out)) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": not base64url"));
  }
  return out;
}

// Parses `json` as one whole JSON object; `parser` owns the result.
absl::StatusOr<simdjson::dom::object> ParseObject(simdjson::dom::parser& parser, std::string_view json,
                                                  std::string_view what) {
  simdjson::dom::element doc;
  if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": invalid JSON (", simdjson::error_message(e), ")"));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object)) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ": not an object"));
  return object;
}

// The string member `key`, absent -> "", wrong type -> error.
absl::StatusOr<std::string> OptionalString(simdjson::dom::object& o, const char* key, std::string_view what) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e)) return std::string();
  std::string_view s;
  if (e.get_string().get(s)) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), ".", key, ": not a string"));
  return std::string(s);
}

// A NumericDate member (seconds, integer or not); absent -> nullopt.
absl::StatusOr<std::optional<std::int64_t>> OptionalTime(simdjson::dom::object& o, const char* key) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e)) return std::optional<std::int64_t>();
  double seconds = 0;
  if (e.get_double().get(seconds) || seconds < 0 || seconds > 1e12) {
    return absl::InvalidArgumentError(absl::StrCat("payload.", key, ": not a NumericDate"));
  }
  return std::optional<std::int64_t>(static_cast<std::int64_t>(seconds));
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* pkey) { return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free); }

absl::StatusOr<KeyType> TypeOfPkey(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < 2048) return absl::InvalidArgumentError("RSA key shorter than 2048 bits");
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    size_t length = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) ||
        std::string_view(group) != "prime256v1") {
      return absl::InvalidArgumentError("EC key is not on P-256");
    }
    return KeyType::kEcP256;
  }
  return absl::InvalidArgumentError("key is neither RSA nor EC P-256");
}

absl::Status VerifyDigest(const VerificationKey& key, std::string_view signed_part, std::string_view signature) {
  std::string der;
  if (key.type == KeyType::kEcP256) {
    // JWS carries r||s (32 bytes each); OpenSSL verifies DER.
    if (signature.size() != 64) return Unauthenticated("ES256 signature is not 64 bytes");
    ECDSA_SIG* sig = ECDSA_SIG_new();
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* out = nullptr;
    int length = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (length <= 0) return Unauthenticated("ES256 signature unreadable");
    der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
           EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? absl::OkStatus() : Unauthenticated("bad signature");
}

absl::Status VerifySignature(const VerificationKey& key, std::string_view signed_part, std::string_view signature) {
  if (key.type != KeyType::kHmacSha256) return VerifyDigest(key, signed_part, signature);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.hmac_secret.data(), static_cast<int>(key.hmac_secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &mac_length);
  if (signature.size() != mac_length || CRYPTO_memcmp(mac, signature.data(), mac_length) != 0) {
    return Unauthenticated("bad signature");
  }
  return absl::OkStatus();
}

absl::Status CheckAudience(simdjson::dom::object& payload, const std::string& audience) {
  if (audience.empty()) return absl::OkStatus();
  simdjson::dom::element aud;
  if (payload.at_key("aud").get(aud)) return Unauthenticated("aud: missing");
  std::string_view one;
  if (!aud.get_string().get(one)) {
    return one == audience ? absl::OkStatus() : Unauthenticated("aud: not this service");
  }
  simdjson::dom::array many;
  if (aud.get_array().get(many)) return Unauthenticated("aud: neither a string nor an array");
  for (simdjson::dom::element e : many) {
    if (e.get_string().get(one)) return Unauthenticated("aud: array member not a string");
    if (one == audience) return absl::OkStatus();
  }
  return Unauthenticated("aud: not this service");
}

absl::StatusOr<JwtClaims> CheckClaims(simdjson::dom::object& payload, const JwtOptions& options,
                                      std::int64_t now_ms) {
  JwtClaims claims;
  auto sub = OptionalString(payload, "sub", "payload");
  auto iss = OptionalString(payload, "iss", "payload");
  auto exp = OptionalTime(payload, "exp");
  auto nbf = OptionalTime(payload, "nbf");
  for (const absl::Status& s : {sub.status(), iss.status(), exp.status(), nbf.status()}) {
    if (!s.ok()) return Unauthenticated(s.message());
  }
  std::int64_t skew_ms = std::min(std::max<std::int64_t>(options.clock_skew_ms, 0), kClockSkewMsMax);
  if (!exp->has_value()) return Unauthenticated("exp: missing");
  if (now_ms - skew_ms >= **exp * 1000) return Unauthenticated("expired");
  if (nbf->has_value() && now_ms + skew_ms < **nbf * 1000) return Unauthenticated("not yet valid (nbf)");
  if (!options.issuer.empty() && *iss != options.issuer) return Unauthenticated("iss: not the configured issuer");
  RETURN_IF_ERROR(CheckAudience(payload, options.audience));
  if (sub->empty()) return Unauthenticated("sub: missing");
  claims.subject = *std::move(sub);
  claims.issuer = *std::move(iss);
  claims.expires_at_s = **exp;
  return claims;
}

struct Header {
  std::string alg;
  std::string kid;
};

absl::StatusOr<Header> ParseHeader(std::string_view encoded) {
  auto json = Base64Url(encoded, "header");
  if (!json.ok()) return Unauthenticated(json.status().message());
  simdjson::dom::parser parser;
  auto object = ParseObject(parser, *json, "header");
  if (!object.ok()) return Unauthenticated(object.status().message());
  auto alg = OptionalString(*object, "alg", "header");
  auto kid = OptionalString(*object, "kid", "header");
  if (!alg.ok()) return Unauthenticated(alg.status().message());
  if (!kid.ok()) return Unauthenticated(kid.status().message());
  simdjson::dom::element crit;
  if (!object->at_key("crit").get(crit)) return Unauthenticated("header.crit: not supported");
  return Header{*std::move(alg), *std::move(kid)};
}

}  // namespace

std::string_view AlgorithmOf(KeyType type) {
  switch (type) {
    case KeyType::kHmacSha256: return "HS256";
    case KeyType::kRsa: return "RS256";
    case KeyType::kEcP256: return "ES256";
  }
  return "";
}

absl::StatusOr<VerificationKey> ParsePemPublicKey(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return absl::InvalidArgumentError("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  VerificationKey key;
  key.pkey = Own(pkey);
  ASSIGN_OR_RETURN(key.type, TypeOfPkey(pkey));
  return key;
}

absl::StatusOr<VerificationKey> LoadPemPublicKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, base::ReadWholeFile(path));
  auto key = ParsePemPublicKey(pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
  return key;
}

absl::StatusOr<VerificationKey> LoadHmacSecret(const std::string& path) {
  ASSIGN_OR_RETURN(std::string secret, base::ReadWholeFile(path));
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (secret.size() < 32) return absl::InvalidArgumentError(absl::StrCat(path, ": HMAC secret shorter than 32 bytes"));
  VerificationKey key;
  key.type = KeyType::kHmacSha256;
  key.hmac_secret = std::move(secret);
  return key;
}

namespace {

absl::StatusOr<std::string> JwkMember(simdjson::dom::object& jwk, const char* name, std::string_view where) {
  ASSIGN_OR_RETURN(std::string value, OptionalString(jwk, name, where));
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ".", name, ": missing"));
  return value;
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) return absl::InvalidArgumentError("key parameters rejected by OpenSSL");
  return Own(pkey);
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> RsaFromJwk(simdjson::dom::object& jwk, std::string_view where) {
  ASSIGN_OR_RETURN(std::string n64, JwkMember(jwk, "n", where));
  ASSIGN_OR_RETURN(std::string e64, JwkMember(jwk, "e", where));
  ASSIGN_OR_RETURN(std::string n, Base64Url(n64, absl::StrCat(AsAbsl(where), ".n")));
  ASSIGN_OR_RETURN(std::string e, Base64Url(e64, absl::StrCat(AsAbsl(where), ".e")));
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  auto pkey = FromParams("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return pkey;
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> EcFromJwk(simdjson::dom::object& jwk, std::string_view where) {
  ASSIGN_OR_RETURN(std::string crv, JwkMember(jwk, "crv", where));
  if (crv != "P-256") return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ".crv: only P-256"));
  ASSIGN_OR_RETURN(std::string x64, JwkMember(jwk, "x", where));
  ASSIGN_OR_RETURN(std::string y64, JwkMember(jwk, "y", where));
  ASSIGN_OR_RETURN(std::string x, Base64Url(x64, absl::StrCat(AsAbsl(where), ".x")));
  ASSIGN_OR_RETURN(std::string y, Base64Url(y64, absl::StrCat(AsAbsl(where), ".y")));
  if (x.size() != 32 || y.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ": x and y must be 32 bytes"));
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  auto pkey = FromParams("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

absl::StatusOr<VerificationKey> KeyFromJwk(simdjson::dom::object& jwk, std::string_view where) {
  ASSIGN_OR_RETURN(std::string kty, JwkMember(jwk, "kty", where));
  ASSIGN_OR_RETURN(std::string use, OptionalString(jwk, "use", where));
  ASSIGN_OR_RETURN(std::string alg, OptionalString(jwk, "alg", where));
  VerificationKey key;
  ASSIGN_OR_RETURN(key.key_id, OptionalString(jwk, "kid", where));
  if (!use.empty() && use != "sig") return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ".use: not sig"));
  if (kty == "RSA") {
    ASSIGN_OR_RETURN(key.pkey, RsaFromJwk(jwk, where));
  } else if (kty == "EC") {
    ASSIGN_OR_RETURN(key.pkey, EcFromJwk(jwk, where));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ".kty: only RSA and EC"));
  }
  auto type = TypeOfPkey(key.pkey.get());
  if (!type.ok()) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ": ", type.status().message()));
  key.type = *type;
  if (!alg.empty() && alg != AlgorithmOf(key.type)) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(where), ".alg: ", alg, " does not fit kty ", kty));
  }
  return key;
}

}  // namespace

absl::StatusOr<std::vector<VerificationKey>> ParseJwks(std::string_view json) {
  simdjson::dom::parser parser;
  ASSIGN_OR_RETURN(simdjson::dom::object root, ParseObject(parser, json, "jwks"));
  simdjson::dom::array keys;
  if (root.at_key("keys").get_array().get(keys)) return absl::InvalidArgumentError("jwks.keys: missing or not an array");
  std::vector<VerificationKey> out;
  std::size_t i = 0;
  for (simdjson::dom::element e : keys) {
    std::string where = absl::StrCat("jwks.keys[", i++, "]");
    simdjson::dom::object jwk;
    if (e.get_object().get(jwk)) return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
    ASSIGN_OR_RETURN(VerificationKey key, KeyFromJwk(jwk, where));
    out.push_back(std::move(key));
  }
  if (out.empty()) return absl::InvalidArgumentError("jwks.keys: empty");
  return out;
}

absl::StatusOr<std::vector<VerificationKey>> LoadJwks(const std::string& path) {
  ASSIGN_OR_RETURN(std::string json, base::ReadWholeFile(path));
  auto keys = ParseJwks(json);
  if (!keys.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", keys.status().message()));
  return keys;
}

absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token, const std::vector<VerificationKey>& keys,
                                    const JwtOptions& options, std::int64_t now_ms) {
  if (token.size() > options.token_bytes_max) return Unauthenticated("longer than the limit");
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("not three dot-separated parts");
  }
  ASSIGN_OR_RETURN(Header header, ParseHeader(token.substr(0, dot1)));
  if (header.alg != "HS256" && header.alg != "RS256" && header.alg != "ES256") {
    return Unauthenticated(absl::StrCat("alg ", header.alg.empty() ? "missing" : header.alg, " not accepted"));
  }
  auto signature = Base64Url(token.substr(dot2 + 1), "signature");
  if (!signature.ok()) return Unauthenticated(signature.status().message());
  std::string_view signed_part = token.substr(0, dot2);
  // Only keys whose type is the header's alg take part: no key of another type
  // is ever used with it, which is what defeats algorithm confusion.
  bool tried = false;
  absl::Status verified = Unauthenticated(absl::StrCat("no configured key for alg ", header.alg));
  for (const VerificationKey& key : keys) {
    if (AlgorithmOf(key.type) != header.alg) continue;
    if (!header.kid.empty() && !key.key_id.empty() && header.kid != key.key_id) continue;
    tried = true;
    verified = VerifySignature(key, signed_part, *signature);
    if (verified.ok()) break;
  }
  if (!tried && !header.kid.empty()) verified = Unauthenticated(absl::StrCat("no key with kid ", header.kid));
  RETURN_IF_ERROR(verified);
  auto payload_json = Base64Url(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!payload_json.ok()) return Unauthenticated(payload_json.status().message());
  simdjson::dom::parser parser;
  auto payload = ParseObject(parser, *payload_json, "payload");
  if (!payload.ok()) return Unauthenticated(payload.status().message());
  return CheckClaims(*payload, options, now_ms);
}

}  // namespace auth
