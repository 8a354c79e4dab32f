#include "orders/order_commands.h"

#include <string>
#include <variant>

#include "command-api/translate.h"
#include "gtest/gtest.h"
#include "ledger/evolve.h"

namespace orders {
namespace {

OrderEvent Event(OrderEventType type, std::string order_id) {
  OrderEvent e;
  e.type = type;
  e.event_id = "e-1";
  e.order_id = ledger::OrderId(std::move(order_id));
  if (type == OrderEventType::kOrderCreated) e.items = {{ledger::Sku("MUG"), 2, ledger::WarehouseCode("BER-1")}};
  return e;
}

TEST(OrderCommands, EachTypeMapsToItsCommandWithDerivedIds) {
  OrderCommandOptions options;
  ledger::Command reserve = ToCommand(Event(OrderEventType::kOrderCreated, "o-1"), options);
  EXPECT_EQ(reserve.meta.command_id.value(), "o-1");
  EXPECT_EQ(reserve.meta.correlation_id, "o-1");
  const auto& r = std::get<ledger::Reserve>(reserve.body);
  EXPECT_EQ(r.reservation_id.value(), "r-o-1");
  EXPECT_EQ(r.order_id.value(), "o-1");
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].quantity, 2);
  EXPECT_EQ(r.ttl_ms, options.reservation_ttl_ms);

  ledger::Command commit = ToCommand(Event(OrderEventType::kPaymentConfirmed, "o-1"), options);
  EXPECT_EQ(commit.meta.command_id.value(), "o-1/commit");
  EXPECT_EQ(std::get<ledger::CommitReservation>(commit.body).reservation_id.value(), "r-o-1");

  ledger::Command failed = ToCommand(Event(OrderEventType::kPaymentFailed, "o-1"), options);
  EXPECT_EQ(failed.meta.command_id.value(), "o-1/payment-failed");
  EXPECT_EQ(std::get<ledger::ReleaseReservation>(failed.body).reason, ledger::ReleaseReason::kPaymentFailed);

  ledger::Command cancel = ToCommand(Event(OrderEventType::kOrderCancelled, "o-1"), options);
  EXPECT_EQ(cancel.meta.command_id.value(), "o-1/cancel");
  EXPECT_EQ(std::get<ledger::ReleaseReservation>(cancel.body).reason, ledger::ReleaseReason::kOrderCancelled);
}

TEST(OrderCommands, ReservationIdAgreesWithTheGrpcDerivation) {
  for (std::string order : {std::string("o-1"), std::string(127, 'x'), std::string(128, 'y')}) {
    inventory::v1::CheckAndReserveStockRequest request;
    request.mutable_context()->set_command_id(order);
    EXPECT_EQ(ReservationIdForOrder(ledger::OrderId(order)).value(), command_api::ReservationIdFor(request));
  }
  // Long ids stay within the id limit.
  ledger::Command commit = ToCommand(Event(OrderEventType::kPaymentConfirmed, std::string(128, 'z')), {});
  EXPECT_LE(commit.meta.command_id.value().size(), 128u);
  EXPECT_EQ(commit.meta.command_id.value().rfind("h:", 0), 0u);
}

// An order cancelled after payment returns its committed stock in the
// cancellation's own command: decided in order, and once.
TEST(OrderCommands, CancelAfterCommitReturnsTheStockInItsOwnCommand) {
  ledger::State state;
  auto apply = [&](ledger::CommandBody body, std::string id) {
    ledger::Decision d = ledger::DecideAndApply(state, {{ledger::CommandId(id), 1000, "t", ""}, std::move(body)});
    ASSERT_TRUE(d.accepted()) << d.rejection->message;
  };
  apply(ledger::RegisterWarehouse{ledger::WarehouseCode("BER-1"), "Berlin", "eu", 1, true}, "w");
  apply(ledger::CreateItem{ledger::Sku("MUG"), "Mug", "", {}, 0, 0}, "i");
  apply(ledger::ReceiveStock{ledger::Sku("MUG"), ledger::WarehouseCode("BER-1"), 10, ""}, "s");
  apply(std::get<ledger::Reserve>(ToCommand(Event(OrderEventType::kOrderCreated, "o-1"), {}).body), "o-1");
  apply(ledger::CommitReservation{ledger::ReservationId("r-o-1")}, "o-1/commit");
  EXPECT_EQ(state.Level(ledger::Sku("MUG"), ledger::WarehouseCode("BER-1")).on_hand, 8);
  const ledger::Command cancel = ToCommand(Event(OrderEventType::kOrderCancelled, "o-1"), {});
  EXPECT_EQ(cancel.meta.command_id.value(), "o-1/cancel");
  ledger::Decision d = ledger::DecideAndApply(state, cancel);
  ASSERT_TRUE(d.accepted()) << d.rejection->message;
  ASSERT_EQ(d.events.size(), 1u);
  const auto& adjust = std::get<ledger::StockAdjusted>(d.events[0].payload);
  EXPECT_EQ(adjust.warehouse.value(), "BER-1");
  EXPECT_EQ(adjust.delta, 2);
  EXPECT_EQ(adjust.reason, ledger::AdjustmentReason::kReturn);
  EXPECT_EQ(state.Level(ledger::Sku("MUG"), ledger::WarehouseCode("BER-1")).on_hand, 10);
  // The same cancellation again is a duplicate, not a second return.
  EXPECT_TRUE(ledger::DecideAndApply(state, cancel).duplicate);
  EXPECT_EQ(state.Level(ledger::Sku("MUG"), ledger::WarehouseCode("BER-1")).on_hand, 10);
}

}  // namespace
}  // namespace orders
