// PollingTail over a log whose reads of one partition fail: what the other
// partitions gave before the failure is delivered, never dropped.
#include "eventlog/log_tail.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eventlog/memory_log.h"

namespace eventlog {
namespace {

// Forwards to a MemoryLog; Read of `failing_partition` fails while
// `failures_left` > 0.
class FlakyReadLog final : public EventLog {
 public:
  explicit FlakyReadLog(EventLog* inner) : inner_(inner) {}
  uint32_t partition_count() const override { return inner_->partition_count(); }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override {
    return inner_->Append(records);
  }
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from, size_t max) override {
    if (partition == failing_partition && failures_left > 0) {
      failures_left -= 1;
      return absl::UnavailableError("injected read failure");
    }
    return inner_->Read(partition, from, max);
  }
  absl::StatusOr<NextOffsets> EndOffsets() override { return inner_->EndOffsets(); }
  std::unique_ptr<LogTail> Tail(NextOffsets, TailOptions) override { return nullptr; }
  absl::Status Close() override { return absl::OkStatus(); }

  uint32_t failing_partition = 1;
  int failures_left = 0;

 private:
  EventLog* inner_;
};

// A key of `partition` among `count`.
std::string KeyOf(uint32_t partition, uint32_t count) {
  for (int i = 0;; ++i) {
    std::string key = "sku-" + std::to_string(i);
    if (PartitionFor(key, count) == partition) return key;
  }
}

TEST(PollingTailTest, AReadFailureOfOnePartitionDropsNothingTheOthersGave) {
  auto memory = MemoryLog::Open({.partition_count = 2});
  ASSERT_TRUE(memory.ok()) << memory.status();
  FlakyReadLog log(memory->get());
  const std::vector<LogRecord> records = {{KeyOf(0, 2), "a"}, {KeyOf(1, 2), "b"}, {KeyOf(0, 2), "c"}};
  ASSERT_TRUE(log.Append(records).ok());
  AppendSignal signal;
  PollingTail tail(&log, &signal, {0, 0}, {});
  log.failures_left = 2;
  std::map<std::string, int> seen;
  for (int call = 0; call < 6 && seen.size() < 3; ++call) {
    absl::StatusOr<std::vector<StoredRecord>> got = tail.Next(std::chrono::milliseconds(0));
    if (!got.ok()) continue;  // an error may surface; no record may be lost or repeated
    for (const StoredRecord& r : *got) seen[r.payload] += 1;
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
  EXPECT_EQ(log.failures_left, 0) << "the failing partition was read again";
  EXPECT_EQ(tail.next_offsets()[1], 1u);
}

}  // namespace
}  // namespace eventlog
