// The hub's own bounds: one projector listener however many subscribers,
// batches copied only while someone subscribes, and every subscriber cut with
// RESOURCE_EXHAUSTED when the hub thread falls batches_max behind.
#include "query-api/update_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "query-api/memory_views.h"
#include "query-api/worker_pool.h"

namespace query_api {
namespace {

namespace pb = inventory::v1;

// Counts offers; the first Offer can be held to stall the hub thread.
class FakeSubscriber final : public HubSubscriber {
 public:
  explicit FakeSubscriber(bool hold_first) : holding_(hold_first) {}
  void Offer(const std::shared_ptr<const AppliedUpdates>&) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++offers_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !holding_; });
  }
  void Cut(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    cut_ = status;
    cv_.notify_all();
  }
  void AwaitOffers(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return offers_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = false;
    cv_.notify_all();
  }
  absl::Status AwaitCut() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return cut_.has_value(); });
    return *cut_;
  }
  int offers() {
    std::lock_guard<std::mutex> lock(mu_);
    return offers_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool holding_;
  int offers_ = 0;
  std::optional<absl::Status> cut_;
};

std::vector<pb::InventoryUpdate> OneUpdate() {
  pb::InventoryUpdate u;
  u.mutable_movement()->set_sku("A");
  return {u};
}

TEST(UpdateHubTest, CutsEveryoneWhenTheHubFallsBatchesMaxBehind) {
  MemoryViews views(1);
  HubOptions options;
  options.batches_max = 2;
  auto hub = UpdateHub::Start(&views, options, nullptr);
  ASSERT_TRUE(hub.ok()) << hub.status();
  auto stalled = std::make_shared<FakeSubscriber>(/*hold_first=*/true);
  ASSERT_TRUE((*hub)->Add(stalled).ok());
  views.Apply(0, OneUpdate());
  stalled->AwaitOffers(1);  // the hub thread is now stuck in Offer
  for (int i = 0; i < 3; ++i) views.Apply(0, OneUpdate());  // 2 queue, the third is dropped
  stalled->Release();
  absl::Status cut = stalled->AwaitCut();
  EXPECT_EQ(cut.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(cut.message()).find("start_after"), std::string::npos);
  EXPECT_EQ(stalled->offers(), 1) << "batches after a drop are never offered: they would leave a gap";
}

TEST(UpdateHubTest, OneListenerAndBoundedSubscribers) {
  MemoryViews views(1);
  HubOptions options;
  options.subscribers_max = 3;
  auto hub = UpdateHub::Start(&views, options, nullptr);
  ASSERT_TRUE(hub.ok());
  std::vector<std::shared_ptr<FakeSubscriber>> subs;
  for (int i = 0; i < 3; ++i) {
    subs.push_back(std::make_shared<FakeSubscriber>(false));
    ASSERT_TRUE((*hub)->Add(subs.back()).ok());
  }
  EXPECT_EQ((*hub)->Add(std::make_shared<FakeSubscriber>(false)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(views.listeners(), 1u);
  views.Apply(0, OneUpdate());
  for (auto& s : subs) s->AwaitOffers(1);
  (*hub)->Remove(subs[0].get());
  EXPECT_EQ((*hub)->subscribers(), 2u);
  EXPECT_TRUE((*hub)->Add(std::make_shared<FakeSubscriber>(false)).ok());
  hub->reset();
  EXPECT_EQ(views.listeners(), 0u) << "the listener goes with the hub";
}

TEST(WorkerPoolTest, RefusesPastQueueMaxAndRunsWhatItAccepted) {
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> ran{0};
  auto pool = std::make_unique<WorkerPool>(1, 2);
  ASSERT_TRUE(pool->Submit([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return go; });
    ran.fetch_add(1);
  }));
  // The worker may or may not have taken the first task yet: fill the queue.
  int accepted = 1;
  while (pool->Submit([&] { ran.fetch_add(1); })) ++accepted;
  EXPECT_GE(accepted, 2);  // queue_max queued (+1 if the worker already took the first)
  EXPECT_LE(accepted, 3);
  {
    std::lock_guard<std::mutex> lock(mu);
    go = true;
  }
  cv.notify_all();
  pool.reset();  // runs every accepted task before returning
  EXPECT_EQ(ran.load(), accepted);
}

}  // namespace
}  // namespace query_api
