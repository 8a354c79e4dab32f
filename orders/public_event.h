// Integration events for other services: JSON on the public topic
// (inventory.public by default). docs/orders.md shows each one.
//
//   inventory.reserved            one per reservation allocation (ReservationLineReserved)
//   inventory.confirmed           one per committed allocation
//   inventory.released            one per released allocation
//   inventory.expired             one per expired allocation (by the timer or an operator)
//   inventory.reservation_extended one per allocation of an extended reservation (new expiresAt)
//   inventory.stock_updated       a movement changed on_hand at a (SKU, warehouse)
//   inventory.low_stock           the SKU became low: 0 < available total <= reorder point
//   inventory.out_of_stock        the SKU became out of stock: available total <= 0
//   inventory.back_in_stock       the SKU was out of stock and has some available again
//   inventory.sales_blocked       reservations of the SKU are refused at warehouseId
//                                 ("" = every warehouse) until sales_unblocked (BlockSales)
//   inventory.sales_unblocked     that block was lifted (UnblockSales)
//   inventory.reservation_failed  an order could not be reserved (made by the consumer,
//                                 not from the log: a refused command appends nothing)
//
// Every event has "eventId" (32 hex digits), stable for its source: the
// ledger event's id for the first four, reservation_extended, stock_updated
// and the sales blocks, a hash of the ledger
// event id and the alert kind for the alerts, and a hash of the order event's
// eventId for reservation_failed. Consumers deduplicate on it. Each carries
// its cause's traceparent as a header (HeadersOf). The Kafka key
// is the SKU (the order id for reservation_failed), so one SKU's events keep
// their order.
//
// The three alerts are ledger::AlertsOf (ledger/stock_rules.h) over the SKU's
// stock state before and after the event, the same state the projector's
// low/out-of-stock sets hold; discontinued items raise none.
//
// Thread-safety: pure functions.
#ifndef ORDERS_PUBLIC_EVENT_H_
#define ORDERS_PUBLIC_EVENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "ledger/event.h"
#include "ledger/rejection.h"
#include "ledger/state.h"
#include "ledger/stock_rules.h"

namespace orders {

struct PublicEvent {
  std::string key;         // Kafka key
  std::string type;        // "inventory.reserved", ...; also sent as header "type"
  std::string event_id;    // 32 hex digits
  std::string json;        // the message body
  // The W3C traceparent of the request or order event that caused it (the
  // ledger event's, or the order event's for reservation_failed); sent as
  // header "traceparent" when set, so consumers continue the caller's trace.
  std::string traceparent;
};

// The Kafka headers of a public event: "type", "eventId", and "traceparent"
// when it has one.
std::vector<std::pair<std::string, std::string>> HeadersOf(const PublicEvent& event);

// What the mapping needs to know of the state around one ledger event, read
// before and after it is folded.
struct LevelView {
  ledger::Quantity on_hand = 0;        // at the (SKU, warehouse) the event touches
  ledger::Quantity available = 0;      // at that (SKU, warehouse)
  ledger::Quantity sku_available = 0;  // the SKU's total over warehouses
  ledger::Quantity reorder_point = 0;
  ledger::StockState stock_state = ledger::StockState::kUntracked;  // the SKU's (ledger/stock_rules.h)
};

// The warehouse whose level `payload` changes (the source for a transfer
// shipment, the destination for its receipt); nullopt for item and
// warehouse events.
std::optional<ledger::WarehouseCode> TouchedWarehouse(const ledger::EventPayload& payload);

// Reads the view of `sku` at `warehouse` from `state`.
LevelView ViewOf(const ledger::State& state, const ledger::Sku& sku, const ledger::WarehouseCode& warehouse);

// The public events for one ledger event. `order_id` is the reservation's
// order, when the event is a reservation event and it is known.
std::vector<PublicEvent> ToPublicEvents(const ledger::Event& event, const LevelView& before, const LevelView& after,
                                        std::string_view order_id);

// The publisher's step for one ledger event: folds it into `state` (the
// publisher's own) and appends its public events, mapped from the views
// before and after, to `out`. An event Evolve refuses is returned as its
// error, with `state` and `out` unchanged.
absl::Status FoldToPublicEvents(ledger::State& state, const ledger::Event& event, std::vector<PublicEvent>* out);

// inventory.reservation_failed for a refused order.created. `source_event_id`
// is the order event's eventId; `rejection` names the reason and, for
// insufficient stock, the lines (only the short ones are listed).
PublicEvent ReservationFailed(std::string_view source_event_id, std::string_view order_id,
                              std::string_view reservation_id, const ledger::Rejection& rejection,
                              ledger::TimeMs at_ms);

}  // namespace orders

#endif  // ORDERS_PUBLIC_EVENT_H_
