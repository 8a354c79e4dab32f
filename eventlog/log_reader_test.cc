#include "eventlog/log_reader.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "eventlog/memory_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eventlog {
namespace {

using ::testing::HasSubstr;

// Forwards to a memory log; counts Reads and answers DATA_LOSS to any Read
// whose range covers a bad position.
class ReadFaultLog final : public EventLog {
 public:
  explicit ReadFaultLog(EventLog* inner) : inner_(inner) {}
  void AddBad(LogPosition at) { bad_.insert({at.partition, at.offset}); }
  uint64_t reads() const { return reads_.load(); }

  uint32_t partition_count() const override { return inner_->partition_count(); }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override {
    return inner_->Append(records);
  }
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                 size_t max_records) override {
    ++reads_;
    for (const auto& [p, o] : bad_) {
      if (p == partition && o >= from_offset && o < from_offset + max_records) {
        return absl::DataLossError(absl::StrCat("block checksum mismatch at ", p, ":", o));
      }
    }
    return inner_->Read(partition, from_offset, max_records);
  }
  absl::StatusOr<NextOffsets> EndOffsets() override { return inner_->EndOffsets(); }
  std::unique_ptr<LogTail> Tail(NextOffsets start_offsets, TailOptions options) override {
    return inner_->Tail(std::move(start_offsets), options);
  }
  absl::Status Close() override { return inner_->Close(); }

 private:
  EventLog* const inner_;
  std::set<std::pair<uint32_t, uint64_t>> bad_;
  std::atomic<uint64_t> reads_{0};
};

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = MemoryLog::Open({.partition_count = 2, .offset_gaps = OffsetGaps::kNone});
    ASSERT_TRUE(log.ok()) << log.status();
    memory_ = std::move(*log);
    log_ = std::make_unique<ReadFaultLog>(memory_.get());
  }

  // Appends n records to partition p (keys chosen to land there), one per Append.
  void Fill(uint32_t p, int n) {
    for (int i = 0, key = 0; i < n; ++key) {
      std::string k = absl::StrCat("k", key);
      if (PartitionFor(k, 2) != p) continue;
      LogRecord record{k, absl::StrCat("r", p, "-", i)};
      ASSERT_TRUE(log_->Append(std::span<const LogRecord>(&record, 1)).ok());
      ++i;
    }
  }

  std::unique_ptr<LogReader> Open(ReadRange range, ReaderOptions options) {
    auto reader = LogReader::Open(log_.get(), std::move(range), options, KeepRecords);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? std::move(*reader) : nullptr;
  }

  // Every batch up to the end or the first error.
  struct Drained {
    std::vector<RecordBatch> batches;
    std::vector<LogPosition> positions;
    absl::Status status;
  };
  static Drained Drain(LogReader& reader) {
    Drained out;
    while (true) {
      absl::StatusOr<std::optional<RecordBatch>> batch = reader.Next();
      if (!batch.ok()) {
        out.status = batch.status();
        return out;
      }
      if (!batch->has_value()) return out;
      for (const StoredRecord& r : (*batch)->records) out.positions.push_back(r.position);
      out.batches.push_back(std::move(**batch));
    }
  }

  std::unique_ptr<MemoryLog> memory_;
  std::unique_ptr<ReadFaultLog> log_;
};

TEST_F(LogReaderTest, ReadsExactlyTheBoundedRangeInBatches) {
  Fill(0, 10);
  Fill(1, 5);
  for (bool background : {false, true}) {
    auto reader = Open({.start_offsets = {2, 1}, .end_offsets = NextOffsets{9, 5}},
                       {.read_batch_records = 3, .background = background});
    Drained d = Drain(*reader);
    ASSERT_TRUE(d.status.ok()) << d.status;
    ASSERT_EQ(d.positions.size(), 7u + 4u) << background;
    EXPECT_EQ(d.positions.front(), (LogPosition{0, 2}));
    EXPECT_EQ(d.positions[6], (LogPosition{0, 8}));
    EXPECT_EQ(d.positions.back(), (LogPosition{1, 4}));
    for (const RecordBatch& b : d.batches) EXPECT_LE(b.records.size(), 3u);
    EXPECT_EQ(d.batches.back().next_offsets, (NextOffsets{9, 5}));
    // The end is sticky.
    auto after = reader->Next();
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->has_value());
  }
}

TEST_F(LogReaderTest, UnsetEndsAreTheEndOffsetsAtOpenAndPartitionsCanBeChosen) {
  Fill(0, 4);
  Fill(1, 4);
  auto reader = Open({.start_offsets = {0, 0}, .partitions = {1}}, {});
  Fill(1, 2);  // after Open: not read
  Drained d = Drain(*reader);
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.positions.size(), 4u);
  for (const LogPosition& p : d.positions) EXPECT_EQ(p.partition, 1u);
  EXPECT_EQ(reader->end_offsets(), (NextOffsets{4, 4}));
}

TEST_F(LogReaderTest, RefusesRangesThatDoNotFitTheLog) {
  auto wrong_size = LogReader::Open(log_.get(), {.start_offsets = {0}}, {}, KeepRecords);
  EXPECT_EQ(wrong_size.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_size.status().message(), HasSubstr("1 start offsets for a log of 2 partitions"));
  auto unknown = LogReader::Open(log_.get(), {.start_offsets = {0, 0}, .partitions = {2}}, {}, KeepRecords);
  EXPECT_THAT(unknown.status().message(), HasSubstr("no partition 2"));
  auto follow_bg = LogReader::Open(log_.get(), {.mode = ReadMode::kFollow, .start_offsets = {0, 0}},
                                   {.background = true}, KeepRecords);
  EXPECT_EQ(follow_bg.status().code(), absl::StatusCode::kInvalidArgument);
}

// The bound of ReaderOptions: a consumer that does not drain holds at most
// read_ahead_batches_max batches, plus the one the thread is pushing.
TEST_F(LogReaderTest, BackgroundReadAheadStopsAtItsBound) {
  Fill(0, 20);
  auto reader = Open({.start_offsets = {0, 0}}, {.read_batch_records = 1, .read_ahead_batches_max = 2,
                                                  .background = true});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (log_->reads() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log_->reads(), 3u) << "2 queued + 1 waiting to be queued";
  Drained d = Drain(*reader);
  EXPECT_TRUE(d.status.ok());
  EXPECT_EQ(d.positions.size(), 20u);
}

TEST_F(LogReaderTest, AbortReturnsTheUnreadablePositionAfterTheRecordsBeforeIt) {
  Fill(0, 10);
  Fill(1, 3);
  log_->AddBad({0, 6});
  for (bool background : {false, true}) {
    auto reader = Open({.start_offsets = {0, 0}},
                       {.read_batch_records = 4, .background = background, .on_unreadable = ErrorPolicy::kAbort});
    Drained d = Drain(*reader);
    EXPECT_EQ(d.status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(d.status.message(), HasSubstr("log record 0:6 is unreadable"));
    // Narrowed down: 0..5 delivered, nothing after.
    ASSERT_EQ(d.positions.size(), 6u);
    EXPECT_EQ(d.positions.back(), (LogPosition{0, 5}));
    EXPECT_EQ(reader->Next().status().code(), absl::StatusCode::kDataLoss) << "the error is sticky";
  }
}

TEST_F(LogReaderTest, StopReportsTheUnreadablePositionAndEnds) {
  Fill(0, 10);
  Fill(1, 3);
  log_->AddBad({0, 6});
  auto reader = Open({.start_offsets = {0, 0}}, {.read_batch_records = 4, .on_unreadable = ErrorPolicy::kStop});
  Drained d = Drain(*reader);
  ASSERT_TRUE(d.status.ok()) << d.status;
  ASSERT_EQ(d.positions.size(), 6u);
  const RecordBatch& last = d.batches.back();
  EXPECT_EQ(last.unreadable.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(last.unreadable_at, (LogPosition{0, 6}));
  EXPECT_EQ(last.next_offsets[0], 6u);
}

TEST_F(LogReaderTest, RecordAndContinueSkipsTheRestOfThatPartitionOnly) {
  Fill(0, 10);
  Fill(1, 3);
  log_->AddBad({0, 6});
  auto reader = Open({.start_offsets = {0, 0}},
                     {.read_batch_records = 4, .on_unreadable = ErrorPolicy::kRecordAndContinue});
  Drained d = Drain(*reader);
  ASSERT_TRUE(d.status.ok()) << d.status;
  ASSERT_EQ(d.positions.size(), 6u + 3u);
  EXPECT_EQ(d.positions.back(), (LogPosition{1, 2}));
  int reported = 0;
  for (const RecordBatch& b : d.batches) {
    if (b.unreadable.ok()) continue;
    ++reported;
    EXPECT_EQ(b.unreadable_at, (LogPosition{0, 6}));
  }
  EXPECT_EQ(reported, 1);
}

TEST_F(LogReaderTest, IoErrorsEndTheReadWhateverThePolicy) {
  Fill(0, 3);
  auto reader = Open({.start_offsets = {0, 0}}, {.on_unreadable = ErrorPolicy::kRecordAndContinue});
  ASSERT_TRUE(memory_->Close().ok());
  Drained d = Drain(*reader);
  EXPECT_EQ(d.status.code(), absl::StatusCode::kFailedPrecondition) << d.status;
}

TEST_F(LogReaderTest, StoppedPartitionsAreReadNoFurther) {
  Fill(0, 10);
  Fill(1, 2);
  auto reader = Open({.start_offsets = {0, 0}}, {.read_batch_records = 2});
  auto first = reader->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  reader->StopPartition(0);
  Drained d = Drain(*reader);
  ASSERT_TRUE(d.status.ok());
  ASSERT_EQ(d.positions.size(), 2u);
  EXPECT_EQ(d.positions.front().partition, 1u);
}

TEST_F(LogReaderTest, FollowWaitsForNewRecordsAndReportsItsPosition) {
  Fill(0, 2);
  auto reader = Open({.mode = ReadMode::kFollow, .start_offsets = {1, 0}},
                     {.read_batch_records = 8, .poll_interval_ms = std::chrono::milliseconds(5)});
  auto batch = reader->Next(std::chrono::milliseconds(100));
  ASSERT_TRUE(batch.ok() && batch->has_value());
  ASSERT_EQ((*batch)->records.size(), 1u);
  EXPECT_EQ((*batch)->records[0].position, (LogPosition{0, 1}));
  auto empty = reader->Next(std::chrono::milliseconds(10));
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_TRUE((*empty)->records.empty());
  EXPECT_EQ((*empty)->next_offsets, (NextOffsets{2, 0}));
  Fill(1, 1);
  auto more = reader->Next(std::chrono::seconds(5));
  ASSERT_TRUE(more.ok() && more->has_value());
  ASSERT_EQ((*more)->records.size(), 1u);
  EXPECT_EQ((*more)->records[0].position, (LogPosition{1, 0}));
}

}  // namespace
}  // namespace eventlog
