// The audit against a fake read-models snapshot built from a folded state
// (a projector that is right by construction), then broken on purpose. The
// audit against the real projector's views is in tests/inventoryctl_test.cc.
#include "replay/audit.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/codec.h"
#include "ledger/stock_rules.h"
#include "eventlog/rocksdb_log.h"
#include "replay/test_history.h"

namespace replay {
namespace {

namespace pb = inventory::v1;
using ::testing::HasSubstr;
using projector::Totals;

class FakeSnapshot final : public projector::Snapshot {
 public:
  FakeSnapshot(const ledger::State& s, base::NextOffsets applied) : applied_(std::move(applied)) {
    for (const ledger::ItemState& i : s.items()) {
      if (i.created) {
        pb::Item& item = items[i.sku.value()];
        item.set_sku(i.sku.value());
        item.set_name(i.name);
        item.set_category(i.category);
        for (const ledger::Attribute& a : i.attributes) {
          pb::Attribute* attribute = item.add_attributes();
          attribute->set_key(a.key);
          attribute->set_value(a.value);
        }
        item.set_reorder_point(i.reorder_point);
        item.set_reorder_quantity(i.reorder_quantity);
        item.set_status(i.status == ledger::ItemStatus::kActive ? pb::ITEM_STATUS_ACTIVE : pb::ITEM_STATUS_DISCONTINUED);
        for (const ledger::SalesBlock& b : i.sales_blocks) {
          pb::SalesBlock* block = item.add_sales_blocks();
          block->set_sku(i.sku.value());
          block->set_warehouse(b.warehouse.value());
          block->set_reason(b.reason);
          block->set_blocked_at_ms(ledger::EpochMs(b.blocked_at_ms));
          block->set_actor(b.actor);
          blocks.push_back(*block);
        }
      }
      ledger::StockLevel total;
      for (const ledger::LevelEntry& e : i.levels) {
        const std::string& code = s.warehouse(e.warehouse).code.value();
        levels[{i.sku.value(), code}] = Level(i.sku.value(), code, e.level);
        total.on_hand += e.level.on_hand;
        total.reserved += e.level.reserved;
        total.incoming += e.level.incoming;
        Add(by_warehouse[code], e.level);
      }
      totals[i.sku.value()] = Level(i.sku.value(), "", total);
      Add(by_category[i.category], total);
      const ledger::StockFlags flags = ledger::FlagsOf(ledger::StockStateOf(i, total.available()));
      if (flags.low) low.push_back(i.sku.value());
      if (flags.out) out.push_back(i.sku.value());
    }
    for (const ledger::WarehouseState& w : s.warehouses()) {
      if (!w.registered) continue;
      pb::Warehouse& out_w = warehouses[w.code.value()];
      out_w.set_warehouse(w.code.value());
      out_w.set_name(w.name);
      out_w.set_region(w.region);
      out_w.set_priority(w.priority);
      out_w.set_active(w.active);
    }
    for (const auto& [id, r] : s.reservations()) {
      pb::Reservation& out_r = reservations[id];
      out_r.set_reservation_id(id);
      out_r.set_order_id(r.order_id.value());
      const ledger::ReservationStatus status = r.status();
      out_r.set_status(status == ledger::ReservationStatus::kActive      ? pb::RESERVATION_STATUS_ACTIVE
                       : status == ledger::ReservationStatus::kCommitted ? pb::RESERVATION_STATUS_COMMITTED
                       : status == ledger::ReservationStatus::kReleased  ? pb::RESERVATION_STATUS_RELEASED
                                                                         : pb::RESERVATION_STATUS_EXPIRED);
      (status == ledger::ReservationStatus::kActive      ? counts.active
       : status == ledger::ReservationStatus::kCommitted ? counts.committed
       : status == ledger::ReservationStatus::kReleased  ? counts.released
                                                         : counts.expired) += 1;
      out_r.set_created_at_ms(ledger::EpochMs(r.created_at_ms));
      out_r.set_expires_at_ms(ledger::EpochMs(r.expires_at_ms));
      out_r.set_resolved_at_ms(ledger::EpochMs(r.resolved_at_ms));
      for (const ledger::ReservationAllocation& a : r.allocations) {
        pb::Allocation* out_a = out_r.add_allocations();
        if (!a.present) continue;  // UNSPECIFIED: not folded yet
        out_a->set_request_line(a.request_line);
        out_a->set_sku(s.item(a.item).sku.value());
        out_a->set_warehouse(s.warehouse(a.warehouse).code.value());
        out_a->set_quantity(a.quantity);
        out_a->set_status(static_cast<pb::ReservationStatus>(static_cast<int>(a.status) + 1));
      }
    }
  }

  const base::NextOffsets& applied() const override { return applied_; }
  absl::StatusOr<std::optional<pb::Item>> Item(std::string_view sku) const override { return Find(items, std::string(sku)); }
  absl::Status ForEachItem(std::string_view, const projector::Visitor<pb::Item>& visit) const override {
    return Each(items, visit);
  }
  absl::StatusOr<std::optional<pb::Warehouse>> Warehouse(std::string_view code) const override {
    return Find(warehouses, std::string(code));
  }
  absl::Status ForEachWarehouse(const projector::Visitor<pb::Warehouse>& visit) const override {
    return Each(warehouses, visit);
  }
  absl::StatusOr<std::optional<pb::StockLevel>> Level(std::string_view sku, std::string_view wh) const override {
    return Find(levels, std::make_pair(std::string(sku), std::string(wh)));
  }
  absl::StatusOr<std::optional<pb::StockLevel>> Total(std::string_view sku) const override {
    return Find(totals, std::string(sku));
  }
  absl::Status ForEachLevelOf(std::string_view, const projector::Visitor<pb::StockLevel>&) const override {
    return absl::UnimplementedError("not used by the audit");
  }
  absl::Status ForEachLevel(const projector::Visitor<pb::StockLevel>& visit) const override {
    return Each(levels, visit);
  }
  absl::StatusOr<std::optional<pb::Reservation>> Reservation(std::string_view id) const override {
    return Find(reservations, std::string(id));
  }
  absl::Status ForEachReservation(std::string_view, const projector::Visitor<pb::Reservation>& visit) const override {
    return Each(reservations, visit);
  }
  absl::Status ForEachReservationOfOrder(std::string_view, std::string_view,
                                         const projector::Visitor<pb::Reservation>&) const override {
    return absl::UnimplementedError("not used by the audit");
  }
  absl::Status ForEachMovementOf(std::string_view, int64_t, int64_t, std::string_view,
                                 const projector::Visitor<pb::InventoryUpdate>&) const override {
    return absl::UnimplementedError("not used by the audit");
  }
  absl::Status ForEachUpdateFrom(uint32_t, uint64_t, const projector::Visitor<pb::InventoryUpdate>&) const override {
    return absl::UnimplementedError("not used by the audit");
  }
  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> WarehouseTotals() const override {
    return std::vector<std::pair<std::string, Totals>>(by_warehouse.begin(), by_warehouse.end());
  }
  absl::StatusOr<std::vector<std::pair<std::string, Totals>>> CategoryTotals() const override {
    return std::vector<std::pair<std::string, Totals>>(by_category.begin(), by_category.end());
  }
  absl::StatusOr<projector::ReservationCounts> Counts() const override { return counts; }
  absl::Status ForEachLowStock(const projector::Visitor<std::string>& visit) const override {
    for (const std::string& s : low) if (!visit(s)) break;
    return absl::OkStatus();
  }
  absl::Status ForEachOutOfStock(const projector::Visitor<std::string>& visit) const override {
    for (const std::string& s : out) if (!visit(s)) break;
    return absl::OkStatus();
  }
  absl::Status ForEachSalesBlock(const projector::Visitor<pb::SalesBlock>& visit) const override {
    for (const pb::SalesBlock& b : blocks) if (!visit(b)) break;
    return absl::OkStatus();
  }

  base::NextOffsets applied_;
  std::map<std::string, pb::Item> items;
  std::map<std::string, pb::Warehouse> warehouses;
  std::map<std::pair<std::string, std::string>, pb::StockLevel> levels;
  std::map<std::string, pb::StockLevel> totals;
  std::map<std::string, pb::Reservation> reservations;
  std::map<std::string, Totals> by_warehouse, by_category;
  projector::ReservationCounts counts;
  std::vector<std::string> low, out;
  std::vector<pb::SalesBlock> blocks;

 private:
  static pb::StockLevel Level(const std::string& sku, const std::string& wh, const ledger::StockLevel& l) {
    pb::StockLevel v;
    v.set_sku(sku);
    v.set_warehouse(wh);
    v.set_on_hand(l.on_hand);
    v.set_reserved(l.reserved);
    v.set_available(l.available());
    v.set_incoming(l.incoming);
    return v;
  }
  static void Add(Totals& t, const ledger::StockLevel& l) {
    t.on_hand += l.on_hand;
    t.reserved += l.reserved;
    t.incoming += l.incoming;
  }
  template <typename K, typename V>
  static absl::StatusOr<std::optional<V>> Find(const std::map<K, V>& m, const K& key) {
    auto it = m.find(key);
    if (it == m.end()) return std::optional<V>();
    return std::optional<V>(it->second);
  }
  template <typename K, typename V>
  static absl::Status Each(const std::map<K, V>& m, const projector::Visitor<V>& visit) {
    for (const auto& [k, v] : m) {
      if (!visit(v)) break;
    }
    return absl::OkStatus();
  }
};

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = testing::OpenTestLog(dir_, 4);
    history_ = std::make_unique<testing::HistoryGenerator>(log_.get());
    history_->Generate(500, 250);
    ledger::State all(ReplayLedgerOptions());
    for (const testing::LoggedEvent& e : history_->events()) ASSERT_TRUE(ledger::Evolve(all, e.event).ok());
    auto ends = log_->EndOffsets();
    ASSERT_TRUE(ends.ok());
    views_ = std::make_unique<FakeSnapshot>(all, *ends);
  }

  AuditReport RunAudit() {
    absl::StatusOr<AuditReport> report = Audit(*log_, views_.get(), {});
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : AuditReport();
  }

  testing::TempDir dir_;
  std::unique_ptr<eventlog::RocksDbLog> log_;
  std::unique_ptr<testing::HistoryGenerator> history_;
  std::unique_ptr<FakeSnapshot> views_;
};

TEST_F(AuditTest, HealthyHistoryAndRightViewsAreClean) {
  AuditReport report = RunAudit();
  EXPECT_TRUE(report.clean()) << FormatAuditText(report);
  EXPECT_TRUE(report.compared);
  EXPECT_EQ(report.events, history_->events().size());
  EXPECT_EQ(report.skus, 12u);
  EXPECT_GT(report.reservations, 0u);
  EXPECT_THAT(FormatAuditText(report), HasSubstr("audit: OK (0 violations, 0 mismatches)"));
  EXPECT_THAT(FormatAuditJson(report), HasSubstr("\"clean\":true"));
}

TEST_F(AuditTest, WrongLevelIsNamedWithBothFigures) {
  pb::StockLevel& level = views_->levels.begin()->second;
  const std::string key = level.sku() + "@" + level.warehouse();
  const int64_t right = level.on_hand();
  level.set_on_hand(right + 7);
  level.set_available(level.available() + 7);
  AuditReport report = RunAudit();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.mismatches_by_view["level"], 1u) << FormatAuditText(report);
  ASSERT_FALSE(report.mismatches.empty());
  const std::string text = FormatAuditText(report);
  EXPECT_THAT(text, HasSubstr("level " + key + ": on_hand: ledger " + std::to_string(right) + ", read model " +
                              std::to_string(right + 7) + "; available: ledger"));
  EXPECT_THAT(text, HasSubstr("audit: FAILED"));
}

TEST_F(AuditTest, MissingAndExtraRowsAreNamed) {
  const std::string reservation = views_->reservations.begin()->first;
  views_->reservations.erase(views_->reservations.begin());
  views_->items.erase("SKU-3");
  views_->levels.erase(views_->levels.begin());
  pb::Item ghost;
  ghost.set_sku("SKU-ghost");
  views_->items["SKU-ghost"] = ghost;
  views_->low.push_back("SKU-ghost");
  AuditReport report = RunAudit();
  const std::string text = FormatAuditText(report);
  EXPECT_THAT(text, HasSubstr("reservation " + reservation + ": in the ledger, missing from the read model"));
  EXPECT_THAT(text, HasSubstr("item SKU-3: created in the log, missing from the read model"));
  EXPECT_THAT(text, HasSubstr("item SKU-ghost: in the read model, never created in the log"));
  EXPECT_THAT(text, HasSubstr("low_stock SKU-ghost: in the read model's set, not the ledger's"));
  EXPECT_EQ(report.mismatches_by_view["level"], 1u) << text;
  EXPECT_EQ(report.mismatches_total, 5u) << text;
}

TEST_F(AuditTest, WrongAggregatesAndReservationFieldsAreNamed) {
  views_->by_warehouse["WH-A"].reserved += 1;
  views_->by_category["mugs"].incoming -= 2;
  pb::Reservation& r = views_->reservations.begin()->second;
  r.mutable_allocations(0)->set_quantity(r.allocations(0).quantity() + 1);
  AuditReport report = RunAudit();
  const std::string text = FormatAuditText(report);
  EXPECT_THAT(text, HasSubstr("warehouse_totals WH-A: reserved: ledger"));
  EXPECT_THAT(text, HasSubstr("category_totals mugs: incoming: ledger"));
  EXPECT_THAT(text, HasSubstr("reservation " + r.reservation_id() + ": allocations[0].quantity: ledger"));
  EXPECT_EQ(report.mismatches_total, 3u) << text;
}

TEST_F(AuditTest, WrongAndMissingSalesBlocksAreNamed) {
  ASSERT_FALSE(views_->blocks.empty()) << "the history should leave some sales blocked";
  pb::SalesBlock& block = views_->blocks.front();
  const std::string key = block.sku() + "@" + (block.warehouse().empty() ? "*" : block.warehouse());
  block.set_reason("other");
  pb::Item& item = views_->items[block.sku()];
  item.mutable_sales_blocks(0)->set_actor("mallory");
  AuditReport report = RunAudit();
  const std::string text = FormatAuditText(report);
  EXPECT_THAT(text, HasSubstr("sales_blocks " + key + ": other: in the read model's set, not the ledger's"));
  EXPECT_THAT(text, HasSubstr("sales_blocks " + key + ": recall"));
  EXPECT_THAT(text, HasSubstr("item " + block.sku() + ": sales_blocks[0].actor: ledger clerk, \"7\", read model mallory"));
  EXPECT_EQ(report.mismatches_by_view["sales_blocks"], 2u) << text;
  EXPECT_EQ(report.mismatches_by_view["item"], 1u) << text;
}

TEST_F(AuditTest, InjectedInvariantBreakingEventFailsTheAuditWithPositionAndId) {
  ledger::Event e;
  e.envelope.event_id = {7, 7};
  e.envelope.schema_version = 1;
  e.envelope.command_event_count = 1;
  e.envelope.occurred_at_ms = history_->now_ms() + ledger::DurationMs{1};
  e.envelope.sku = ledger::Sku("SKU-1");
  e.payload = ledger::ReservationCommitted{ledger::ReservationId("R-none"), ledger::WarehouseCode("WH-A"), 1, 0};
  auto forged = log_->Append(std::vector<eventlog::LogRecord>{{"SKU-1", ledger::Encode(e)}});
  ASSERT_TRUE(forged.ok());
  views_->applied_ = *log_->EndOffsets();  // the projector applied it (as far as it could)
  AuditReport report = RunAudit();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.violations_total, 1u);
  EXPECT_EQ(report.mismatches_total, 0u) << FormatAuditText(report);
  const std::string text = FormatAuditText(report);
  const eventlog::LogPosition at = forged->front();
  EXPECT_THAT(text, HasSubstr(std::to_string(at.partition) + ":" + std::to_string(at.offset) + " invariant event " +
                              e.envelope.event_id.ToHex() + ": event " + e.envelope.event_id.ToHex() +
                              " breaks an invariant: resolution of unknown reservation allocation R-none#0"));
  EXPECT_THAT(FormatAuditJson(report), HasSubstr("\"kind\":\"invariant\",\"partition\":" +
                                                 std::to_string(at.partition)));
}

TEST_F(AuditTest, ComparesAtTheSnapshotsPositionsNotTheLogsEnd) {
  // Events appended after the snapshot was taken are not folded.
  ASSERT_TRUE(history_->Run(ledger::RegisterWarehouse{ledger::WarehouseCode("WH-LATE"), "late", "eu", 3, true}));
  AuditReport report = RunAudit();
  EXPECT_TRUE(report.clean()) << FormatAuditText(report);
  EXPECT_EQ(report.events, history_->events().size() - 1);
}

TEST_F(AuditTest, ViewsAheadOfTheLogAreAMismatch) {
  views_->applied_[0] += 5;
  AuditReport report = RunAudit();
  EXPECT_THAT(FormatAuditText(report), HasSubstr("positions partition 0: read models applied up to offset"));
}

}  // namespace
}  // namespace replay
