#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "auth/authenticator.h"
#include "gtest/gtest.h"

namespace auth {
namespace {

constexpr std::int64_t kNowMs = 1'800'000'000'000;
constexpr std::int64_t kNowS = kNowMs / 1000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

std::string B64(std::string_view s) { return absl::WebSafeBase64Escape(absl::string_view(s.data(), s.size())); }

std::shared_ptr<EVP_PKEY> Rsa() {
  static std::shared_ptr<EVP_PKEY> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  return key;
}
std::shared_ptr<EVP_PKEY> Ec() {
  static std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  return key;
}

std::string PublicPem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, pkey);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string DigestSign(EVP_PKEY* pkey, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string sig(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(length);
  return sig;
}

std::string Hmac(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &n);
  return std::string(reinterpret_cast<char*>(mac), n);
}

// DER ECDSA signature -> JWS r||s.
std::string RawEcSignature(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string Payload(std::string extra = "") {
  return absl::StrCat(R"({"sub":"alice","iss":"https://idp.test","aud":["other","inventory"],"exp":)", kNowS + 600,
                      extra, "}");
}

std::string Sign(std::string_view alg, const std::string& payload, const std::string& kid = "") {
  std::string header = kid.empty() ? absl::StrCat(R"({"alg":")", absl::string_view(alg.data(), alg.size()), R"(","typ":"JWT"})")
                                   : absl::StrCat(R"({"alg":")", absl::string_view(alg.data(), alg.size()), R"(","kid":")", kid, R"("})");
  std::string signed_part = B64(header) + "." + B64(payload);
  std::string sig;
  if (alg == "HS256") sig = Hmac(kSecret, signed_part);
  if (alg == "RS256") sig = DigestSign(Rsa().get(), signed_part);
  if (alg == "ES256") sig = RawEcSignature(DigestSign(Ec().get(), signed_part));
  return signed_part + "." + B64(sig);
}

JwtOptions Options() { return {.issuer = "https://idp.test", .audience = "inventory", .clock_skew_ms = 30'000}; }

std::vector<VerificationKey> AllKeys() {
  VerificationKey hmac{KeyType::kHmacSha256, "", kSecret, nullptr};
  return {hmac, *ParsePemPublicKey(PublicPem(Rsa().get())), *ParsePemPublicKey(PublicPem(Ec().get()))};
}

absl::Status Verify(const std::string& token, std::vector<VerificationKey> keys = AllKeys(),
                    std::int64_t now_ms = kNowMs) {
  return VerifyJwt(token, keys, Options(), now_ms).status();
}

void ExpectRefused(const absl::Status& s, std::string_view fragment) {
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(std::string(s.message()).find(fragment), std::string::npos) << s;
}

TEST(Jwt, AcceptsEachAlgorithm) {
  for (const char* alg : {"HS256", "RS256", "ES256"}) {
    auto claims = VerifyJwt(Sign(alg, Payload()), AllKeys(), Options(), kNowMs);
    ASSERT_TRUE(claims.ok()) << alg << ": " << claims.status();
    EXPECT_EQ(claims->subject, "alice");
  }
}

TEST(Jwt, ExpiredAndNotYetValidWithBoundedSkew) {
  std::string token = Sign("RS256", Payload());
  EXPECT_TRUE(Verify(token, AllKeys(), (kNowS + 600) * 1000 + 29'000).ok());  // within skew
  ExpectRefused(Verify(token, AllKeys(), (kNowS + 600) * 1000 + 30'000), "expired");
  std::string future = Sign("RS256", Payload(absl::StrCat(R"(,"nbf":)", kNowS + 60)));
  ExpectRefused(Verify(future), "not yet valid");
  EXPECT_TRUE(Verify(future, AllKeys(), kNowMs + 31'000).ok());
  ExpectRefused(Verify(Sign("RS256", R"({"sub":"alice","iss":"https://idp.test","aud":"inventory"})")), "exp: missing");
}

TEST(Jwt, WrongAudienceOrIssuer) {
  ExpectRefused(Verify(Sign("HS256", absl::StrCat(R"({"sub":"a","iss":"https://idp.test","aud":"billing","exp":)",
                                                  kNowS + 60, "}"))),
                "aud");
  ExpectRefused(Verify(Sign("HS256", absl::StrCat(R"({"sub":"a","iss":"https://evil","aud":"inventory","exp":)",
                                                  kNowS + 60, "}"))),
                "iss");
  EXPECT_TRUE(Verify(Sign("HS256", absl::StrCat(R"({"sub":"a","iss":"https://idp.test","aud":"inventory","exp":)",
                                                kNowS + 60, "}")))
                  .ok());
}

TEST(Jwt, TamperedPayloadOrSignature) {
  for (const char* alg : {"HS256", "RS256", "ES256"}) {
    std::string token = Sign(alg, Payload());
    std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
    std::string forged = token.substr(0, dot1 + 1) + B64(R"({"sub":"root","exp":9999999999})") + token.substr(dot2);
    ExpectRefused(Verify(forged), "signature");
    std::string flipped = token;
    flipped[dot2 + 5] = flipped[dot2 + 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(Verify(flipped).code(), absl::StatusCode::kUnauthenticated) << alg;
  }
}

TEST(Jwt, AlgNoneAndUnknownAlgorithmsRefused) {
  std::string none = B64(R"({"alg":"none"})") + "." + B64(Payload()) + ".";
  ExpectRefused(Verify(none), "alg none not accepted");
  ExpectRefused(Verify(B64(R"({"alg":"HS512"})") + "." + B64(Payload()) + ".xx"), "alg HS512");
  ExpectRefused(Verify(B64(R"({"typ":"JWT"})") + "." + B64(Payload()) + ".xx"), "alg missing");
}

TEST(Jwt, AlgorithmConfusionRefused) {
  // HS256 "signed" with the RSA public key's PEM as the HMAC secret: a
  // verifier that takes alg from the header and feeds it the RSA key accepts it.
  std::string pem = PublicPem(Rsa().get());
  std::string signed_part = B64(R"({"alg":"HS256"})") + "." + B64(Payload());
  std::string token = signed_part + "." + B64(Hmac(pem, signed_part));
  std::vector<VerificationKey> rsa_only = {*ParsePemPublicKey(pem)};
  ExpectRefused(Verify(token, rsa_only), "no configured key for alg HS256");
  // And an RS256 header never reaches the HMAC key.
  std::vector<VerificationKey> hmac_only = {{KeyType::kHmacSha256, "", kSecret, nullptr}};
  ExpectRefused(Verify(Sign("RS256", Payload()), hmac_only), "no configured key for alg RS256");
}

TEST(Jwt, MalformedTokensAndHeaders) {
  ExpectRefused(Verify("abc"), "three");
  ExpectRefused(Verify("a.b.c.d"), "three");
  ExpectRefused(Verify(B64(R"({"alg":"HS256"} trailing)") + "." + B64(Payload()) + ".x"), "header: invalid JSON");
  ExpectRefused(Verify(B64("[1]") + "." + B64(Payload()) + ".x"), "header: not an object");
  std::string signed_part = B64(R"({"alg":"HS256"})") + "." + B64(R"({"sub":"a",)");
  ExpectRefused(Verify(signed_part + "." + B64(Hmac(kSecret, signed_part))), "payload: invalid JSON");
}

std::string Jwk(EVP_PKEY* pkey, const std::string& kid) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
    std::string nb(static_cast<std::size_t>(BN_num_bytes(n)), '\0'), eb(static_cast<std::size_t>(BN_num_bytes(e)), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(nb.data()));
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(eb.data()));
    BN_free(n);
    BN_free(e);
    return absl::StrCat(R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")", kid, R"(","n":")", B64(nb),
                        R"(","e":")", B64(eb), R"("})");
  }
  unsigned char point[65];
  size_t length = 0;
  EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &length);
  std::string p(reinterpret_cast<char*>(point), length);
  return absl::StrCat(R"({"kty":"EC","crv":"P-256","kid":")", kid, R"(","x":")", B64(p.substr(1, 32)), R"(","y":")",
                      B64(p.substr(33, 32)), R"("})");
}

TEST(Jwks, RsaAndEcKeysVerifyByKid) {
  auto keys = ParseJwks(absl::StrCat(R"({"keys":[)", Jwk(Rsa().get(), "r1"), ",", Jwk(Ec().get(), "e1"), "]}"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_TRUE(Verify(Sign("RS256", Payload(), "r1"), *keys).ok());
  EXPECT_TRUE(Verify(Sign("ES256", Payload(), "e1"), *keys).ok());
  ExpectRefused(Verify(Sign("ES256", Payload(), "r1"), *keys), "no key with kid r1");
  ExpectRefused(Verify(Sign("HS256", Payload()), *keys), "no configured key for alg HS256");
}

TEST(Jwks, BadDocumentsNamed) {
  EXPECT_NE(ParseJwks(R"({"keys":[]})").status().message().find("empty"), absl::string_view::npos);
  EXPECT_NE(ParseJwks(R"({"keys":[{"kty":"oct","k":"AA"}]})").status().message().find("keys[0].kty"),
            absl::string_view::npos);
  EXPECT_NE(ParseJwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})").status().message().find("32 bytes"),
            absl::string_view::npos);
  std::string mislabelled = Jwk(Ec().get(), "e");
  mislabelled.insert(1, R"("alg":"RS256",)");
  EXPECT_NE(ParseJwks(absl::StrCat(R"({"keys":[)", mislabelled, "]}")).status().message().find("alg"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseJwks("{\"keys\":[").ok());
}

TEST(Policy, DefaultsAndGrants) {
  auto policy = Policy::Parse("grant alice admin,reader  # ops\ngrant shop orders\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  Identity alice{"alice", policy->RolesOf("alice")};
  Identity shop{"shop", policy->RolesOf("shop")};
  EXPECT_TRUE(policy->Authorize(alice, "/inventory.v1.CommandService/AdjustInventory").ok());
  EXPECT_TRUE(policy->Authorize(alice, "/inventory.v1.QueryService/StreamInventoryUpdates").ok());
  EXPECT_TRUE(policy->Authorize(shop, "/inventory.v1.CommandService/CheckAndReserveStock").ok());
  absl::Status denied = policy->Authorize(shop, "/inventory.v1.CommandService/AdjustInventory");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("\"shop\" may not call /inventory.v1.CommandService/AdjustInventory"),
            absl::string_view::npos);
  EXPECT_EQ(policy->Authorize({"nobody", {}}, "/inventory.v1.QueryService/GetItem").code(),
            absl::StatusCode::kPermissionDenied);
}

// An operator's expiry is admin's; extending a hold is checkout's (orders).
TEST(Policy, ExpireIsAdminsAndExtendIsOrders) {
  auto policy = Policy::Parse("grant alice admin\ngrant shop orders\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  Identity alice{"alice", policy->RolesOf("alice")};
  Identity shop{"shop", policy->RolesOf("shop")};
  EXPECT_TRUE(policy->Authorize(alice, "/inventory.v1.CommandService/ExpireReservation").ok());
  EXPECT_FALSE(policy->Authorize(shop, "/inventory.v1.CommandService/ExpireReservation").ok());
  EXPECT_TRUE(policy->Authorize(shop, "/inventory.v1.CommandService/ExtendReservation").ok());
  EXPECT_FALSE(policy->Authorize(alice, "/inventory.v1.CommandService/ExtendReservation").ok());
}

// Sales blocks are an operator's decision: admin holds them, orders does not.
TEST(Policy, SalesBlocksAreAdminOnly) {
  auto policy = Policy::Parse("grant alice admin\ngrant shop orders\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  Identity alice{"alice", policy->RolesOf("alice")};
  Identity shop{"shop", policy->RolesOf("shop")};
  for (const char* method : {"/inventory.v1.CommandService/BlockSales", "/inventory.v1.CommandService/UnblockSales"}) {
    EXPECT_TRUE(policy->Authorize(alice, method).ok()) << method;
    EXPECT_EQ(policy->Authorize(shop, method).code(), absl::StatusCode::kPermissionDenied) << method;
  }
}

TEST(Policy, RoleLinesReplaceDefaultsAndErrorsNameTheLine) {
  auto policy = Policy::Parse("grant bob reader\nrole reader /inventory.v1.QueryService/GetItem\n", "p");
  ASSERT_TRUE(policy.ok());
  Identity bob{"bob", policy->RolesOf("bob")};
  EXPECT_TRUE(policy->Authorize(bob, "/inventory.v1.QueryService/GetItem").ok());
  EXPECT_FALSE(policy->Authorize(bob, "/inventory.v1.QueryService/ListItems").ok());
  EXPECT_EQ(Policy::Parse("\n\ngrant bob wizard\n", "pol").status().message(), "pol:3: unknown role \"wizard\"");
  EXPECT_EQ(Policy::Parse("allow bob\n", "pol").status().message(), "pol:1: unknown statement \"allow\"");
  EXPECT_FALSE(Policy::Parse("role x GetItem\n", "pol").ok());
}

TEST(ApiKeys, OnlyHashesAccepted) {
  Policy policy;
  std::string hash = Sha256Hex("key-1");
  EXPECT_EQ(hash.size(), 64u);
  auto keys = ParseApiKeys(absl::StrCat("sha256:", hash, " shop orders\n"), "k", policy);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->count(hash), 1u);
  EXPECT_EQ(keys->at(hash).principal, "shop");
  EXPECT_EQ(keys->at(hash).roles, std::set<std::string>{"orders"});
  EXPECT_NE(ParseApiKeys("key-1 shop orders\n", "k", policy).status().message().find("k:1: key must be sha256:"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseApiKeys(absl::StrCat("sha256:", hash, " shop nosuchrole\n"), "k", policy).ok());
}

TEST(RateLimiter, ExhaustionAndRefillOnAManualClock) {
  base::ManualClock clock(kNowMs);
  RateLimiter limiter({.writes = {.per_second = 2, .burst = 3}, .reads = {.per_second = 0}}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("a", MethodKind::kWrite).allowed) << i;
  RateDecision refused = limiter.Acquire("a", MethodKind::kWrite);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 500);
  EXPECT_TRUE(limiter.Acquire("b", MethodKind::kWrite).allowed);     // per principal
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Acquire("a", MethodKind::kRead).allowed);  // reads apart
  clock.Advance(499);
  EXPECT_FALSE(limiter.Acquire("a", MethodKind::kWrite).allowed);
  clock.Advance(1);
  EXPECT_TRUE(limiter.Acquire("a", MethodKind::kWrite).allowed);
  EXPECT_FALSE(limiter.Acquire("a", MethodKind::kWrite).allowed);
}

TEST(RateLimiter, PrincipalTableIsBounded) {
  base::ManualClock clock(kNowMs);
  RateLimiter limiter({.writes = {.per_second = 1, .burst = 1}, .principals_max = 2}, &clock);
  EXPECT_TRUE(limiter.Acquire("a", MethodKind::kWrite).allowed);
  EXPECT_TRUE(limiter.Acquire("b", MethodKind::kWrite).allowed);
  EXPECT_FALSE(limiter.Acquire("c", MethodKind::kWrite).allowed);  // table full of busy buckets
  clock.Advance(1000);                                              // a and b idle again: dropped
  EXPECT_TRUE(limiter.Acquire("c", MethodKind::kWrite).allowed);
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("auth_test_", ::testing::UnitTest::GetInstance()->current_test_info()->name(), getpid());
    std::filesystem::create_directories(dir_);
    Write("secret", kSecret + "\n");
    Write("rsa.pem", PublicPem(Rsa().get()));
    Write("policy", "grant alice admin\ngrant carol reader\n");
    Write("keys", absl::StrCat("sha256:", Sha256Hex("shop-key"), " shop orders\n"));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  AuthOptions Opts() {
    return {.jwt_public_key_files = {Path("rsa.pem")}, .jwt_hmac_secret_file = Path("secret"),
            .api_keys_file = Path("keys"), .policy_file = Path("policy"), .jwt = Options(),
            .rate = {.writes = {.per_second = 1, .burst = 2}}};
  }
  std::filesystem::path dir_;
  base::ManualClock clock_{kNowMs};
};

constexpr std::string_view kAdjust = "/inventory.v1.CommandService/AdjustInventory";
constexpr std::string_view kReserve = "/inventory.v1.CommandService/CheckAndReserveStock";

TEST_F(AuthenticatorTest, EveryRefusal) {
  auto a = Authenticator::Create(Opts(), &clock_);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->Decide({}, kAdjust).status.code(), absl::StatusCode::kUnauthenticated);
  Decision ok = (*a)->Decide({.bearer_token = Sign("RS256", Payload())}, kAdjust);
  EXPECT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(ok.identity.principal, "alice");
  std::string carol = Sign("HS256", absl::StrCat(R"({"sub":"carol","iss":"https://idp.test","aud":"inventory","exp":)",
                                                 kNowS + 60, "}"));
  EXPECT_EQ((*a)->Decide({.bearer_token = carol}, kAdjust).status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE((*a)->Decide({.bearer_token = carol}, "/inventory.v1.QueryService/GetItem").status.ok());
  EXPECT_TRUE((*a)->Decide({.api_key = "shop-key"}, kReserve).status.ok());
  EXPECT_EQ((*a)->Decide({.api_key = "shop-key"}, kAdjust).status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ((*a)->Decide({.api_key = "wrong-key"}, kReserve).status.code(), absl::StatusCode::kUnauthenticated);
  // Certificates count only when accepted.
  EXPECT_EQ((*a)->Decide({.client_cert_subject = "CN=alice"}, kAdjust).status.code(),
            absl::StatusCode::kUnauthenticated);
  // alice's write bucket: burst 2, the first call above took one.
  EXPECT_TRUE((*a)->Decide({.bearer_token = Sign("RS256", Payload())}, kAdjust).status.ok());
  Decision limited = (*a)->Decide({.bearer_token = Sign("RS256", Payload())}, kAdjust);
  EXPECT_EQ(limited.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limited.retry_after_ms, 1000);
  EXPECT_EQ((*a)->counters().rate_limited.load(), 1);
  EXPECT_EQ((*a)->counters().permission_denied.load(), 2);
  EXPECT_EQ((*a)->counters().unauthenticated.load(), 3);
}

TEST_F(AuthenticatorTest, ReloadSwapsAndABadFileKeepsTheOldConfig) {
  auto a = Authenticator::Create(Opts(), &clock_);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->Decide({.api_key = "new-key"}, kReserve).status.code(), absl::StatusCode::kUnauthenticated);
  Write("keys", absl::StrCat("sha256:", Sha256Hex("new-key"), " shop2 orders\n"));
  ASSERT_TRUE((*a)->Reload().ok());
  EXPECT_TRUE((*a)->Decide({.api_key = "new-key"}, kReserve).status.ok());
  EXPECT_EQ((*a)->Decide({.api_key = "shop-key"}, kReserve).status.code(), absl::StatusCode::kUnauthenticated);
  Write("policy", "grant alice wizard\n");
  absl::Status bad = (*a)->Reload();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("unknown role \"wizard\""), absl::string_view::npos);
  EXPECT_TRUE((*a)->Decide({.api_key = "new-key"}, kReserve).status.ok());  // old config still in force
  EXPECT_TRUE((*a)->Decide({.bearer_token = Sign("RS256", Payload())}, kAdjust).status.ok());
  EXPECT_EQ((*a)->counters().reloads_failed.load(), 1);
}

TEST_F(AuthenticatorTest, StartupErrorsNameTheFile) {
  Write("secret", "short\n");
  auto a = Authenticator::Create(Opts(), &clock_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find(Path("secret")), absl::string_view::npos);
  EXPECT_NE(a.status().message().find("shorter than 32 bytes"), absl::string_view::npos);
}

}  // namespace
}  // namespace auth
