// From order events to ledger commands, and the ids that make them
// idempotent. Pure functions: the consumer (orders/order_consumer.h) calls
// them and submits the result to the writer.
//
//   order.created      -> Reserve           command id = orderId
//                                           reservation id = "r-" + orderId
//   payment.confirmed  -> CommitReservation command id = orderId + "/commit"
//   payment.failed     -> ReleaseReservation (payment failed)   orderId + "/payment-failed"
//   order.cancelled    -> ReleaseReservation (order cancelled,  orderId + "/cancel"
//                         IfCommitted::kReturnStock): when the reservation
//                         was already committed, the same command returns
//                         the stock (one StockAdjusted, reason return, per
//                         committed allocation), in message order
//
// The reservation id is the one CheckAndReserveStock derives for command id
// = orderId, so a gRPC client can commit or release an order's reservation by
// the same name: both call ledger/derived_ids.h, which also gives the hashed
// form ("h:<32 hex digits>" plus the suffix) of an id longer than
// ledger::kIdLengthMax.
//
// Because the ids depend only on the order id and the step, a redelivered
// message, or a second message of the same meaning (payment.successful after
// payment.confirmed), is answered by the ledger as a duplicate.
//
// Thread-safety: pure functions.
#ifndef ORDERS_ORDER_COMMANDS_H_
#define ORDERS_ORDER_COMMANDS_H_

#include <string>
#include <vector>

#include "ledger/command.h"
#include "ledger/state.h"
#include "orders/order_event.h"

namespace orders {

struct OrderCommandOptions {
  // TTL of the reservations order.created makes, ms. Default 15 minutes.
  ledger::DurationMs reservation_ttl_ms = std::chrono::minutes{15};
  // Whether allocation may split an item across warehouses. Default no.
  ledger::SplitPolicy split = ledger::SplitPolicy::kSingleWarehouse;
  // The actor recorded on every command. Default "order-events".
  std::string actor = "order-events";
};

// The command an order event asks for (now_ms is left 0: the writer stamps it).
ledger::Command ToCommand(const OrderEvent& event, const OrderCommandOptions& options);

}  // namespace orders

#endif  // ORDERS_ORDER_COMMANDS_H_
