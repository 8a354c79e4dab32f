#include "orders/order_commands.h"

#include <string>
#include <variant>

#include "command-api/translate.h"
#include "gtest/gtest.h"
#include "ledger/derived_ids.h"
#include "ledger/evolve.h"
#include "ledger/validate.h"

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

// The gRPC path (CheckAndReserveStock with command id = order id, an order id
// and no reservation id, through command-api's translation) and the
// order-event path (order.created through ToCommand) reserve under the same
// id, plain and hashed (a "r-" + id longer than kIdLengthMax).
TEST(OrderCommands, ReservationIdAgreesWithTheGrpcDerivation) {
  int hashed = 0;
  for (std::string order : {std::string("o-1"), std::string(126, 'w'), std::string(127, 'x'), std::string(128, 'y')}) {
    SCOPED_TRACE(order.size());
    inventory::v1::CheckAndReserveStockRequest request;
    request.mutable_context()->set_command_id(order);
    request.set_order_id(order);
    inventory::v1::OrderLine* line = request.add_lines();
    line->set_sku("MUG");
    line->set_quantity(2);
    line->set_warehouse("BER-1");
    absl::StatusOr<ledger::Command> grpc = command_api::ToCommand(request, command_api::TranslateOptions{});
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    ledger::Command from_event = ToCommand(Event(OrderEventType::kOrderCreated, order), {});
    const ledger::ReservationId& via_grpc = std::get<ledger::Reserve>(grpc->body).reservation_id;
    EXPECT_EQ(via_grpc, std::get<ledger::Reserve>(from_event.body).reservation_id);
    EXPECT_EQ(via_grpc.value(), command_api::ReservationIdFor(request));
    EXPECT_EQ(via_grpc, ledger::ReservationIdForOrder(ledger::OrderId(order)));
    EXPECT_LE(via_grpc.value().size(), ledger::kIdLengthMax);
    if (via_grpc.value().rfind("r-h:", 0) == 0) ++hashed;
  }
  EXPECT_EQ(hashed, 2);  // the 127- and 128-character ids
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
    ledger::Decision d =
        ledger::DecideAndApply(state, {{ledger::CommandId(id), ledger::AtEpochMs(1000), "t", ""}, std::move(body)});
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
