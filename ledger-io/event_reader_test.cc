#include "ledger-io/event_reader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "eventlog/memory_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "ledger/decide.h"

namespace ledger_io {
namespace {

using ::testing::HasSubstr;

// One partition: records 0..5 are events, except record 3, which is garbage.
class EventReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = eventlog::MemoryLog::Open({.partition_count = 1, .offset_gaps = eventlog::OffsetGaps::kNone});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    for (int i = 0; i < 6; ++i) {
      ledger::Event event{ledger::Envelope{}, ledger::ItemCreated{"Widget", "tools", {}, 5, 50}};
      event.envelope.event_id = ledger::EventId{1, static_cast<uint64_t>(i)};
      event.envelope.sku = ledger::Sku(absl::StrCat("SKU-", i));
      event.envelope.occurred_at_ms = ledger::AtEpochMs(1000 + static_cast<std::int64_t>(i));
      event.envelope.schema_version = ledger::kSchemaVersion;
      event.envelope.command_event_count = 1;
      eventlog::LogRecord record{event.envelope.sku.value(), i == 3 ? std::string("\xff\xff not an event") : ledger::Encode(event)};
      ASSERT_TRUE(log_->Append(std::span<const eventlog::LogRecord>(&record, 1)).ok());
    }
  }

  std::unique_ptr<EventReader> Open(ErrorPolicy policy, bool background = false) {
    EventReaderOptions options;
    options.read.read_batch_records = 2;
    options.read.background = background;
    options.on_undecodable = policy;
    auto reader = EventReader::Open(log_.get(), {.start_offsets = {0}}, options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return std::move(*reader);
  }

  std::unique_ptr<eventlog::MemoryLog> log_;
};

TEST_F(EventReaderTest, AbortReturnsTheDecodeErrorWithItsPosition) {
  for (bool background : {false, true}) {
    auto reader = Open(ErrorPolicy::kAbort, background);
    uint64_t events = 0;
    absl::Status status;
    while (true) {
      auto batch = reader->Next();
      if (!batch.ok()) {
        status = batch.status();
        break;
      }
      ASSERT_TRUE(batch->has_value()) << "the read must not end cleanly";
      for (const auto& e : (*batch)->events) EXPECT_TRUE(e.ok());
      events += (*batch)->events.size();
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(status.message(), HasSubstr("log record 0:3: event record: does not parse"));
    EXPECT_EQ(events, 2u) << "the batch holding the bad record is not delivered";
    EXPECT_EQ(reader->Next().status(), status) << "the error is sticky";
  }
}

TEST_F(EventReaderTest, StopDeliversTheEventsBeforeTheBadRecordAndNamesIt) {
  auto reader = Open(ErrorPolicy::kStop);
  std::vector<eventlog::LogPosition> positions;
  std::optional<EventBatch> last;
  while (true) {
    auto batch = reader->Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    if (!batch->has_value()) break;
    positions.insert(positions.end(), (*batch)->positions.begin(), (*batch)->positions.end());
    last = std::move(**batch);
  }
  ASSERT_EQ(positions.size(), 3u);
  EXPECT_EQ(positions.back(), (eventlog::LogPosition{0, 2}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->bad_kind, BadKind::kUndecodable);
  EXPECT_EQ(last->bad_at, (eventlog::LogPosition{0, 3}));
  EXPECT_EQ(last->bad.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(last->next_offsets, (base::NextOffsets{3}));
}

TEST_F(EventReaderTest, RecordAndContinueKeepsTheBadRecordInPlaceAndGoesOn) {
  for (bool background : {false, true}) {
    auto reader = Open(ErrorPolicy::kRecordAndContinue, background);
    std::vector<std::string> seen;
    uint64_t undecodable = 0;
    while (true) {
      auto batch = reader->Next();
      ASSERT_TRUE(batch.ok()) << batch.status();
      if (!batch->has_value()) break;
      undecodable += (*batch)->undecodable;
      EXPECT_EQ((*batch)->bad_kind, BadKind::kNone);
      for (size_t i = 0; i < (*batch)->events.size(); ++i) {
        const auto& e = (*batch)->events[i];
        seen.push_back(e.ok() ? e->envelope.sku.value() : absl::StrCat("bad@", (*batch)->positions[i].offset));
      }
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"SKU-0", "SKU-1", "SKU-2", "bad@3", "SKU-4", "SKU-5"}));
    EXPECT_EQ(undecodable, 1u);
  }
}

TEST(EventDecoderTest, ReusedAcrossRecordsDecodesEachAsDecodeDoes) {
  ledger::EventDecoder decoder;
  ledger::Event big{ledger::Envelope{}, ledger::ItemCreated{"Widget", "tools", {}, 5, 50}};
  big.envelope.sku = ledger::Sku(std::string(200, 'x'));
  big.envelope.schema_version = ledger::kSchemaVersion;
  big.envelope.command_event_count = 1;
  ledger::Event small{ledger::Envelope{}, ledger::ItemCreated{"Widget", "tools", {}, 5, 50}};
  small.envelope.sku = ledger::Sku("S");
  small.envelope.schema_version = ledger::kSchemaVersion;
  small.envelope.command_event_count = 1;
  for (const ledger::Event& e : {big, small, big}) {
    absl::StatusOr<ledger::Event> reused = decoder.Decode(ledger::Encode(e));
    absl::StatusOr<ledger::Event> fresh = ledger::Decode(ledger::Encode(e));
    ASSERT_TRUE(reused.ok() && fresh.ok());
    EXPECT_EQ(reused->envelope.sku, e.envelope.sku);
    EXPECT_EQ(reused->envelope.sku, fresh->envelope.sku);
  }
  EXPECT_EQ(decoder.Decode("\xff\xff").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ledger_io
