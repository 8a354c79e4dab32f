#include "auth/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/durable_file.h"
#include "base/status.h"

namespace auth {
namespace {

std::string RandomSecret() {
  unsigned char bytes[32];
  INV_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1) << "no randomness for the HTTP edge secret";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Authenticator::Authenticator(AuthOptions options, const base::Clock* clock)
    : options_(std::move(options)), clock_(clock), edge_secret_(RandomSecret()), limiter_(options_.rate, clock) {}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options, const base::Clock* clock) {
  std::unique_ptr<Authenticator> authenticator(new Authenticator(std::move(options), clock));
  ASSIGN_OR_RETURN(authenticator->snapshot_, authenticator->Load());
  return authenticator;
}

absl::StatusOr<std::shared_ptr<const Authenticator::Snapshot>> Authenticator::Load() const {
  auto snapshot = std::make_shared<Snapshot>();
  for (const std::string& path : options_.jwt_public_key_files) {
    ASSIGN_OR_RETURN(VerificationKey key, LoadPemPublicKey(path));
    snapshot->keys.push_back(std::move(key));
  }
  if (!options_.jwt_hmac_secret_file.empty()) {
    ASSIGN_OR_RETURN(VerificationKey key, LoadHmacSecret(options_.jwt_hmac_secret_file));
    snapshot->keys.push_back(std::move(key));
  }
  if (!options_.jwks_file.empty()) {
    ASSIGN_OR_RETURN(std::vector<VerificationKey> keys, LoadJwks(options_.jwks_file));
    for (VerificationKey& key : keys) snapshot->keys.push_back(std::move(key));
  }
  if (!options_.policy_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, base::ReadWholeFile(options_.policy_file));
    ASSIGN_OR_RETURN(snapshot->policy, Policy::Parse(text, options_.policy_file));
  }
  if (!options_.api_keys_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, base::ReadWholeFile(options_.api_keys_file));
    ASSIGN_OR_RETURN(snapshot->api_keys, ParseApiKeys(text, options_.api_keys_file, snapshot->policy));
  }
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

absl::Status Authenticator::Reload() {
  auto loaded = Load();
  if (!loaded.ok()) {
    counters_.reloads_failed.fetch_add(1, std::memory_order_relaxed);
    return loaded.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = *std::move(loaded);
  return absl::OkStatus();
}

std::shared_ptr<const Authenticator::Snapshot> Authenticator::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

absl::StatusOr<Identity> Authenticator::Authenticate(const Snapshot& snapshot, const Credentials& c) const {
  if (c.forwarded_subject && !SameSecret(c.forwarded_secret.value_or(""), edge_secret_)) {
    return absl::UnauthenticatedError("a forwarded client certificate subject without the HTTP edge's secret");
  }
  if (c.bearer_token) {
    ASSIGN_OR_RETURN(JwtClaims claims, VerifyJwt(*c.bearer_token, snapshot.keys, options_.jwt, clock_->NowMs()));
    return Identity{claims.subject, snapshot.policy.RolesOf(claims.subject)};
  }
  if (c.api_key) {
    auto it = snapshot.api_keys.find(Sha256Hex(*c.api_key));
    if (it == snapshot.api_keys.end()) return absl::UnauthenticatedError("invalid API key");
    return it->second;
  }
  const std::optional<std::string>& subject = c.forwarded_subject ? c.forwarded_subject : c.client_cert_subject;
  if (subject && options_.accept_client_certificates) return Identity{*subject, snapshot.policy.RolesOf(*subject)};
  return absl::UnauthenticatedError(
      "no credentials: send `authorization: Bearer <jwt>` or `x-api-key: <key>` metadata");
}

Decision Authenticator::Decide(const Credentials& credentials, std::string_view method) {
  std::shared_ptr<const Snapshot> snapshot = Current();
  Decision d;
  auto identity = Authenticate(*snapshot, credentials);
  if (!identity.ok()) {
    counters_.unauthenticated.fetch_add(1, std::memory_order_relaxed);
    d.status = identity.status();
    return d;
  }
  d.identity = *std::move(identity);
  d.status = snapshot->policy.Authorize(d.identity, method);
  if (!d.status.ok()) {
    counters_.permission_denied.fetch_add(1, std::memory_order_relaxed);
    return d;
  }
  d.status = ChargeRate(d.identity.principal, KindOf(method), d.retry_after_ms);
  return d;
}

absl::Status Authenticator::ChargeRate(const std::string& principal, MethodKind kind, std::int64_t& retry_after_ms) {
  RateDecision rate = limiter_.Acquire(principal, kind);
  if (!rate.allowed) {
    counters_.rate_limited.fetch_add(1, std::memory_order_relaxed);
    retry_after_ms = rate.retry_after_ms;
    return absl::ResourceExhaustedError(
        absl::StrCat("rate limit for \"", principal, "\": retry in ", rate.retry_after_ms, " ms"));
  }
  counters_.allowed.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace auth
