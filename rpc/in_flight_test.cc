// InFlightLimit's counting. The interceptor and the gate's refusal over real
// gRPC and HTTP, with streams holding the slots, are tested against a live
// inventoryd in tests/e2e_auth_test.py (test_in_flight_bound_refuses_with_a_retry_hint).
#include "rpc/in_flight.h"

#include <gtest/gtest.h>

namespace rpc {
namespace {

TEST(InFlightLimit, RefusesPastTheBoundAndCountsRefusals) {
  InFlightLimit limit({.calls_max = 2, .retry_after_ms = 250});
  EXPECT_EQ(limit.retry_after_text(), "250");
  EXPECT_TRUE(limit.TryEnter());
  EXPECT_TRUE(limit.TryEnter());
  EXPECT_FALSE(limit.TryEnter());
  EXPECT_FALSE(limit.TryEnter());
  EXPECT_EQ(limit.in_flight(), 2);  // a refusal takes no slot
  EXPECT_EQ(limit.refused(), 2u);
  limit.Leave();
  EXPECT_EQ(limit.in_flight(), 1);
  EXPECT_TRUE(limit.TryEnter());
  EXPECT_EQ(limit.refused(), 2u);
}

TEST(InFlightLimit, ZeroMeansNoBound) {
  InFlightLimit limit({.calls_max = 0});
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limit.TryEnter());
  EXPECT_EQ(limit.in_flight(), 10'000);
  EXPECT_EQ(limit.refused(), 0u);
}

}  // namespace
}  // namespace rpc
