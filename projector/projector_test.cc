// The projector over the in-memory and RocksDB logs: the effect of every
// event type on every view, resume and rebuild, the consistency wait, and a
// property test: random histories projected equal the ledger core's state.
#include "projector/projector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "base/testing/temp_dir.h"
#include "ledger/codec.h"
#include "ledger/decide.h"
#include "ledger/evolve.h"
#include "eventlog/memory_log.h"
#include "eventlog/rocksdb_log.h"
#include "ledger/testing/history_generator.h"
#include "projector/store.h"
#include "rocksdb/write_batch.h"

namespace projector {
namespace {

namespace v1 = inventory::v1;
using namespace std::chrono_literals;
using ledger::AdjustmentReason;
using ledger::Command;
using ledger::OrderId;
using ledger::ReservationId;
using ledger::Sku;
using ledger::WarehouseCode;

// A fresh path (not created) for one store; all of them lie under one
// directory removed when the test binary exits.
std::string TestDir(std::string_view name) {
  static base::TempDir root("projector_test");
  static std::atomic<int> counter{0};
  return (root / absl::StrCat(counter++, "_", std::string(name))).string();
}

auto Deadline(std::chrono::milliseconds ms = 10s) { return std::chrono::steady_clock::now() + ms; }

// Decides commands against a ledger State and appends their events to a log,
// as the command side does.
class History {
 public:
  explicit History(eventlog::EventLog* log, ledger::LedgerOptions options = {}) : log_(log), state_(options) {}

  ledger::Decision Run(ledger::CommandBody body) {
    now_ms_ += std::chrono::seconds{1};
    Command command{{ledger::CommandId(absl::StrCat("cmd-", ++next_)), now_ms_, "tester", ""}, std::move(body)};
    return Run(command);
  }

  ledger::Decision Run(const Command& command) {
    ledger::Decision d = ledger::DecideAndApply(state_, command);
    Append(d.events);
    return d;
  }

  void Append(const std::vector<ledger::Event>& events) {
    if (events.empty()) return;
    std::vector<eventlog::LogRecord> records;
    for (const ledger::Event& e : events) records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    auto positions = log_->Append(records);
    ASSERT_TRUE(positions.ok()) << positions.status();
    last_positions_ = *positions;
  }

  const ledger::State& state() const { return state_; }
  ledger::TimeMs now_ms() const { return now_ms_; }
  void set_now_ms(ledger::TimeMs now) { now_ms_ = now; }
  const std::vector<eventlog::LogPosition>& last_positions() const { return last_positions_; }

 private:
  eventlog::EventLog* log_;
  ledger::State state_;
  ledger::TimeMs now_ms_ = ledger::AtEpochMs(1'700'000'000'000);
  int next_ = 0;
  std::vector<eventlog::LogPosition> last_positions_;
};

std::unique_ptr<eventlog::MemoryLog> NewMemoryLog(uint32_t partitions = 4) {
  auto log = eventlog::MemoryLog::Open({.partition_count = partitions});
  EXPECT_TRUE(log.ok());
  return std::move(*log);
}

std::unique_ptr<Projector> StartProjector(eventlog::EventLog* log, const std::string& path,
                                          ProjectorOptions options = {}) {
  options.path = path;
  auto projector = Projector::Start(log, options);
  EXPECT_TRUE(projector.ok()) << projector.status();
  if (!projector.ok()) return nullptr;
  absl::Status caught_up = (*projector)->WaitCaughtUp(Deadline());
  EXPECT_TRUE(caught_up.ok()) << caught_up;
  return std::move(*projector);
}

v1::StockLevel LevelOf(const Snapshot& s, std::string_view sku, std::string_view wh) {
  auto level = s.Level(sku, wh);
  EXPECT_TRUE(level.ok()) << level.status();
  return level.ok() && level->has_value() ? **level : v1::StockLevel();
}

std::vector<v1::InventoryUpdate> MovementsOf(const Snapshot& s, std::string_view sku) {
  std::vector<v1::InventoryUpdate> out;
  EXPECT_TRUE(s.ForEachMovementOf(sku, 0, 0, "", [&](const v1::InventoryUpdate& u) {
                 out.push_back(u);
                 return true;
               }).ok());
  return out;
}

std::vector<std::string> SetOf(const Snapshot& s, bool low) {
  std::vector<std::string> out;
  auto collect = [&](const std::string& sku) {
    out.push_back(sku);
    return true;
  };
  EXPECT_TRUE((low ? s.ForEachLowStock(collect) : s.ForEachOutOfStock(collect)).ok());
  return out;
}

std::map<std::string, Totals> TotalsMap(absl::StatusOr<std::vector<std::pair<std::string, Totals>>> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  std::map<std::string, Totals> out;
  if (v.ok()) out.insert(v->begin(), v->end());
  return out;
}

class ProjectorViewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = NewMemoryLog();
    history_ = std::make_unique<History>(log_.get());
    ASSERT_TRUE(history_->Run(ledger::RegisterWarehouse{WarehouseCode("WH-A"), "Alpha", "eu", 1, true}).accepted());
    ASSERT_TRUE(history_->Run(ledger::RegisterWarehouse{WarehouseCode("WH-B"), "Beta", "us", 2, true}).accepted());
    ASSERT_TRUE(history_->Run(ledger::CreateItem{Sku("SKU-1"), "Widget", "tools", {{"color", "red"}}, 5, 20})
                    .accepted());
    ASSERT_TRUE(history_->Run(ledger::CreateItem{Sku("SKU-2"), "Gadget", "toys", {}, 0, 0}).accepted());
  }

  std::unique_ptr<eventlog::MemoryLog> log_;
  std::unique_ptr<History> history_;
  std::string path_ = TestDir("views");
};

TEST_F(ProjectorViewsTest, ItemsAndWarehouses) {
  ASSERT_TRUE(history_->Run(ledger::UpdateItem{Sku("SKU-1"), "Widget Pro", "hardware", std::nullopt, 7, std::nullopt})
                  .accepted());
  ASSERT_TRUE(history_->Run(ledger::DiscontinueItem{Sku("SKU-2")}).accepted());
  ASSERT_TRUE(history_->Run(ledger::UpdateWarehouse{WarehouseCode("WH-B"), std::nullopt, "apac", 9, false})
                  .accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto s = projector->NewSnapshot();

  auto item = s->Item("SKU-1");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->name(), "Widget Pro");
  EXPECT_EQ((*item)->category(), "hardware");
  EXPECT_EQ((*item)->reorder_point(), 7);
  EXPECT_EQ((*item)->reorder_quantity(), 20);
  ASSERT_EQ((*item)->attributes_size(), 1);
  EXPECT_EQ((*item)->attributes(0).value(), "red");
  EXPECT_EQ((*item)->status(), v1::ITEM_STATUS_ACTIVE);
  auto gadget = s->Item("SKU-2");
  ASSERT_TRUE(gadget.ok() && gadget->has_value());
  EXPECT_EQ((*gadget)->status(), v1::ITEM_STATUS_DISCONTINUED);
  auto none = s->Item("SKU-9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  std::vector<std::string> skus;
  ASSERT_TRUE(s->ForEachItem("", [&](const v1::Item& i) {
                 skus.push_back(i.sku());
                 return true;
               }).ok());
  EXPECT_EQ(skus, (std::vector<std::string>{"SKU-1", "SKU-2"}));
  skus.clear();
  ASSERT_TRUE(s->ForEachItem("SKU-1", [&](const v1::Item& i) {
                 skus.push_back(i.sku());
                 return true;
               }).ok());
  EXPECT_EQ(skus, (std::vector<std::string>{"SKU-2"}));

  auto wh = s->Warehouse("WH-B");
  ASSERT_TRUE(wh.ok() && wh->has_value());
  EXPECT_EQ((*wh)->name(), "Beta");
  EXPECT_EQ((*wh)->region(), "apac");
  EXPECT_EQ((*wh)->priority(), 9);
  EXPECT_FALSE((*wh)->active());
  int warehouses = 0;
  ASSERT_TRUE(s->ForEachWarehouse([&](const v1::Warehouse&) { return ++warehouses > 0; }).ok());
  EXPECT_EQ(warehouses, 2);
}

TEST_F(ProjectorViewsTest, StockMovementsLevelsTotalsAndHistory) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 100, "PO-1"}).accepted());
  ASSERT_TRUE(history_->Run(ledger::AdjustStock{Sku("SKU-1"), WarehouseCode("WH-A"), -3, AdjustmentReason::kDamage,
                                                "RMA-7"})
                  .accepted());
  ASSERT_TRUE(history_->Run(ledger::CountStock{Sku("SKU-1"), WarehouseCode("WH-A"), 90}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ShipTransfer{ledger::TransferId("T-1"), Sku("SKU-1"), WarehouseCode("WH-A"),
                                                 WarehouseCode("WH-B"), 30})
                  .accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  {
    auto s = projector->NewSnapshot();
    EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 60);
    EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-B").incoming(), 30);
    EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-B").on_hand(), 0);
  }
  ASSERT_TRUE(history_->Run(ledger::ReceiveTransfer{ledger::TransferId("T-1")}).accepted());
  ASSERT_TRUE(projector->WaitCaughtUp(Deadline()).ok());
  auto s = projector->NewSnapshot();
  v1::StockLevel a = LevelOf(*s, "SKU-1", "WH-A");
  v1::StockLevel b = LevelOf(*s, "SKU-1", "WH-B");
  EXPECT_EQ(a.on_hand(), 60);
  EXPECT_EQ(a.available(), 60);
  EXPECT_EQ(b.on_hand(), 30);
  EXPECT_EQ(b.incoming(), 0);
  auto total = s->Total("SKU-1");
  ASSERT_TRUE(total.ok() && total->has_value());
  EXPECT_EQ((*total)->on_hand(), 90);
  EXPECT_EQ((*total)->warehouse(), "");
  std::vector<std::string> per_wh;
  ASSERT_TRUE(s->ForEachLevelOf("SKU-1", [&](const v1::StockLevel& l) {
                 per_wh.push_back(absl::StrCat(l.warehouse(), "=", l.on_hand()));
                 return true;
               }).ok());
  EXPECT_EQ(per_wh, (std::vector<std::string>{"WH-A=60", "WH-B=30"}));

  std::vector<v1::InventoryUpdate> moves = MovementsOf(*s, "SKU-1");
  std::vector<std::string> kinds;
  for (const auto& u : moves) kinds.push_back(absl::StrCat(u.movement().kind(), "@", u.movement().warehouse()));
  EXPECT_EQ(kinds, (std::vector<std::string>{"received@WH-A", "adjusted@WH-A", "counted@WH-A",
                                             "transfer_shipped@WH-A", "transfer_shipped@WH-B",
                                             "transfer_received@WH-B"}));
  ASSERT_EQ(moves.size(), 6u);
  EXPECT_EQ(moves[0].movement().reference(), "PO-1");
  EXPECT_EQ(moves[0].movement().actor(), "tester");
  EXPECT_EQ(moves[0].movement().resulting().on_hand(), 100);
  EXPECT_EQ(moves[1].movement().reason(), v1::ADJUSTMENT_REASON_DAMAGE);
  EXPECT_EQ(moves[1].movement().delta_on_hand(), -3);
  EXPECT_EQ(moves[1].movement().reference(), "RMA-7");
  EXPECT_EQ(moves[2].movement().delta_on_hand(), -7);
  EXPECT_EQ(moves[2].movement().resulting().on_hand(), 90);
  EXPECT_EQ(moves[3].movement().reference(), "T-1");
  EXPECT_EQ(moves[4].movement().delta_incoming(), 30);
  EXPECT_EQ(moves[4].movement_index(), 1u);
  EXPECT_EQ(moves[5].movement().resulting().on_hand(), 30);
  EXPECT_EQ(moves[0].movement().event_id().size(), 16u);

  // Time range and cursor: since the count, then page after the first.
  int64_t count_time = moves[2].movement().occurred_at_ms();
  std::vector<v1::InventoryUpdate> ranged;
  ASSERT_TRUE(s->ForEachMovementOf("SKU-1", count_time, moves[5].movement().occurred_at_ms(), "",
                                   [&](const v1::InventoryUpdate& u) {
                                     ranged.push_back(u);
                                     return true;
                                   }).ok());
  ASSERT_EQ(ranged.size(), 3u);  // counted and both transfer_shipped; received-transfer is at until_ms
  std::vector<v1::InventoryUpdate> paged;
  ASSERT_TRUE(s->ForEachMovementOf("SKU-1", 0, 0, MovementCursor(moves[3]), [&](const v1::InventoryUpdate& u) {
                 paged.push_back(u);
                 return true;
               }).ok());
  ASSERT_EQ(paged.size(), 2u);
  EXPECT_EQ(paged[0].movement_index(), 1u);
  EXPECT_FALSE(s->ForEachMovementOf("SKU-1", 0, 0, "SKU-2", [](const auto&) { return true; }).ok());

  // Updates by position: the SKU's partition, from the transfer on.
  uint32_t partition = moves[3].position().partition();
  std::vector<v1::InventoryUpdate> from;
  ASSERT_TRUE(s->ForEachUpdateFrom(partition, moves[3].position().offset(), [&](const v1::InventoryUpdate& u) {
                 if (u.movement().sku() == "SKU-1") from.push_back(u);
                 return true;
               }).ok());
  EXPECT_EQ(from.size(), 3u);

  auto by_wh = TotalsMap(s->WarehouseTotals());
  EXPECT_EQ(by_wh["WH-A"].on_hand, 60);
  EXPECT_EQ(by_wh["WH-B"].on_hand, 30);
  EXPECT_EQ(by_wh["WH-B"].incoming, 0);
  auto by_cat = TotalsMap(s->CategoryTotals());
  EXPECT_EQ(by_cat["tools"].on_hand, 90);
}

TEST_F(ProjectorViewsTest, ReservationsCountsAndStockSets) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-2"), WarehouseCode("WH-B"), 4, ""}).accepted());
  auto reserve = [&](std::string id, std::string order, std::vector<ledger::ReserveLine> lines, int64_t ttl_ms) {
    ledger::Reserve r{ReservationId(id), OrderId(order), std::move(lines), ledger::DurationMs{ttl_ms}};
    return history_->Run(r).accepted();
  };
  ASSERT_TRUE(reserve("R-1", "O-1", {{Sku("SKU-1"), 3, WarehouseCode("WH-A")}, {Sku("SKU-2"), 1, WarehouseCode()}},
                      60'000));
  ASSERT_TRUE(reserve("R-2", "O-1", {{Sku("SKU-1"), 2, WarehouseCode()}}, 60'000));
  ASSERT_TRUE(reserve("R-3", "O-2", {{Sku("SKU-1"), 1, WarehouseCode()}}, 5'000));
  ASSERT_TRUE(reserve("R-4", "O-3", {{Sku("SKU-2"), 3, WarehouseCode()}}, 60'000));
  ASSERT_TRUE(history_->Run(ledger::CommitReservation{ReservationId("R-1")}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ReleaseReservation{ReservationId("R-2"), ledger::ReleaseReason::kPaymentFailed})
                  .accepted());
  history_->set_now_ms(history_->now_ms() + std::chrono::seconds{10});
  ASSERT_TRUE(history_->Run(ledger::ExpireReservation{ReservationId("R-3")}).accepted());

  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto s = projector->NewSnapshot();
  auto r1 = s->Reservation("R-1");
  ASSERT_TRUE(r1.ok() && r1->has_value());
  EXPECT_EQ((*r1)->status(), v1::RESERVATION_STATUS_COMMITTED);
  EXPECT_EQ((*r1)->order_id(), "O-1");
  ASSERT_EQ((*r1)->allocations_size(), 2);
  EXPECT_EQ((*r1)->allocations(1).warehouse(), "WH-B");
  EXPECT_EQ((*r1)->allocations(1).status(), v1::RESERVATION_STATUS_COMMITTED);
  EXPECT_GT((*r1)->resolved_at_ms(), 0);
  auto status_of = [&](std::string id) {
    auto r = s->Reservation(id);
    return r.ok() && r->has_value() ? (*r)->status() : v1::RESERVATION_STATUS_UNSPECIFIED;
  };
  EXPECT_EQ(status_of("R-2"), v1::RESERVATION_STATUS_RELEASED);
  EXPECT_EQ(status_of("R-3"), v1::RESERVATION_STATUS_EXPIRED);
  EXPECT_EQ(status_of("R-4"), v1::RESERVATION_STATUS_ACTIVE);

  std::vector<std::string> of_order;
  ASSERT_TRUE(s->ForEachReservationOfOrder("O-1", "", [&](const v1::Reservation& r) {
                 of_order.push_back(r.reservation_id());
                 return true;
               }).ok());
  EXPECT_EQ(of_order, (std::vector<std::string>{"R-1", "R-2"}));
  of_order.clear();
  ASSERT_TRUE(s->ForEachReservationOfOrder("O-1", "R-1", [&](const v1::Reservation& r) {
                 of_order.push_back(r.reservation_id());
                 return true;
               }).ok());
  EXPECT_EQ(of_order, (std::vector<std::string>{"R-2"}));

  auto counts = s->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (ReservationCounts{.active = 1, .committed = 1, .released = 1, .expired = 1}));

  // SKU-1: 10 received, 3 committed (shipped) -> on_hand 7, nothing reserved.
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 7);
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").reserved(), 0);
  // SKU-2: 4 received, 1 committed, 3 reserved by R-4 -> available 0.
  EXPECT_EQ(LevelOf(*s, "SKU-2", "WH-B").on_hand(), 3);
  EXPECT_EQ(LevelOf(*s, "SKU-2", "WH-B").reserved(), 3);
  // SKU-1 (reorder point 5, available 7) is fine; SKU-2 (point 0, available 0) is out, not low
  // (ledger/stock_rules.h: out of stock is its own state).
  EXPECT_TRUE(SetOf(*s, /*low=*/true).empty());
  EXPECT_EQ(SetOf(*s, /*low=*/false), (std::vector<std::string>{"SKU-2"}));
  std::vector<v1::InventoryUpdate> moves = MovementsOf(*s, "SKU-2");
  ASSERT_FALSE(moves.empty());
  EXPECT_TRUE(moves.back().out_of_stock());
  EXPECT_FALSE(moves.back().low_stock());

  // Releasing R-4 puts SKU-2 back in stock; discontinuing SKU-1 takes it off the lists.
  ASSERT_TRUE(history_->Run(ledger::ReleaseReservation{ReservationId("R-4"), ledger::ReleaseReason::kCancelled})
                  .accepted());
  ASSERT_TRUE(history_->Run(ledger::AdjustStock{Sku("SKU-1"), WarehouseCode("WH-A"), -4, AdjustmentReason::kLoss, ""})
                  .accepted());
  ASSERT_TRUE(projector->WaitCaughtUp(Deadline()).ok());
  s = projector->NewSnapshot();
  EXPECT_EQ(SetOf(*s, true), (std::vector<std::string>{"SKU-1"}));  // available 3 <= 5
  EXPECT_TRUE(SetOf(*s, false).empty());
  ASSERT_TRUE(history_->Run(ledger::DiscontinueItem{Sku("SKU-1")}).accepted());
  ASSERT_TRUE(projector->WaitCaughtUp(Deadline()).ok());
  s = projector->NewSnapshot();
  EXPECT_TRUE(SetOf(*s, true).empty());
  counts = s->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->active, 0);
  EXPECT_EQ(counts->released, 2);
}

TEST_F(ProjectorViewsTest, PartialCommitShipsSomeAndReleasesTheRest) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-2"), WarehouseCode("WH-B"), 4, ""}).accepted());
  ledger::Reserve reserve{ReservationId("R-P"), OrderId("O-P"),
                          {{Sku("SKU-1"), 6, WarehouseCode("WH-A")}, {Sku("SKU-2"), 2, WarehouseCode("WH-B")}},
                          ledger::DurationMs{60'000}};
  ASSERT_TRUE(history_->Run(reserve).accepted());
  ledger::CommitReservation partial{ReservationId("R-P"), {{.request_line = 0, .quantity = 4}}};
  ASSERT_TRUE(history_->Run(partial).accepted());

  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto s = projector->NewSnapshot();
  auto r = s->Reservation("R-P");
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status(), v1::RESERVATION_STATUS_COMMITTED);
  ASSERT_EQ((*r)->allocations_size(), 2);
  EXPECT_EQ((*r)->allocations(0).quantity(), 6);
  EXPECT_EQ((*r)->allocations(0).released_quantity(), 2);
  EXPECT_EQ((*r)->allocations(1).released_quantity(), 2);
  EXPECT_EQ((*r)->allocations(1).status(), v1::RESERVATION_STATUS_COMMITTED);
  // 4 of SKU-1 left; the other 2 and both of SKU-2 are available again.
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 6);
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").reserved(), 0);
  EXPECT_EQ(LevelOf(*s, "SKU-2", "WH-B").on_hand(), 4);
  EXPECT_EQ(LevelOf(*s, "SKU-2", "WH-B").available(), 4);
  std::vector<v1::InventoryUpdate> moves = MovementsOf(*s, "SKU-1");
  ASSERT_FALSE(moves.empty());
  EXPECT_EQ(moves.back().movement().kind(), "committed");
  EXPECT_EQ(moves.back().movement().delta_on_hand(), -4);
  EXPECT_EQ(moves.back().movement().delta_reserved(), -6);
  auto counts = s->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->committed, 1);
}

TEST_F(ProjectorViewsTest, SalesBlocksInTheItemRowAndTheReport) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::BlockSales{Sku("SKU-1"), WarehouseCode("WH-B"), "audit"}).accepted());
  ASSERT_TRUE(history_->Run(ledger::BlockSales{Sku("SKU-1"), WarehouseCode(), "recall"}).accepted());
  ASSERT_TRUE(history_->Run(ledger::BlockSales{Sku("SKU-2"), WarehouseCode("WH-A"), "shelf"}).accepted());
  // Blocked and lifted inside one batch: the report row ends deleted.
  ASSERT_TRUE(history_->Run(ledger::BlockSales{Sku("SKU-2"), WarehouseCode("WH-B"), "brief"}).accepted());
  ASSERT_TRUE(history_->Run(ledger::UnblockSales{Sku("SKU-2"), WarehouseCode("WH-B")}).accepted());

  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto s = projector->NewSnapshot();
  auto item = s->Item("SKU-1");
  ASSERT_TRUE(item.ok() && item->has_value());
  ASSERT_EQ((*item)->sales_blocks_size(), 2);
  EXPECT_EQ((*item)->sales_blocks(0).warehouse(), "") << "the everywhere block first";
  EXPECT_EQ((*item)->sales_blocks(0).reason(), "recall");
  EXPECT_EQ((*item)->sales_blocks(0).actor(), "tester");
  EXPECT_GT((*item)->sales_blocks(0).blocked_at_ms(), 0);
  EXPECT_EQ((*item)->sales_blocks(1).warehouse(), "WH-B");
  std::vector<std::string> report;
  ASSERT_TRUE(s->ForEachSalesBlock([&](const v1::SalesBlock& b) {
                 report.push_back(b.sku() + "@" + b.warehouse() + ":" + b.reason());
                 return true;
               }).ok());
  EXPECT_EQ(report, (std::vector<std::string>{"SKU-1@:recall", "SKU-1@WH-B:audit", "SKU-2@WH-A:shelf"}));
  // A block moves no level and records no movement.
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 10);
  EXPECT_EQ(MovementsOf(*s, "SKU-1").size(), 1u);

  ASSERT_TRUE(history_->Run(ledger::UnblockSales{Sku("SKU-1"), WarehouseCode()}).accepted());
  ASSERT_TRUE(projector->WaitCaughtUp(Deadline()).ok());
  s = projector->NewSnapshot();
  item = s->Item("SKU-1");
  ASSERT_TRUE(item.ok() && item->has_value());
  ASSERT_EQ((*item)->sales_blocks_size(), 1);
  EXPECT_EQ((*item)->sales_blocks(0).warehouse(), "WH-B");
  report.clear();
  ASSERT_TRUE(s->ForEachSalesBlock([&](const v1::SalesBlock& b) {
                 report.push_back(b.sku() + "@" + b.warehouse());
                 return true;
               }).ok());
  EXPECT_EQ(report, (std::vector<std::string>{"SKU-1@WH-B", "SKU-2@WH-A"}));
  EXPECT_EQ(projector->stats().anomalies, 0u);
}

TEST_F(ProjectorViewsTest, CategoryChangeMovesTotals) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-2"), WarehouseCode("WH-A"), 5, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::UpdateItem{Sku("SKU-1"), std::nullopt, "toys", std::nullopt, std::nullopt,
                                               std::nullopt})
                  .accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto by_cat = TotalsMap(projector->NewSnapshot()->CategoryTotals());
  EXPECT_EQ(by_cat["toys"].on_hand, 15);
  EXPECT_EQ(by_cat["tools"].on_hand, 0);
}

TEST_F(ProjectorViewsTest, ListenersSeeDurableUpdatesInOrder) {
  // Declared before the projector, so they outlive its listener calls.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<AppliedBatch> seen;
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto id = projector->AddListener([&](const AppliedBatch& b) {
    std::lock_guard lock(mu);
    seen.push_back(b);
    cv.notify_all();
  });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 5, ""}).accepted());
  std::vector<eventlog::LogPosition> last = history_->last_positions();
  ASSERT_TRUE(projector->WaitApplied(last, Deadline()).ok());
  {
    // The listener call follows applied(); wait for the one covering `last`.
    std::unique_lock lock(mu);
    cv.wait_until(lock, Deadline(), [&] {
      return !seen.empty() && seen.back().applied[last[0].partition] > last[0].offset;
    });
  }
  projector->RemoveListener(*id);
  std::vector<int64_t> on_hand;
  base::NextOffsets last_applied;
  {
    std::lock_guard lock(mu);
    for (const AppliedBatch& b : seen) {
      for (const auto& u : b.updates) on_hand.push_back(u.movement().resulting().on_hand());
      EXPECT_EQ(b.applied.size(), 4u);
      if (!last_applied.empty()) {
        for (size_t p = 0; p < 4; ++p) EXPECT_GE(b.applied[p], last_applied[p]) << "applied went backwards";
      }
      last_applied = b.applied;
    }
  }
  EXPECT_EQ(on_hand, (std::vector<int64_t>{10, 15}));
  EXPECT_EQ(last_applied, projector->applied());
}

TEST_F(ProjectorViewsTest, ListenerCountIsBounded) {
  ProjectorOptions options;
  options.listeners_max = 2;
  auto projector = StartProjector(log_.get(), path_, options);
  ASSERT_NE(projector, nullptr);
  ASSERT_TRUE(projector->AddListener([](const AppliedBatch&) {}).ok());
  auto second = projector->AddListener([](const AppliedBatch&) {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(projector->AddListener([](const AppliedBatch&) {}).status().code(), absl::StatusCode::kResourceExhausted);
  projector->RemoveListener(*second);
  EXPECT_TRUE(projector->AddListener([](const AppliedBatch&) {}).ok());
}

TEST_F(ProjectorViewsTest, WaitAppliedTimesOutNamingTheLag) {
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  std::vector<eventlog::LogPosition> future = {{0, 1'000'000}};
  absl::Status s = projector->WaitApplied(future, Deadline(50ms));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("behind"), std::string::npos) << s;
  std::vector<eventlog::LogPosition> bad = {{99, 0}};
  EXPECT_EQ(projector->WaitApplied(bad, Deadline(50ms)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(projector->lag().events, 0u);
}

TEST_F(ProjectorViewsTest, ResumesFromStoredPositionWithoutDoubleApplying) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  {
    auto projector = StartProjector(log_.get(), path_);
    ASSERT_NE(projector, nullptr);
  }
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 5, ""}).accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  auto s = projector->NewSnapshot();
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 15);
  EXPECT_EQ(MovementsOf(*s, "SKU-1").size(), 2u);
  EXPECT_EQ(projector->stats().events_applied, 1u);  // only the new one this time
}

TEST_F(ProjectorViewsTest, RebuildAndSchemaChangeFoldAgainFromZero) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  {
    auto projector = StartProjector(log_.get(), path_);
    ASSERT_NE(projector, nullptr);
  }
  {
    ProjectorOptions options;
    options.rebuild = true;
    auto projector = StartProjector(log_.get(), path_, options);
    ASSERT_NE(projector, nullptr);
    EXPECT_GT(projector->stats().events_applied, 0u);
    EXPECT_EQ(LevelOf(*projector->NewSnapshot(), "SKU-1", "WH-A").on_hand(), 10);
  }
  {
    // An older schema version on disk.
    auto store = Store::OpenStore({.path = path_, .partition_count = 4}, OpenMode::kReadWrite);
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch batch;
    batch.Put((*store)->handle(Cf::kMeta), "schema", std::string("\0\0\0\0", 4));
    ASSERT_TRUE((*store)->Write(batch, {}).ok());
  }
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  EXPECT_GT(projector->stats().events_applied, 0u);
  EXPECT_EQ(LevelOf(*projector->NewSnapshot(), "SKU-1", "WH-A").on_hand(), 10);
  EXPECT_EQ(MovementsOf(*projector->NewSnapshot(), "SKU-1").size(), 1u);
}

TEST_F(ProjectorViewsTest, RefusesViewsOfAnotherPartitionCount) {
  { ASSERT_NE(StartProjector(log_.get(), path_), nullptr); }
  auto other = NewMemoryLog(8);
  auto projector = Projector::Start(other.get(), {.path = path_});
  EXPECT_EQ(projector.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProjectorViewsTest, UndecodableRecordIsSkippedAndCounted) {
  std::vector<eventlog::LogRecord> junk = {{"SKU-1", "not an event"}};
  ASSERT_TRUE(log_->Append(junk).ok());
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  EXPECT_EQ(projector->stats().anomalies, 1u);
  EXPECT_TRUE(projector->health().ok());
  EXPECT_EQ(LevelOf(*projector->NewSnapshot(), "SKU-1", "WH-A").on_hand(), 10);
}

TEST_F(ProjectorViewsTest, SecondaryReaderSeesThePrimarysViews) {
  ASSERT_TRUE(history_->Run(ledger::ReceiveStock{Sku("SKU-1"), WarehouseCode("WH-A"), 10, ""}).accepted());
  auto projector = StartProjector(log_.get(), path_);
  ASSERT_NE(projector, nullptr);
  EXPECT_EQ(projector->NewSnapshot()->applied(), projector->applied());
  auto reader = ReadModels::Open({.path = path_, .partition_count = 4, .secondary_path = TestDir("secondary")},
                                 OpenMode::kSecondary);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Refresh().ok());
  auto s = (*reader)->NewSnapshot();
  EXPECT_EQ(LevelOf(*s, "SKU-1", "WH-A").on_hand(), 10);
  int levels = 0;
  absl::Status scanned = s->ForEachLevel([&](const v1::StockLevel&) { return ++levels > 0; });
  ASSERT_TRUE(scanned.ok()) << scanned;
  EXPECT_EQ(levels, 1);
  EXPECT_EQ(s->applied(), projector->applied());
}

// Compares every view with the ledger core's own state after a history.
void ExpectViewsEqualState(const Snapshot& s, const ledger::State& state) {
  std::map<std::string, Totals> expect_wh, expect_cat;
  int64_t levels_seen = 0;
  std::vector<std::string> expect_blocks, view_blocks;
  ASSERT_TRUE(s.ForEachSalesBlock([&](const v1::SalesBlock& b) {
                 view_blocks.push_back(absl::StrCat(b.sku(), "@", b.warehouse(), ":", b.reason(), "/", b.actor()));
                 return true;
               }).ok());
  for (const ledger::ItemState& item : state.items()) {
    const std::string& sku = item.sku.value();
    auto view_item = s.Item(sku);
    ASSERT_TRUE(view_item.ok());
    ASSERT_EQ(view_item->has_value(), item.created) << sku;
    for (const ledger::SalesBlock& b : item.sales_blocks) {
      expect_blocks.push_back(absl::StrCat(sku, "@", b.warehouse.value(), ":", b.reason, "/", b.actor));
    }
    if (item.created) {
      ASSERT_EQ((*view_item)->sales_blocks_size(), static_cast<int>(item.sales_blocks.size())) << sku;
      for (size_t i = 0; i < item.sales_blocks.size(); ++i) {
        const v1::SalesBlock& vb = (*view_item)->sales_blocks(static_cast<int>(i));
        EXPECT_EQ(vb.warehouse(), item.sales_blocks[i].warehouse.value()) << sku;
        EXPECT_EQ(vb.reason(), item.sales_blocks[i].reason) << sku;
        EXPECT_EQ(vb.blocked_at_ms(), ledger::EpochMs(item.sales_blocks[i].blocked_at_ms)) << sku;
      }
      EXPECT_EQ((*view_item)->category(), item.category) << sku;
      EXPECT_EQ((*view_item)->reorder_point(), item.reorder_point) << sku;
      EXPECT_EQ((*view_item)->status() == v1::ITEM_STATUS_DISCONTINUED,
                item.status == ledger::ItemStatus::kDiscontinued)
          << sku;
    }
    ledger::StockLevel total = state.TotalLevel(item.sku);
    for (const ledger::LevelEntry& e : item.levels) {
      const std::string& wh = state.warehouse(e.warehouse).code.value();
      v1::StockLevel v = LevelOf(s, sku, wh);
      EXPECT_EQ(v.on_hand(), e.level.on_hand) << sku << "@" << wh;
      EXPECT_EQ(v.reserved(), e.level.reserved) << sku << "@" << wh;
      EXPECT_EQ(v.incoming(), e.level.incoming) << sku << "@" << wh;
      Totals& w = expect_wh[wh];
      w.on_hand += e.level.on_hand;
      w.reserved += e.level.reserved;
      w.incoming += e.level.incoming;
      Totals& c = expect_cat[item.category];
      c.on_hand += e.level.on_hand;
      c.reserved += e.level.reserved;
      c.incoming += e.level.incoming;
      ++levels_seen;
    }
    auto view_total = s.Total(sku);
    ASSERT_TRUE(view_total.ok());
    if (!item.levels.empty()) {
      ASSERT_TRUE(view_total->has_value()) << sku;
      EXPECT_EQ((*view_total)->on_hand(), total.on_hand) << sku;
      EXPECT_EQ((*view_total)->reserved(), total.reserved) << sku;
      EXPECT_EQ((*view_total)->incoming(), total.incoming) << sku;
    }
  }
  int64_t view_levels = 0;
  ASSERT_TRUE(s.ForEachLevel([&](const v1::StockLevel&) { return ++view_levels > 0; }).ok());
  EXPECT_EQ(view_levels, levels_seen);
  auto wh_totals = TotalsMap(s.WarehouseTotals());
  for (const auto& [code, t] : expect_wh) EXPECT_EQ(wh_totals[code], t) << code;
  auto cat_totals = TotalsMap(s.CategoryTotals());
  for (const auto& [cat, t] : expect_cat) EXPECT_EQ(cat_totals[cat], t) << cat;

  ReservationCounts expect_counts;
  for (const auto& [id, r] : state.reservations()) {
    auto view = s.Reservation(id);
    ASSERT_TRUE(view.ok() && view->has_value()) << id;
    EXPECT_EQ(static_cast<int>((*view)->status()), static_cast<int>(r.status()) + 1) << id;
    EXPECT_EQ((*view)->order_id(), r.order_id.value());
    EXPECT_EQ((*view)->expires_at_ms(), ledger::EpochMs(r.expires_at_ms)) << id << " (extensions move it later)";
    ASSERT_EQ((*view)->allocations_size(), static_cast<int>(r.allocations.size()));
    for (size_t i = 0; i < r.allocations.size(); ++i) {
      EXPECT_EQ((*view)->allocations(static_cast<int>(i)).quantity(), r.allocations[i].quantity) << id;
      EXPECT_EQ((*view)->allocations(static_cast<int>(i)).released_quantity(), r.allocations[i].released) << id;
    }
    switch (r.status()) {
      case ledger::ReservationStatus::kActive: ++expect_counts.active; break;
      case ledger::ReservationStatus::kCommitted: ++expect_counts.committed; break;
      case ledger::ReservationStatus::kReleased: ++expect_counts.released; break;
      case ledger::ReservationStatus::kExpired: ++expect_counts.expired; break;
    }
  }
  auto counts = s.Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, expect_counts);
  std::sort(expect_blocks.begin(), expect_blocks.end());
  EXPECT_EQ(view_blocks, expect_blocks) << "the report's blocks, in (SKU, warehouse) order";
}

TEST(ProjectorPropertyTest, RandomHistoriesProjectToTheLedgersState) {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    auto log = NewMemoryLog(4);
    ledger::LedgerOptions options;  // large bounds: nothing resolved is forgotten
    options.resolved_kept_max = 1'000'000;
    options.resolved_kept_age_max_ms = ledger::DurationMs::max() / 4;
    History history(log.get(), options);
    ledger::test_support::HistoryGenerator generator(seed);
    ProjectorOptions projector_options;
    projector_options.batch_events_max = 64;  // many batches
    projector_options.cache_entries_max = 50;  // and cache trims
    projector_options.path = TestDir("property");
    auto projector = Projector::Start(log.get(), projector_options);
    ASSERT_TRUE(projector.ok()) << projector.status();
    ledger::TimeMs now = history.now_ms();
    for (int step = 0; step < 3000; ++step) {
      now += std::chrono::milliseconds{200};
      history.set_now_ms(now);
      Command command = generator.Next(history.state(), now);
      history.Run(command);
      for (const ReservationId& id : history.state().ExpiredBy(now, 10)) {
        history.Run(Command{{ledger::CommandId(absl::StrCat("expire/", id.value())), now, "timer", ""},
                            ledger::ExpireReservation{id}});
      }
    }
    ASSERT_TRUE((*projector)->WaitCaughtUp(Deadline()).ok());
    EXPECT_EQ((*projector)->stats().anomalies, 0u);
    ExpectViewsEqualState(*(*projector)->NewSnapshot(), history.state());

    // A fresh rebuild over the same log holds the same rows, entry by entry.
    std::string live_path = projector_options.path;
    (*projector)->Stop();
    projector->reset();
    std::string fresh_path = TestDir("fresh");
    auto fresh = StartProjector(log.get(), fresh_path, {.batch_events_max = 10'000});
    ASSERT_NE(fresh, nullptr);
    fresh->Stop();
    fresh.reset();
    auto a = Store::OpenStore({.path = live_path, .partition_count = 4}, OpenMode::kReadWrite);
    auto b = Store::OpenStore({.path = fresh_path, .partition_count = 4}, OpenMode::kReadWrite);
    ASSERT_TRUE(a.ok() && b.ok());
    auto dump_a = (*a)->DumpViews();
    auto dump_b = (*b)->DumpViews();
    ASSERT_TRUE(dump_a.ok() && dump_b.ok());
    EXPECT_EQ(dump_a->size(), dump_b->size());
    EXPECT_TRUE(*dump_a == *dump_b);
  }
}

TEST(ProjectorRocksDbLogTest, FoldsTheEmbeddedLogAndFollowsNewAppends) {
  std::string log_path = TestDir("log");
  auto log = eventlog::RocksDbLog::Open({.path = log_path, .partition_count = 4});
  ASSERT_TRUE(log.ok()) << log.status();
  History history(log->get());
  ASSERT_TRUE(history.Run(ledger::RegisterWarehouse{WarehouseCode("W"), "W", "eu", 1, true}).accepted());
  ASSERT_TRUE(history.Run(ledger::CreateItem{Sku("S"), "S", "c", {}, 0, 0}).accepted());
  ASSERT_TRUE(history.Run(ledger::ReceiveStock{Sku("S"), WarehouseCode("W"), 7, ""}).accepted());
  auto projector = StartProjector(log->get(), TestDir("views"));
  ASSERT_NE(projector, nullptr);
  EXPECT_EQ(LevelOf(*projector->NewSnapshot(), "S", "W").on_hand(), 7);
  ASSERT_TRUE(history.Run(ledger::ReceiveStock{Sku("S"), WarehouseCode("W"), 3, ""}).accepted());
  ASSERT_TRUE(projector->WaitApplied(history.last_positions(), Deadline()).ok());
  EXPECT_EQ(LevelOf(*projector->NewSnapshot(), "S", "W").on_hand(), 10);
  projector.reset();
}

}  // namespace
}  // namespace projector
