// libFuzzer target: the token parser (auth/jwt.h).
//
// Input: one selector byte, then bytes.
//   selector % 3 == 0: the bytes are a compact token, verified against an
//     HMAC key and an EC P-256 key (random bytes never carry a valid
//     signature, so this covers the framing, base64url and JOSE header).
//   selector % 3 == 1: the bytes are "header-json\npayload-json"; the target
//     encodes and signs them with the HMAC key, so verification reaches the
//     claim checks (exp, nbf, iss, aud, sub) with the JSON the fuzzer wrote.
//   selector % 3 == 2: the bytes are a JWKS document (ParseJwks).
// Properties: no crash or sanitizer report; every refusal is UNAUTHENTICATED
// (tokens) or INVALID_ARGUMENT (JWKS) with a message; an accepted token has a
// subject, the configured issuer, and has not expired (within the skew).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "auth/jwt.h"
#include "fuzz/fuzz_check.h"

namespace {

constexpr std::int64_t kNowMs = 1'800'000'000'000;
constexpr char kSecret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
constexpr char kEcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEmIATicwpLVZiEU3vIG9U2dyotXAS\n"
    "s+uteBm/6m3AHZ53P+ENTLjL9EGBC1UuiVm8dm5Hz8UP0eVNwGJYc949xA==\n"
    "-----END PUBLIC KEY-----\n";

std::vector<auth::VerificationKey> Keys() {
  std::vector<auth::VerificationKey> keys(1);
  keys[0].type = auth::KeyType::kHmacSha256;
  keys[0].hmac_secret = kSecret;
  absl::StatusOr<auth::VerificationKey> ec = auth::ParsePemPublicKey(kEcPublicPem);
  FUZZ_CHECK(ec.ok(), "the EC test key parses");
  keys.push_back(*ec);
  return keys;
}

std::string B64(std::string_view s) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(s.data(), s.size()), &out);
  return out;
}

std::string SignedToken(std::string_view input) {
  size_t newline = input.find('\n');
  std::string_view header = input.substr(0, newline);
  std::string_view payload = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  std::string signing_input = B64(header) + "." + B64(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(sizeof kSecret - 1),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_bytes);
  return signing_input + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), mac_bytes));
}

void Verify(std::string_view token) {
  static const std::vector<auth::VerificationKey> keys = Keys();
  auth::JwtOptions options{.issuer = "fuzz-issuer", .audience = "inventory"};
  absl::StatusOr<auth::JwtClaims> claims = auth::VerifyJwt(token, keys, options, kNowMs);
  if (!claims.ok()) {
    FUZZ_CHECK(claims.status().code() == absl::StatusCode::kUnauthenticated, "a bad token is UNAUTHENTICATED");
    FUZZ_CHECK(!claims.status().message().empty(), "the refusal names its problem");
    return;
  }
  FUZZ_CHECK(!claims->subject.empty(), "an accepted token has a subject");
  FUZZ_CHECK(claims->issuer == options.issuer, "an accepted token has the configured issuer");
  FUZZ_CHECK(claims->expires_at_s * 1000 + options.clock_skew_ms >= kNowMs, "an accepted token has not expired");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      Verify(rest);
      break;
    case 1:
      Verify(SignedToken(rest));
      break;
    default: {
      absl::StatusOr<std::vector<auth::VerificationKey>> keys = auth::ParseJwks(rest);
      if (!keys.ok()) FUZZ_CHECK(!keys.status().message().empty(), "a bad JWKS names its problem");
      break;
    }
  }
  return 0;
}
