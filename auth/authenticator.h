// The service's authentication and authorisation decisions, independent of
// gRPC: credentials in (a bearer JWT, an API key, a verified client
// certificate's subject), an Identity or a refusal out.
//
// The configuration (keys, API key hashes, policy) is one immutable Snapshot
// behind a shared_ptr. Reload() builds a new snapshot from the files and swaps
// it in under a mutex; calls in progress keep the snapshot they started with,
// so a reload (SIGHUP) never drops a connection or a call. A reload that fails
// (an unreadable or malformed file) keeps the old snapshot and returns why.
//
// Refusals: UNAUTHENTICATED (no or invalid credentials), PERMISSION_DENIED
// (valid, but no role allows the method), RESOURCE_EXHAUSTED (rate limit,
// with retry_after_ms). Each is counted in Counters.
//
// Thread-safety: every method may be called from any thread.
#ifndef AUTH_AUTHENTICATOR_H_
#define AUTH_AUTHENTICATOR_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/jwt.h"
#include "auth/policy.h"
#include "auth/rate_limiter.h"
#include "base/clock.h"

namespace auth {

struct AuthOptions {
  // PEM public keys (RSA for RS256, EC P-256 for ES256). Default none.
  std::vector<std::string> jwt_public_key_files;
  // HMAC secret file for HS256 (at least 32 bytes). Default none.
  std::string jwt_hmac_secret_file;
  // JWKS file (RSA and EC P-256 keys). Default none.
  std::string jwks_file;
  // API key hashes (format in policy.h). Default none.
  std::string api_keys_file;
  // Policy (format in policy.h). Default: the default roles, no grants.
  std::string policy_file;
  // Accept a verified TLS client certificate's subject as the principal. Default false.
  bool accept_client_certificates = false;
  JwtOptions jwt;
  RateLimitOptions rate;

  // True when some credential can be accepted at all.
  bool Enabled() const {
    return !jwt_public_key_files.empty() || !jwt_hmac_secret_file.empty() || !jwks_file.empty() ||
           !api_keys_file.empty() || accept_client_certificates;
  }
};

struct Credentials {
  std::optional<std::string> bearer_token;        // from `authorization: Bearer <jwt>`
  std::optional<std::string> api_key;             // from `x-api-key`
  std::optional<std::string> client_cert_subject;  // a verified peer certificate's subject
  // A client certificate's subject the HTTP edge verified and forwarded,
  // with the secret that proves the edge sent it (Authenticator::edge_secret).
  std::optional<std::string> forwarded_subject;
  std::optional<std::string> forwarded_secret;
};

struct Decision {
  absl::Status status;  // OK, UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED
  Identity identity;    // set when authenticated
  std::int64_t retry_after_ms = 0;  // RESOURCE_EXHAUSTED only
};

struct Counters {
  std::atomic<std::int64_t> allowed{0};
  std::atomic<std::int64_t> unauthenticated{0};
  std::atomic<std::int64_t> permission_denied{0};
  std::atomic<std::int64_t> rate_limited{0};
  std::atomic<std::int64_t> reloads_failed{0};
};

class Authenticator {
 public:
  // Loads every configured file; an error names the file and the problem.
  // REQUIRES: clock outlives the authenticator.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(AuthOptions options, const base::Clock* clock);

  // Re-reads every file. On error the old configuration stays in force.
  absl::Status Reload();

  // Authenticates, authorises `method` (full gRPC name) and applies the rate
  // limit, in that order.
  Decision Decide(const Credentials& credentials, std::string_view method);

  // Applies the rate limit to one more call of `kind` by `principal`, who
  // was admitted by Decide: how a stream's messages after its first are
  // counted (the first is the call itself). RESOURCE_EXHAUSTED sets
  // retry_after_ms.
  absl::Status ChargeRate(const std::string& principal, MethodKind kind, std::int64_t& retry_after_ms);

  // A random secret made at Create, known only inside this process: the HTTP
  // edge sends it with a client certificate subject it verified, so that no
  // remote caller can claim a subject by sending the same metadata.
  const std::string& edge_secret() const { return edge_secret_; }

  const Counters& counters() const { return counters_; }

 private:
  struct Snapshot {
    std::vector<VerificationKey> keys;
    ApiKeys api_keys;
    Policy policy;
  };
  Authenticator(AuthOptions options, const base::Clock* clock);
  absl::StatusOr<std::shared_ptr<const Snapshot>> Load() const;
  std::shared_ptr<const Snapshot> Current() const;
  absl::StatusOr<Identity> Authenticate(const Snapshot& snapshot, const Credentials& credentials) const;

  const AuthOptions options_;
  const base::Clock* const clock_;
  const std::string edge_secret_;
  RateLimiter limiter_;
  Counters counters_;
  mutable std::mutex mu_;  // guards snapshot_ (the pointer, not the pointee)
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace auth

#endif  // AUTH_AUTHENTICATOR_H_
