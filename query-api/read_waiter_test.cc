#include "query-api/read_waiter.h"

#include <gtest/gtest.h>

#include <future>

#include "query-api/memory_views.h"

namespace query_api {
namespace {

using namespace std::chrono_literals;

TEST(ReadWaiterTest, CompletesOnceThePositionIsApplied) {
  MemoryViews views(2);
  ReadWaiter waiter(&views, 16, 10'000ms);  // no periodic re-check: only Notify wakes it
  std::promise<absl::Status> done;
  ASSERT_TRUE(waiter.Wait({{1, 2}}, std::chrono::steady_clock::now() + 60s,
                          [&](const absl::Status& s) { done.set_value(s); })
                  .ok());
  auto f = done.get_future();
  views.Skip(1, 2);  // applied[1] = 2: offset 2 not yet
  waiter.Notify();
  views.Skip(0, 5);
  waiter.Notify();
  EXPECT_EQ(waiter.pending(), 1u) << "offset 2 of partition 1 is not applied yet";
  views.Skip(1, 1);
  waiter.Notify();
  EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(waiter.pending(), 0u);
}

TEST(ReadWaiterTest, DeadlineGivesHowFarBehind) {
  MemoryViews views(2);
  views.Skip(0, 3);
  ReadWaiter waiter(&views, 16, 10ms);
  std::promise<absl::Status> done;
  ASSERT_TRUE(waiter.Wait({{0, 9}}, std::chrono::steady_clock::now() + 20ms,
                          [&](const absl::Status& s) { done.set_value(s); })
                  .ok());
  absl::Status s = done.get_future().get();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(std::string(s.message()).find("partition 0 offset 9"), std::string::npos) << s;
  EXPECT_NE(std::string(s.message()).find("7 events behind"), std::string::npos) << s;
}

TEST(ReadWaiterTest, RefusesPastPendingMax) {
  MemoryViews views(1);
  int completed = 0;  // outlives the waiter, which completes parked reads when destroyed
  ReadWaiter waiter(&views, 2, 10'000ms);
  auto far = std::chrono::steady_clock::now() + 60s;
  ASSERT_TRUE(waiter.Wait({{0, 0}}, far, [&](const absl::Status&) { ++completed; }).ok());
  ASSERT_TRUE(waiter.Wait({{0, 0}}, far, [&](const absl::Status&) { ++completed; }).ok());
  absl::Status third = waiter.Wait({{0, 0}}, far, [&](const absl::Status&) { ++completed; });
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(completed, 0);
}

TEST(ReadWaiterTest, CoveredMeansAppliedPastTheOffset) {
  EXPECT_TRUE(Covered({3, 0}, {{0, 2}}));
  EXPECT_FALSE(Covered({3, 0}, {{0, 3}}));
  EXPECT_FALSE(Covered({3, 0}, {{1, 0}}));
  EXPECT_FALSE(Covered({3}, {{5, 0}}));
  EXPECT_TRUE(Covered({3}, {}));
}

}  // namespace
}  // namespace query_api
