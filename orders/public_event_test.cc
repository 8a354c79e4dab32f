#include "orders/public_event.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ledger/evolve.h"

namespace orders {
namespace {

// Applies commands to a state and maps their events as the publisher does.
class Mapper {
 public:
  std::vector<PublicEvent> Apply(ledger::CommandBody body) {
    ledger::Decision d = ledger::Decide(
        state_, {{ledger::CommandId("c" + std::to_string(n_++)), ledger::AtEpochMs(5000), "t", ""}, body});
    EXPECT_TRUE(d.accepted()) << d.rejection->message;
    std::vector<PublicEvent> out;
    for (const ledger::Event& e : d.events) EXPECT_TRUE(FoldToPublicEvents(state_, e, &out).ok());
    return out;
  }

 private:
  ledger::State state_;
  int n_ = 0;
};

ledger::Reserve Reserve(const char* id, const char* order, const ledger::Sku& sku, const ledger::WarehouseCode& wh) {
  ledger::Reserve r;
  r.reservation_id = ledger::ReservationId(id);
  r.order_id = ledger::OrderId(order);
  r.lines = {{sku, 4, wh}};
  return r;
}

// Berlin and a mug with `on_hand` received there.
void MugInBerlin(Mapper& m, ledger::Quantity reorder_point, ledger::Quantity on_hand) {
  m.Apply(ledger::RegisterWarehouse{ledger::WarehouseCode("BER-1"), "Berlin", "eu", 1, true});
  m.Apply(ledger::CreateItem{ledger::Sku("MUG"), "Mug", "", {}, reorder_point, 10});
  m.Apply(ledger::ReceiveStock{ledger::Sku("MUG"), ledger::WarehouseCode("BER-1"), on_hand, "po-1"});
}

std::vector<std::string> Types(const std::vector<PublicEvent>& events) {
  std::vector<std::string> out;
  for (const PublicEvent& e : events) out.push_back(e.type);
  return out;
}

TEST(PublicEvents, LifecycleStockAndAlerts) {
  Mapper m;
  const ledger::Sku mug("MUG");
  const ledger::WarehouseCode ber("BER-1");
  EXPECT_TRUE(m.Apply(ledger::RegisterWarehouse{ber, "Berlin", "eu", 1, true}).empty());
  // A new item has nothing available: out of stock until its first receipt.
  EXPECT_EQ(Types(m.Apply(ledger::CreateItem{mug, "Mug", "", {}, 5, 10})),
            std::vector<std::string>{"inventory.out_of_stock"});
  std::vector<PublicEvent> got = m.Apply(ledger::ReceiveStock{mug, ber, 8, "po-1"});
  ASSERT_EQ(Types(got), (std::vector<std::string>{"inventory.stock_updated", "inventory.back_in_stock"}));
  EXPECT_NE(got[0].json.find(R"("oldStock":0,"newStock":8)"), std::string::npos) << got[0].json;
  EXPECT_EQ(got[0].key, "MUG");
  EXPECT_EQ(got[0].event_id.size(), 32u);

  // 8 -> 4 available: crosses the reorder point (5).
  got = m.Apply(Reserve("r-o-1", "o-1", mug, ber));
  ASSERT_EQ(Types(got), (std::vector<std::string>{"inventory.reserved", "inventory.low_stock"}));
  EXPECT_NE(got[0].json.find(R"("reservationId":"r-o-1","orderId":"o-1","warehouseId":"BER-1","quantity":4)"),
            std::string::npos)
      << got[0].json;
  EXPECT_NE(got[1].json.find(R"("available":4,"reorderPoint":5)"), std::string::npos) << got[1].json;
  EXPECT_NE(got[0].event_id, got[1].event_id);

  // 4 -> 0: out of stock (not low stock again).
  got = m.Apply(Reserve("r-o-2", "o-2", mug, ber));
  ASSERT_EQ(Types(got), (std::vector<std::string>{"inventory.reserved", "inventory.out_of_stock"}));

  got = m.Apply(ledger::CommitReservation{ledger::ReservationId("r-o-1")});
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.confirmed"});
  // 0 -> 4 available: back in stock, and low (4 <= 5).
  got = m.Apply(ledger::ReleaseReservation{ledger::ReservationId("r-o-2"), ledger::ReleaseReason::kPaymentFailed});
  ASSERT_EQ(Types(got), (std::vector<std::string>{"inventory.released", "inventory.back_in_stock",
                                                  "inventory.low_stock"}));
  EXPECT_NE(got[0].json.find(R"("reason":"payment_failed")"), std::string::npos) << got[0].json;
}

TEST(PublicEvents, PartialCommitSaysWhatLeftAndWhatWasReleased) {
  Mapper m;
  const ledger::Sku mug("MUG");
  const ledger::WarehouseCode ber("BER-1");
  MugInBerlin(m, 0, 4);
  // All 4 reserved: out of stock.
  ASSERT_EQ(Types(m.Apply(Reserve("r-o-1", "o-1", mug, ber))),
            (std::vector<std::string>{"inventory.reserved", "inventory.out_of_stock"}));
  // One ships, three are available again: the release raises back in stock.
  std::vector<PublicEvent> got =
      m.Apply(ledger::CommitReservation{ledger::ReservationId("r-o-1"), {{.request_line = 0, .quantity = 1}}});
  ASSERT_EQ(Types(got), (std::vector<std::string>{"inventory.confirmed", "inventory.back_in_stock"}));
  EXPECT_NE(got[0].json.find(R"("warehouseId":"BER-1","quantity":1,"allocationIndex":0,"releasedQuantity":3)"),
            std::string::npos)
      << got[0].json;
  // A whole commit says it released nothing.
  ledger::Reserve rest = Reserve("r-o-2", "o-2", mug, ber);
  rest.lines[0].quantity = 3;
  m.Apply(rest);
  got = m.Apply(ledger::CommitReservation{ledger::ReservationId("r-o-2")});
  ASSERT_FALSE(got.empty());
  EXPECT_NE(got[0].json.find(R"("quantity":3,"allocationIndex":0,"releasedQuantity":0)"), std::string::npos)
      << got[0].json;
}

TEST(PublicEvents, SalesBlocksAreAnnouncedWithTheirScopeAndReason) {
  Mapper m;
  const ledger::Sku mug("MUG");
  const ledger::WarehouseCode ber("BER-1");
  MugInBerlin(m, 5, 8);
  std::vector<PublicEvent> got = m.Apply(ledger::BlockSales{mug, ber, "recall"});
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.sales_blocked"}) << "a block raises no stock alert";
  EXPECT_EQ(got[0].key, "MUG");
  EXPECT_NE(got[0].json.find(
                R"("sku":"MUG","warehouseId":"BER-1","reason":"recall","message":"sales of MUG are blocked at BER-1: recall")"),
            std::string::npos)
      << got[0].json;
  got = m.Apply(ledger::BlockSales{mug, ledger::WarehouseCode(), "price error"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].json.find(R"("warehouseId":"","reason":"price error")"), std::string::npos) << got[0].json;
  got = m.Apply(ledger::UnblockSales{mug, ber});
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.sales_unblocked"});
  EXPECT_NE(got[0].json.find(R"("sku":"MUG","warehouseId":"BER-1")"), std::string::npos) << got[0].json;
}

TEST(PublicEvents, ExtensionAndOperatorExpiry) {
  Mapper m;
  const ledger::Sku mug("MUG");
  const ledger::WarehouseCode ber("BER-1");
  m.Apply(ledger::RegisterWarehouse{ber, "Berlin", "eu", 1, true});
  m.Apply(ledger::CreateItem{mug, "Mug", "", {}, 0, 10});
  m.Apply(ledger::ReceiveStock{mug, ber, 8, "po-1"});
  m.Apply(Reserve("r-o-1", "o-1", mug, ber));
  std::vector<PublicEvent> got =
      m.Apply(ledger::ExtendReservation{ledger::ReservationId("r-o-1"), std::chrono::hours{1}});
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.reservation_extended"});
  EXPECT_NE(got[0].json.find(R"("reservationId":"r-o-1","orderId":"o-1","warehouseId":"BER-1","expiresAt":"1970-01-01T01:00:05.000Z")"),
            std::string::npos)
      << got[0].json;
  got = m.Apply(ledger::ExpireReservation{ledger::ReservationId("r-o-1"), ledger::ExpireWhen::kNow});
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.expired"});
}

TEST(PublicEvents, AlertsFollowTheStockState) {
  Mapper m;
  const ledger::Sku a("A");
  const ledger::WarehouseCode w("W");
  m.Apply(ledger::RegisterWarehouse{w, "W", "eu", 1, true});
  EXPECT_EQ(Types(m.Apply(ledger::CreateItem{a, "A", "", {}, 0, 0})),
            std::vector<std::string>{"inventory.out_of_stock"});
  EXPECT_EQ(Types(m.Apply(ledger::ReceiveStock{a, w, 3, ""})),
            (std::vector<std::string>{"inventory.stock_updated", "inventory.back_in_stock"}));
  // Reorder point 0: never low. Raising it above what is available makes the SKU low.
  ledger::UpdateItem raise;
  raise.sku = a;
  raise.reorder_point = 5;
  std::vector<PublicEvent> got = m.Apply(raise);
  ASSERT_EQ(Types(got), std::vector<std::string>{"inventory.low_stock"});
  EXPECT_NE(got[0].json.find(R"("available":3,"reorderPoint":5)"), std::string::npos) << got[0].json;
  // Discontinued: untracked, so no alert when it happens nor after.
  EXPECT_TRUE(m.Apply(ledger::DiscontinueItem{a}).empty());
  EXPECT_EQ(Types(m.Apply(ledger::AdjustStock{a, w, -3, ledger::AdjustmentReason::kLoss, ""})),
            std::vector<std::string>{"inventory.stock_updated"});
}

TEST(PublicEvents, IdsAreStableForTheSourceEvent) {
  Mapper m;
  m.Apply(ledger::RegisterWarehouse{ledger::WarehouseCode("W"), "W", "eu", 1, true});
  m.Apply(ledger::CreateItem{ledger::Sku("A"), "A", "", {}, 0, 0});
  Mapper replay = m;  // the same history, mapped again (as after a publisher restart)
  std::vector<PublicEvent> first = m.Apply(ledger::ReceiveStock{ledger::Sku("A"), ledger::WarehouseCode("W"), 3, ""});
  std::vector<PublicEvent> again =
      replay.Apply(ledger::ReceiveStock{ledger::Sku("A"), ledger::WarehouseCode("W"), 3, ""});
  ASSERT_EQ(first.size(), 2u);  // stock_updated, back_in_stock
  ASSERT_EQ(again.size(), 2u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].event_id, again[i].event_id);
    EXPECT_EQ(first[i].json, again[i].json);
  }
}

TEST(PublicEvents, ReservationFailedNamesOnlyTheShortLines) {
  ledger::Rejection r;
  r.reason = ledger::RejectionReason::kInsufficientStock;
  r.message = "insufficient \"stock\"";
  r.lines = {{0, ledger::Sku("A"), 2, 5}, {1, ledger::Sku("B"), 9, 1}};
  PublicEvent e = ReservationFailed("src-1", "o-9", "r-o-9", r, ledger::TimeMs{});
  EXPECT_EQ(e.type, "inventory.reservation_failed");
  EXPECT_EQ(e.key, "o-9");
  EXPECT_NE(e.json.find(R"("shortLines":[{"line":1,"sku":"B","requested":9,"available":1}])"), std::string::npos)
      << e.json;
  EXPECT_NE(e.json.find(R"("message":"insufficient \"stock\"")"), std::string::npos) << e.json;
  EXPECT_NE(e.json.find(R"("reason":"insufficient_stock")"), std::string::npos) << e.json;
  EXPECT_EQ(ReservationFailed("src-1", "o-9", "r-o-9", r, ledger::AtEpochMs(99)).event_id, e.event_id);
  EXPECT_NE(ReservationFailed("src-2", "o-9", "r-o-9", r, ledger::TimeMs{}).event_id, e.event_id);
}

// Text fields are escaped by base/json_text.h, the rule inventoryctl's JSON
// output shares (short escapes for \b and \f, \u00XX for other controls).
TEST(PublicEvents, JsonEscaping) {
  ledger::Rejection r;
  r.reason = ledger::RejectionReason::kInsufficientStock;
  r.message = std::string("a\"b\\c\n\x01\b\f", 9);
  PublicEvent e = ReservationFailed("src-1", "o-9", "r-o-9", r, ledger::TimeMs{});
  EXPECT_NE(e.json.find(R"("message":"a\"b\\c\n\u0001\b\f")"), std::string::npos) << e.json;
}

}  // namespace
}  // namespace orders
