#include "orders/order_commands.h"

#include "absl/strings/str_cat.h"
#include "ledger/derived_ids.h"
#include "ledger/validate.h"

namespace orders {
namespace {

ledger::CommandMeta Meta(const ledger::OrderId& order, std::string_view suffix, const OrderCommandOptions& o) {
  ledger::CommandMeta meta;
  meta.command_id = ledger::OrderStepCommandId(order, suffix);
  meta.actor = o.actor;
  meta.correlation_id = order.value();
  return meta;
}

}  // namespace

ledger::Command ToCommand(const OrderEvent& event, const OrderCommandOptions& options) {
  const ledger::ReservationId reservation = ledger::ReservationIdForOrder(event.order_id);
  switch (event.type) {
    case OrderEventType::kOrderCreated: {
      ledger::Reserve reserve;
      reserve.reservation_id = reservation;
      reserve.order_id = event.order_id;
      reserve.lines.reserve(event.items.size());
      for (const OrderItem& item : event.items) reserve.lines.push_back({item.sku, item.quantity, item.warehouse});
      reserve.ttl_ms = options.reservation_ttl_ms;
      reserve.split = options.split;
      return {Meta(event.order_id, "", options), std::move(reserve)};
    }
    case OrderEventType::kPaymentConfirmed:
      return {Meta(event.order_id, "/commit", options), ledger::CommitReservation{reservation}};
    case OrderEventType::kPaymentFailed:
      return {Meta(event.order_id, "/payment-failed", options),
              ledger::ReleaseReservation{reservation, ledger::ReleaseReason::kPaymentFailed}};
    case OrderEventType::kOrderCancelled:
      return {Meta(event.order_id, "/cancel", options),
              ledger::ReleaseReservation{reservation, ledger::ReleaseReason::kOrderCancelled,
                                         ledger::IfCommitted::kReturnStock}};
  }
  return {};
}

}  // namespace orders
