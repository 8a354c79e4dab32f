// Integration events for other services: JSON on the public topic
// (inventory.public by default). docs/orders.md shows each one.
//
//   inventory.reserved            one per reservation allocation (ReservationLineReserved)
//   inventory.confirmed           one per committed allocation
//   inventory.released            one per released allocation
//   inventory.expired             one per expired allocation
//   inventory.stock_updated       a movement changed on_hand at a (SKU, warehouse)
//   inventory.low_stock           the SKU's available total fell to its reorder point or below
//   inventory.out_of_stock        the SKU's available total fell to zero
//   inventory.reservation_failed  an order could not be reserved (made by the consumer,
//                                 not from the log: a refused command appends nothing)
//
// Every event has "eventId" (32 hex digits), stable for its source: the
// ledger event's id for the first four and stock_updated, a hash of the ledger
// event id and the alert kind for the alerts, and a hash of the order event's
// eventId for reservation_failed. Consumers deduplicate on it. The Kafka key
// is the SKU (the order id for reservation_failed), so one SKU's events keep
// their order.
//
// Thread-safety: pure functions.
#ifndef ORDERS_PUBLIC_EVENT_H_
#define ORDERS_PUBLIC_EVENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event.h"
#include "ledger/rejection.h"
#include "ledger/state.h"

namespace orders {

struct PublicEvent {
  std::string key;         // Kafka key
  std::string type;        // "inventory.reserved", ...; also sent as header "type"
  std::string event_id;    // 32 hex digits
  std::string json;        // the message body
};

// What the mapping needs to know of the state around one ledger event, read
// before and after it is folded.
struct LevelView {
  ledger::Quantity on_hand = 0;        // at the (SKU, warehouse) the event touches
  ledger::Quantity available = 0;      // at that (SKU, warehouse)
  ledger::Quantity sku_available = 0;  // the SKU's total over warehouses
  ledger::Quantity reorder_point = 0;
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

// inventory.reservation_failed for a refused order.created. `source_event_id`
// is the order event's eventId; `rejection` names the reason and, for
// insufficient stock, the lines (only the short ones are listed).
PublicEvent ReservationFailed(std::string_view source_event_id, std::string_view order_id,
                              std::string_view reservation_id, const ledger::Rejection& rejection,
                              ledger::TimeMs at_ms);

}  // namespace orders

#endif  // ORDERS_PUBLIC_EVENT_H_
