#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace auth {

RateLimiter::RateLimiter(RateLimitOptions options, const base::Clock* clock) : options_(options), clock_(clock) {}

RateDecision RateLimiter::Acquire(const std::string& principal, MethodKind kind) {
  const BucketOptions& limit = kind == MethodKind::kWrite ? options_.writes : options_.reads;
  if (limit.per_second <= 0) return {};
  std::int64_t now_ms = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto& buckets = buckets_[kind == MethodKind::kWrite ? 1 : 0];
  auto it = buckets.find(principal);
  if (it == buckets.end()) {
    if (buckets.size() >= options_.principals_max) DropIdleBuckets(now_ms);
    if (buckets.size() >= options_.principals_max) return {false, 1000};
    it = buckets.emplace(principal, Bucket{limit.burst, now_ms}).first;
  }
  Bucket& b = it->second;
  double elapsed_s = static_cast<double>(std::max<std::int64_t>(now_ms - b.updated_ms, 0)) / 1000.0;
  b.tokens = std::min(limit.burst, b.tokens + elapsed_s * limit.per_second);
  b.updated_ms = now_ms;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  auto wait_ms = static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) * 1000.0 / limit.per_second));
  return {false, std::max<std::int64_t>(wait_ms, 1)};
}

void RateLimiter::DropIdleBuckets(std::int64_t now_ms) {
  for (int k = 0; k < 2; ++k) {
    const BucketOptions& limit = k == 1 ? options_.writes : options_.reads;
    absl::erase_if(buckets_[k], [&](const auto& entry) {
      double elapsed_s = static_cast<double>(now_ms - entry.second.updated_ms) / 1000.0;
      return entry.second.tokens + elapsed_s * limit.per_second >= limit.burst;
    });
  }
}

}  // namespace auth
