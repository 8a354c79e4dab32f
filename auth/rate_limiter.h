// Per-principal token buckets, one for writes and one for reads. (The global
// bound on calls in flight is the server's: rpc/in_flight.h.)
//
// A bucket holds up to `burst` tokens and refills at `per_second`; a call
// takes one. An empty bucket refuses with RESOURCE_EXHAUSTED and the delay
// until the next token (`retry_after_ms`). Time comes from a base::Clock, so
// tests refill by moving a ManualClock.
//
// Thread-safety: every method may be called from any thread.
#ifndef AUTH_RATE_LIMITER_H_
#define AUTH_RATE_LIMITER_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "auth/policy.h"
#include "base/clock.h"

namespace auth {

struct BucketOptions {
  // Tokens added per second; 0 disables the limit. Default 0.
  double per_second = 0;
  // Bucket capacity (calls allowed at once after a pause). Default 100.
  double burst = 100;
};

struct RateLimitOptions {
  BucketOptions writes;
  BucketOptions reads;
  // Most principals tracked; beyond it, full (idle) buckets are dropped first
  // and a new principal is refused while none is. Default 100000.
  std::size_t principals_max = 100'000;
};

struct RateDecision {
  bool allowed = true;
  std::int64_t retry_after_ms = 0;
};

class RateLimiter {
 public:
  // REQUIRES: clock outlives the limiter.
  RateLimiter(RateLimitOptions options, const base::Clock* clock);

  RateDecision Acquire(const std::string& principal, MethodKind kind);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated_ms = 0;
  };
  void DropIdleBuckets(std::int64_t now_ms);

  const RateLimitOptions options_;
  const base::Clock* const clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_[2];  // [kRead, kWrite]
};

}  // namespace auth

#endif  // AUTH_RATE_LIMITER_H_
