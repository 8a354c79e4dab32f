#include "ledger/stock_rules.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/evolve.h"

namespace ledger {
namespace {

struct Moved {
  std::string warehouse;
  Quantity on_hand, reserved, incoming;
  friend bool operator==(const Moved&, const Moved&) = default;
};

std::vector<Moved> Moves(const EventPayload& payload) {
  std::vector<Moved> out;
  for (const LevelChange& c : LevelChangesOf(payload)) {
    out.push_back({c.warehouse->value(), c.on_hand, c.reserved, c.incoming});
  }
  return out;
}

TEST(LevelChanges, EachEventKind) {
  const WarehouseCode a("A"), b("B");
  const ReservationId r("r");
  EXPECT_TRUE(Moves(ItemCreated{}).empty());
  EXPECT_TRUE(Moves(ItemUpdated{}).empty());
  EXPECT_TRUE(Moves(ItemDiscontinued{}).empty());
  EXPECT_TRUE(Moves(WarehouseRegistered{a, "", "", 0, true}).empty());
  EXPECT_TRUE(Moves(WarehouseUpdated{a, "", "", 0, true}).empty());
  EXPECT_EQ(Moves(StockReceived{a, 5, ""}), (std::vector<Moved>{{"A", 5, 0, 0}}));
  EXPECT_EQ(Moves(StockAdjusted{a, -3, AdjustmentReason::kLoss, ""}), (std::vector<Moved>{{"A", -3, 0, 0}}));
  EXPECT_EQ(Moves(StockCounted{a, 7, 2}), (std::vector<Moved>{{"A", 2, 0, 0}}));
  EXPECT_EQ(Moves(TransferShipped{TransferId("t"), a, b, 4}),
            (std::vector<Moved>{{"A", -4, 0, 0}, {"B", 0, 0, 4}}));
  EXPECT_EQ(Moves(TransferReceived{TransferId("t"), a, b, 4}), (std::vector<Moved>{{"B", 4, 0, -4}}));
  EXPECT_EQ(Moves(ReservationLineReserved{r, OrderId("o"), a, 6, TimeMs{}, 0, 1, 0}),
            (std::vector<Moved>{{"A", 0, 6, 0}}));
  EXPECT_EQ(Moves(ReservationCommitted{r, a, 6, 0}), (std::vector<Moved>{{"A", -6, -6, 0}}));
  EXPECT_EQ(Moves(ReservationReleased{r, a, 6, 0, ReleaseReason::kCancelled}), (std::vector<Moved>{{"A", 0, -6, 0}}));
  EXPECT_EQ(Moves(ReservationExpired{r, a, 6, 0}), (std::vector<Moved>{{"A", 0, -6, 0}}));
  EXPECT_TRUE(Moves(SalesBlocked{a, "recall"}).empty());
  EXPECT_TRUE(Moves(SalesUnblocked{a}).empty());
  EXPECT_TRUE(Moves(ReservationExtended{r, a, 0, AtEpochMs(5)}).empty());
  // The typed overloads say the same as the payload one.
  EXPECT_EQ(LevelChangesOf(TransferShipped{TransferId("t"), a, b, 4}).size(), 2u);
  EXPECT_EQ(LevelChangesOf(ReservationCommitted{r, a, 6, 0})[0].available(), 0);
}

TEST(LevelChanges, ChangedAndInvariants) {
  StockLevel l = Changed({.on_hand = 5, .reserved = 2, .incoming = 1}, {.on_hand = -1, .reserved = 1, .incoming = 2});
  EXPECT_EQ(l, (StockLevel{.on_hand = 4, .reserved = 3, .incoming = 3}));
  EXPECT_TRUE(KeepsLevelInvariants(l));
  EXPECT_TRUE(KeepsLevelInvariants({}));
  EXPECT_TRUE(KeepsLevelInvariants({.on_hand = 3, .reserved = 3}));
  EXPECT_FALSE(KeepsLevelInvariants({.on_hand = 2, .reserved = 3}));
  EXPECT_FALSE(KeepsLevelInvariants({.on_hand = -1}));
  EXPECT_FALSE(KeepsLevelInvariants({.on_hand = 1, .reserved = -1}));
  EXPECT_FALSE(KeepsLevelInvariants({.incoming = -1}));
}

TEST(ReservationStatusRule, ActiveUntilEveryAllocationResolves) {
  using S = std::optional<ReservationStatus>;
  auto of = [](std::vector<S> v) { return ReservationStatusOf(v, [](const S& s) { return s; }); };
  EXPECT_EQ(of({}), ReservationStatus::kActive);
  EXPECT_EQ(of({ReservationStatus::kCommitted, std::nullopt}), ReservationStatus::kActive);
  EXPECT_EQ(of({ReservationStatus::kCommitted, ReservationStatus::kActive}), ReservationStatus::kActive);
  EXPECT_EQ(of({ReservationStatus::kCommitted, ReservationStatus::kCommitted}), ReservationStatus::kCommitted);
  EXPECT_EQ(of({ReservationStatus::kReleased, ReservationStatus::kExpired}), ReservationStatus::kExpired);
}

TEST(SalesBlockRule, EverywhereFirstThenTheWarehouse) {
  ItemState item;
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode("W1")), nullptr);
  item.sales_blocks = {SalesBlock{WarehouseCode("W1"), "audit", AtEpochMs(1), "ops"}};
  ASSERT_NE(SalesBlockOf(item, WarehouseCode("W1")), nullptr);
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode("W1"))->reason, "audit");
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode("W2")), nullptr);
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode()), nullptr) << "a free line is refused only by the everywhere block";
  item.sales_blocks.insert(item.sales_blocks.begin(), SalesBlock{WarehouseCode(), "recall", AtEpochMs(2), "ops"});
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode("W1"))->reason, "recall");
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode("W2"))->reason, "recall");
  EXPECT_EQ(SalesBlockOf(item, WarehouseCode())->reason, "recall");
  EXPECT_TRUE(BlockCovers("", "W1"));
  EXPECT_TRUE(BlockCovers("W1", "W1"));
  EXPECT_FALSE(BlockCovers("W1", "W2"));
  EXPECT_EQ(DescribeBlock("A", "", "recall"), "sales of A are blocked everywhere: recall");
  EXPECT_EQ(DescribeBlock("A", "W1", "audit"), "sales of A are blocked at W1: audit");
}

TEST(StockStateRule, Thresholds) {
  const ItemStatus active = ItemStatus::kActive;
  EXPECT_EQ(StockStateOf(active, 5, 6), StockState::kInStock);
  EXPECT_EQ(StockStateOf(active, 5, 5), StockState::kLow);
  EXPECT_EQ(StockStateOf(active, 5, 1), StockState::kLow);
  EXPECT_EQ(StockStateOf(active, 5, 0), StockState::kOut);
  EXPECT_EQ(StockStateOf(active, 5, -1), StockState::kOut);
  // Reorder point 0: never low, straight from in stock to out of stock.
  EXPECT_EQ(StockStateOf(active, 0, 1), StockState::kInStock);
  EXPECT_EQ(StockStateOf(active, 0, 0), StockState::kOut);
  // Discontinued: untracked whatever the level.
  EXPECT_EQ(StockStateOf(ItemStatus::kDiscontinued, 5, 0), StockState::kUntracked);
  EXPECT_EQ(StockStateOf(ItemStatus::kDiscontinued, 5, 3), StockState::kUntracked);
  // Flags: never both.
  EXPECT_EQ(FlagsOf(StockState::kLow), (StockFlags{.low = true, .out = false}));
  EXPECT_EQ(FlagsOf(StockState::kOut), (StockFlags{.low = false, .out = true}));
  EXPECT_EQ(FlagsOf(StockState::kInStock), StockFlags{});
  EXPECT_EQ(FlagsOf(StockState::kUntracked), StockFlags{});
}

TEST(StockStateRule, FromTheLedgerState) {
  State state;
  const Sku sku("A");
  const WarehouseCode w("W");
  EXPECT_EQ(StockStateOf(state, sku), StockState::kUntracked);
  int n = 0;
  auto run = [&](CommandBody body) {
    Decision d =
        DecideAndApply(state, {{CommandId("c" + std::to_string(++n)), AtEpochMs(1000), "t", ""}, std::move(body)});
    ASSERT_TRUE(d.accepted()) << d.rejection->message;
  };
  run(RegisterWarehouse{w, "W", "eu", 1, true});
  run(RegisterWarehouse{WarehouseCode("V"), "V", "eu", 2, true});
  run(CreateItem{sku, "A", "", {}, 3, 0});
  EXPECT_EQ(StockStateOf(state, sku), StockState::kOut);
  run(ReceiveStock{sku, w, 2, ""});
  run(ReceiveStock{sku, WarehouseCode("V"), 2, ""});
  EXPECT_EQ(StockStateOf(state, sku), StockState::kInStock) << "the total over warehouses counts";
  Reserve r;
  r.reservation_id = ReservationId("r");
  r.order_id = OrderId("o");
  r.lines = {{sku, 2, w}};
  run(r);
  EXPECT_EQ(StockStateOf(state, sku), StockState::kLow) << "available, not on hand, counts";
  run(DiscontinueItem{sku});
  EXPECT_EQ(StockStateOf(state, sku), StockState::kUntracked);
}

TEST(StockAlertRule, EveryTransition) {
  using enum StockState;
  using A = StockAlert;
  const StockState all[] = {kUntracked, kInStock, kLow, kOut};
  for (StockState s : all) {
    EXPECT_TRUE(AlertsOf(s, s).empty()) << ToString(s);
    EXPECT_TRUE(AlertsOf(s, kUntracked).empty()) << ToString(s);
  }
  EXPECT_TRUE(AlertsOf(kUntracked, kInStock).empty());
  EXPECT_EQ(AlertsOf(kUntracked, kLow), StockAlerts{A::kLowStock});
  EXPECT_EQ(AlertsOf(kUntracked, kOut), StockAlerts{A::kOutOfStock});
  EXPECT_EQ(AlertsOf(kInStock, kLow), StockAlerts{A::kLowStock});
  EXPECT_EQ(AlertsOf(kInStock, kOut), StockAlerts{A::kOutOfStock});
  EXPECT_TRUE(AlertsOf(kLow, kInStock).empty());
  EXPECT_EQ(AlertsOf(kLow, kOut), StockAlerts{A::kOutOfStock});
  EXPECT_EQ(AlertsOf(kOut, kInStock), StockAlerts{A::kBackInStock});
  EXPECT_EQ(AlertsOf(kOut, kLow), (StockAlerts{A::kBackInStock, A::kLowStock}));
  EXPECT_EQ(ToString(A::kBackInStock), "back_in_stock");
  EXPECT_EQ(ToString(A::kLowStock), "low_stock");
  EXPECT_EQ(ToString(A::kOutOfStock), "out_of_stock");
}

}  // namespace
}  // namespace ledger
