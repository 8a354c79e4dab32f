#include "replay/verify.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "eventlog/memory_log.h"
#include "eventlog/rocksdb_log.h"
#include "replay/test_history.h"

namespace replay {
namespace {

using ::testing::HasSubstr;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenTestLog(dir_, 4);
    history_ = std::make_unique<testing::HistoryGenerator>(log_.get());
    history_->Generate(100, 0);
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<testing::HistoryGenerator> history_;
};

TEST_F(VerifyTest, HealthyLogIsClean) {
  VerifyOptions options;
  options.read_batch_records = 5;
  absl::StatusOr<VerifyReport> report = VerifyLog(*log_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << FormatVerifyText(*report);
  EXPECT_EQ(report->records, history_->events().size());
  EXPECT_THAT(FormatVerifyText(*report), HasSubstr("verify-log: OK"));
}

TEST_F(VerifyTest, NamesTheFirstUndecodableRecordExactly) {
  auto bad = log_->Append(std::vector<eventlog::LogRecord>{{"SKU-2", "\x08\x96\x01 garbage"}});
  ASSERT_TRUE(bad.ok());
  history_->Generate(20, 0, 2);
  absl::StatusOr<VerifyReport> report = VerifyLog(*log_, {});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->bad_total, 1u) << FormatVerifyText(*report);
  EXPECT_EQ(report->bad[0].position, bad->front());
  EXPECT_THAT(report->bad[0].what, HasSubstr("undecodable (DATA_LOSS)"));
  const std::string text = FormatVerifyText(*report);
  EXPECT_THAT(text, HasSubstr("verify-log: FAILED"));
  EXPECT_THAT(text, HasSubstr("first bad record: partition " + std::to_string(bad->front().partition) + " offset " +
                              std::to_string(bad->front().offset) + ": undecodable"));
  EXPECT_THAT(FormatVerifyJson(*report), HasSubstr("\"bad_total\":1"));
}

TEST_F(VerifyTest, ARecordUnderAnotherEventsKeyIsNamed) {
  const ledger::Event& event = history_->events().back().event;
  std::string other_key = "SKU-other";
  auto bad = log_->Append(std::vector<eventlog::LogRecord>{{other_key, ledger::Encode(event)}});
  ASSERT_TRUE(bad.ok());
  absl::StatusOr<VerifyReport> report = VerifyLog(*log_, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->bad_total, 1u);
  EXPECT_EQ(report->bad[0].position, bad->front());
  EXPECT_THAT(report->bad[0].what, HasSubstr("is not the event's partition key"));
}

TEST(VerifyGapsTest, GapsAreBadOnAContiguousLogOnly) {
  eventlog::MemoryLogOptions options;
  options.partition_count = 1;
  options.offset_gaps = eventlog::OffsetGaps::kAfterEachBatch;
  auto log = eventlog::MemoryLog::Open(options);
  ASSERT_TRUE(log.ok());
  testing::HistoryGenerator history(log->get());
  history.Generate(10, 0);
  VerifyOptions strict;
  absl::StatusOr<VerifyReport> contiguous = VerifyLog(**log, strict);
  ASSERT_TRUE(contiguous.ok());
  ASSERT_FALSE(contiguous->clean());
  EXPECT_THAT(contiguous->bad[0].what, HasSubstr("gap: offsets"));
  VerifyOptions kafka_like;
  kafka_like.continuity = Continuity::kStrictlyIncreasing;
  absl::StatusOr<VerifyReport> increasing = VerifyLog(**log, kafka_like);
  ASSERT_TRUE(increasing.ok());
  EXPECT_TRUE(increasing->clean()) << FormatVerifyText(*increasing);
}

}  // namespace
}  // namespace replay
