// JSON Web Token verification (RFC 7519) for HS256, RS256 and ES256, on OpenSSL.
//
// The JOSE header is parsed here, not by a library that picks the algorithm
// from it: the header's `alg` must be one of the three and must match the type
// of a configured key, so `alg: none` and algorithm confusion (an HS256 token
// "signed" with an RSA public key's bytes) are refused before any signature
// check. Header and payload must each be one whole, valid JSON object.
//
// Claims checked: signature; `exp` (required) and `nbf` (optional) with a
// bounded clock skew; `iss` equal to the configured issuer and `aud` (a string
// or an array of strings) containing the configured audience, when those are
// configured; `sub` (required) is the principal.
//
// Every refusal is UNAUTHENTICATED with a message naming the problem.
//
// Thread-safety: VerificationKey is immutable after loading; VerifyJwt is a
// pure function of its arguments and may be called from any thread.
#ifndef AUTH_JWT_H_
#define AUTH_JWT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace auth {

enum class KeyType { kHmacSha256, kRsa, kEcP256 };

// The JOSE `alg` a key type verifies: "HS256", "RS256", "ES256".
std::string_view AlgorithmOf(KeyType type);

struct VerificationKey {
  KeyType type = KeyType::kHmacSha256;
  std::string key_id;              // JWKS `kid`; empty for keys from PEM / secret files
  std::string hmac_secret;         // kHmacSha256 only
  std::shared_ptr<EVP_PKEY> pkey;  // kRsa and kEcP256 only
};

// A PEM public key (`-----BEGIN PUBLIC KEY-----`): RSA (RS256) or EC P-256 (ES256).
absl::StatusOr<VerificationKey> LoadPemPublicKey(const std::string& path);
absl::StatusOr<VerificationKey> ParsePemPublicKey(std::string_view pem);
// An HMAC secret file: its bytes (one trailing newline stripped), at least 32.
absl::StatusOr<VerificationKey> LoadHmacSecret(const std::string& path);
// A JWKS document {"keys": [...]}: RSA keys (kty RSA, n, e) and EC P-256 keys
// (kty EC, crv P-256, x, y). Keys whose `use` is not "sig" or whose `alg`
// disagrees with their type are refused, not skipped.
absl::StatusOr<std::vector<VerificationKey>> ParseJwks(std::string_view json);
absl::StatusOr<std::vector<VerificationKey>> LoadJwks(const std::string& path);

struct JwtOptions {
  // Required `iss`; empty accepts any.
  std::string issuer;
  // Required member of `aud`; empty accepts any.
  std::string audience;
  // Tolerance on exp/nbf, milliseconds. Default 60 s; at most kClockSkewMsMax.
  std::int64_t clock_skew_ms = 60'000;
  // Longest token accepted, bytes. Default 8 KiB.
  std::size_t token_bytes_max = 8192;
};
inline constexpr std::int64_t kClockSkewMsMax = 300'000;

struct JwtClaims {
  std::string subject;
  std::string issuer;
  std::int64_t expires_at_s = 0;
};

// Verifies `token` (compact serialisation) against `keys` at `now_ms`.
absl::StatusOr<JwtClaims> VerifyJwt(std::string_view token, const std::vector<VerificationKey>& keys,
                                    const JwtOptions& options, std::int64_t now_ms);

}  // namespace auth

#endif  // AUTH_JWT_H_
