#include "orders/order_commands.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/hash.h"
#include "ledger/validate.h"

namespace orders {
namespace {

using base::AsAbsl;

// prefix + id + suffix, or, when that is too long for an id, the hashed form.
// The hash seeds are those of command-api's ReservationIdFor for the "r-"
// prefix, so both name an order's reservation the same.
std::string Derived(std::string_view prefix, std::string_view id, std::string_view suffix) {
  std::string out = absl::StrCat(AsAbsl(prefix), AsAbsl(id), AsAbsl(suffix));
  if (out.size() <= ledger::kIdLengthMax) return out;
  auto [hi, lo] = ledger::StableHash128(id, 3, 4);
  return absl::StrCat(AsAbsl(prefix), "h:", ledger::EventId{hi, lo}.ToHex(), AsAbsl(suffix));
}

ledger::CommandMeta Meta(const ledger::OrderId& order, std::string_view suffix, const OrderCommandOptions& o) {
  ledger::CommandMeta meta;
  meta.command_id = ledger::CommandId(suffix.empty() ? order.value() : Derived("", order.value(), suffix));
  meta.actor = o.actor;
  meta.correlation_id = order.value();
  return meta;
}

}  // namespace

ledger::ReservationId ReservationIdForOrder(const ledger::OrderId& order_id) {
  return ledger::ReservationId(Derived("r-", order_id.value(), ""));
}

ledger::Command ToCommand(const OrderEvent& event, const OrderCommandOptions& options) {
  const ledger::ReservationId reservation = ReservationIdForOrder(event.order_id);
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
