#include "replay/fold.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "eventlog/rocksdb_log.h"
#include "replay/format.h"
#include "replay/test_history.h"

namespace replay {
namespace {

using ::testing::HasSubstr;
using testing::HistoryGenerator;
using testing::RenderStock;

class FoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenTestLog(dir_, 4);
    history_ = std::make_unique<HistoryGenerator>(log_.get());
  }

  // Appends a forged event of `sku` directly to the log.
  eventlog::LogPosition AppendForged(ledger::EventPayload payload, const std::string& sku = "SKU-0") {
    ledger::Event e;
    e.envelope.event_id = {0xf0f0, 0x1234};
    e.envelope.schema_version = 1;
    e.envelope.occurred_at_ms = history_->now_ms() + ledger::DurationMs{1};
    e.envelope.command_id = ledger::CommandId("forged");
    e.envelope.command_event_count = 1;
    e.envelope.sku = ledger::Sku(sku);
    e.payload = std::move(payload);
    auto positions = log_->Append(std::vector<eventlog::LogRecord>{{ledger::PartitionKey(e), ledger::Encode(e)}});
    EXPECT_TRUE(positions.ok()) << positions.status();
    return positions->front();
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<HistoryGenerator> history_;
};

TEST_F(FoldTest, WholeLogEqualsTheWritersState) {
  history_->Generate(600, 0);
  Folder folder;
  ASSERT_TRUE(folder.Run(*log_, {}).ok());
  EXPECT_EQ(folder.result().violations_total, 0u);
  EXPECT_EQ(folder.result().events_applied, history_->events().size());
  EXPECT_EQ(RenderStock(folder.state()), RenderStock(history_->state()));
  for (const ledger::ItemState& item : history_->state().items()) {
    EXPECT_EQ(folder.state().TotalLevel(item.sku), history_->state().TotalLevel(item.sku)) << item.sku.value();
  }
}

TEST_F(FoldTest, AsOfTimeAndPositionEqualTheStatesRecordedWhileGenerating) {
  history_->Generate(600, 60);
  ASSERT_EQ(history_->checkpoints().size(), 10u);
  for (const testing::Checkpoint& cp : history_->checkpoints()) {
    SCOPED_TRACE("checkpoint at " + FormatTime(cp.time_ms));
    const std::string expected = RenderStock(cp.state);
    for (ledger::TimeMs t : {cp.time_ms, cp.time_ms + ledger::DurationMs{999}}) {  // commands are 1 s apart
      Folder by_time;
      FoldBounds bounds;
      bounds.until_time_ms = t;
      ASSERT_TRUE(by_time.Run(*log_, bounds).ok());
      EXPECT_EQ(by_time.result().violations_total, 0u);
      EXPECT_EQ(RenderStock(by_time.state()), expected);
    }
    Folder by_position;
    FoldBounds bounds;
    absl::StatusOr<base::NextOffsets> until = ParsePositions(cp.last_positions, 4);
    ASSERT_TRUE(until.ok()) << until.status();
    EXPECT_EQ(*until, cp.bounds);
    bounds.until_offsets = *until;
    ASSERT_TRUE(by_position.Run(*log_, bounds).ok());
    EXPECT_EQ(RenderStock(by_position.state()), expected);
  }
  // Just before the first checkpoint's command: differs from it.
  Folder before;
  FoldBounds bounds;
  bounds.until_time_ms = history_->checkpoints()[1].time_ms - std::chrono::seconds{1};
  ASSERT_TRUE(before.Run(*log_, bounds).ok());
  EXPECT_NE(RenderStock(before.state()), RenderStock(history_->checkpoints()[1].state));
}

TEST_F(FoldTest, InvariantBreakingEventIsReportedWithPositionAndIdAndNotApplied) {
  history_->Generate(200, 0);
  const eventlog::LogPosition forged =
      AppendForged(ledger::StockAdjusted{ledger::WarehouseCode("WH-A"), -1'000'000, ledger::AdjustmentReason::kLoss, ""});
  Folder folder;
  ASSERT_TRUE(folder.Run(*log_, {}).ok());
  ASSERT_EQ(folder.result().violations_total, 1u);
  const Violation& v = folder.result().violations.front();
  EXPECT_EQ(v.kind, ViolationKind::kRefusedByFold);
  EXPECT_EQ(v.position, forged);
  EXPECT_EQ(v.event_id, (ledger::EventId{0xf0f0, 0x1234}).ToHex());
  EXPECT_THAT(v.what, HasSubstr("SKU-0@WH-A would hold on_hand="));
  EXPECT_EQ(RenderStock(folder.state()), RenderStock(history_->state())) << "the refused event changed nothing";
}

TEST_F(FoldTest, SecondResolutionOfAReservationIsAViolation) {
  history_->Generate(0, 0);
  ledger::Reserve r;
  r.reservation_id = ledger::ReservationId("R-twice");
  r.order_id = ledger::OrderId("O-twice");
  r.lines.push_back({HistoryGenerator::Sku(0), 1, ledger::WarehouseCode("WH-A")});
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{HistoryGenerator::Sku(0), ledger::WarehouseCode("WH-A"), 10, ""}));
  ASSERT_TRUE(history_->Run(std::move(r)));
  ASSERT_TRUE(history_->Run(ledger::CommitReservation{ledger::ReservationId("R-twice")}));
  const eventlog::LogPosition forged =
      AppendForged(ledger::ReservationReleased{ledger::ReservationId("R-twice"), ledger::WarehouseCode("WH-A"), 1, 0,
                                               ledger::ReleaseReason::kCancelled});
  Folder folder;
  ASSERT_TRUE(folder.Run(*log_, {}).ok());
  ASSERT_EQ(folder.result().violations_total, 1u);
  EXPECT_EQ(folder.result().violations[0].position, forged);
  EXPECT_THAT(folder.result().violations[0].what, HasSubstr("R-twice#0 resolved twice"));
}

TEST_F(FoldTest, UndecodableRecordIsAViolationAndTheFoldGoesOn) {
  history_->Generate(50, 0);
  auto bad = log_->Append(std::vector<eventlog::LogRecord>{{"SKU-3", "\xff\xfe not an event"}});
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{HistoryGenerator::Sku(3), ledger::WarehouseCode("WH-B"), 7, ""}));
  Folder folder;
  ASSERT_TRUE(folder.Run(*log_, {}).ok());
  ASSERT_EQ(folder.result().violations_total, 1u);
  EXPECT_EQ(folder.result().violations[0].kind, ViolationKind::kUndecodable);
  EXPECT_EQ(folder.result().violations[0].position, bad->front());
  EXPECT_EQ(RenderStock(folder.state()), RenderStock(history_->state())) << "events after it were folded";
}

TEST_F(FoldTest, OnePartitionHoldsAllOfASkusHistory) {
  history_->Generate(400, 0);
  const ledger::Sku sku = HistoryGenerator::Sku(5);
  Folder folder([&] {
    FoldOptions options;
    options.read_batch_records = 7;  // many batches through the pipeline
    return options;
  }());
  FoldBounds bounds;
  bounds.partitions = {eventlog::PartitionFor(sku.value(), 4)};
  ASSERT_TRUE(folder.Run(*log_, bounds).ok());
  EXPECT_EQ(folder.result().violations_total, 0u);
  for (const char* wh : {"WH-A", "WH-B"}) {
    EXPECT_EQ(folder.state().Level(sku, ledger::WarehouseCode(wh)),
              history_->state().Level(sku, ledger::WarehouseCode(wh)));
  }
}

TEST_F(FoldTest, BoundsThatDoNotFitTheLogAreRefused) {
  Folder folder;
  FoldBounds bounds;
  bounds.until_offsets = base::NextOffsets{1, 2};
  EXPECT_EQ(folder.Run(*log_, bounds).code(), absl::StatusCode::kInvalidArgument);
  FoldBounds partitions;
  partitions.partitions = {9};
  EXPECT_EQ(Folder().Run(*log_, partitions).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace replay
