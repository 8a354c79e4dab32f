#include "eventlog/group_commit.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace eventlog {
namespace {

// A commit function that numbers records 0, 1, 2, ... in partition 0 and
// remembers the size of every group.
class Recorder {
 public:
  absl::StatusOr<std::vector<std::vector<LogPosition>>> Commit(GroupCommit::Batches batches) {
    std::lock_guard lock(mu_);
    std::vector<std::vector<LogPosition>> out;
    size_t records = 0;
    for (const auto& batch : batches) {
      out.emplace_back();
      for (size_t i = 0; i < batch.size(); ++i) out.back().push_back(LogPosition{0, next_++});
      records += batch.size();
    }
    groups_.push_back({batches.size(), records});
    return out;
  }
  struct Group {
    size_t batches;
    size_t records;
  };
  std::vector<Group> groups() {
    std::lock_guard lock(mu_);
    return groups_;
  }

 private:
  std::mutex mu_;
  uint64_t next_ = 0;
  std::vector<Group> groups_;
};

TEST(GroupCommitTest, CoalescesQueuedBatchesWithinTheBound) {
  constexpr size_t kThreads = 6;
  constexpr size_t kGroupRecordsMax = 7;
  Recorder recorder;
  std::atomic<bool> first{true};
  GroupCommit* group_ptr = nullptr;
  GroupCommit group(kGroupRecordsMax, [&](GroupCommit::Batches batches) {
    if (first.exchange(false)) {
      // Hold the first commit until every thread has queued behind it.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (group_ptr->queued() < kThreads && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
    }
    return recorder.Commit(batches);
  });
  group_ptr = &group;

  std::vector<std::vector<LogRecord>> batches(kThreads, std::vector<LogRecord>(3, LogRecord{"k", "v"}));
  std::vector<absl::StatusOr<std::vector<LogPosition>>> results(kThreads);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { results[t] = group.Submit(batches[t]); });
  }
  for (std::thread& thread : threads) thread.join();

  std::vector<bool> seen(kThreads * 3, false);
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result->size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_FALSE(seen[(*result)[i].offset]);
      seen[(*result)[i].offset] = true;
      if (i > 0) {
        EXPECT_EQ((*result)[i].offset, (*result)[i - 1].offset + 1) << "a batch was split";
      }
    }
  }
  const std::vector<Recorder::Group> groups = recorder.groups();
  size_t coalesced = 0;
  for (const Recorder::Group& g : groups) {
    EXPECT_TRUE(g.records <= kGroupRecordsMax || g.batches == 1) << g.batches << " batches, " << g.records;
    if (g.batches > 1) ++coalesced;
  }
  // 1 alone, then 5 queued batches of 3 in groups of at most 7 records: 2+2+1.
  EXPECT_EQ(groups.size(), 4u);
  EXPECT_EQ(coalesced, 2u);
}

TEST(GroupCommitTest, AFailedCommitFailsEveryBatchOfTheGroupOnly) {
  std::atomic<int> calls{0};
  GroupCommit group(100, [&](GroupCommit::Batches batches) -> absl::StatusOr<std::vector<std::vector<LogPosition>>> {
    if (calls++ == 0) return absl::UnavailableError("disk on fire");
    return std::vector<std::vector<LogPosition>>(batches.size());
  });
  std::vector<LogRecord> batch = {{"k", "v"}};
  absl::StatusOr<std::vector<LogPosition>> failed = group.Submit(batch);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(group.Submit(batch).ok());
}

}  // namespace
}  // namespace eventlog
