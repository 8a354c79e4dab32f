// The ledger's events as C++ values: an envelope and one payload each.
// These are what decide() emits and evolve() folds; ledger/codec.h turns them
// into inventory.v1.Event (proto/events.proto) and back.
//
// Every event touches one SKU and is keyed by it, except warehouse events,
// which are keyed "warehouse/<code>" (see PartitionKey).
//
// Thread-safety: plain values.
#ifndef LEDGER_EVENT_H_
#define LEDGER_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "ledger/types.h"

namespace ledger {

struct Envelope {
  EventId event_id;
  std::uint32_t schema_version = 0;
  TimeMs occurred_at_ms{};
  CommandId command_id;
  std::string actor;
  std::string correlation_id;
  std::string traceparent;  // the causing request's W3C traceparent, "" when none
  Sku sku;  // empty for warehouse events
  std::uint64_t command_fingerprint = 0;
  std::uint32_t command_event_index = 0;
  std::uint32_t command_event_count = 0;
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

struct ItemCreated {
  std::string name;
  std::string category;
  Attributes attributes;
  Quantity reorder_point = 0;
  Quantity reorder_quantity = 0;
  friend bool operator==(const ItemCreated&, const ItemCreated&) = default;
};

// Fields left empty keep their values.
struct ItemUpdated {
  std::optional<std::string> name;
  std::optional<std::string> category;
  std::optional<Attributes> attributes;
  std::optional<Quantity> reorder_point;
  std::optional<Quantity> reorder_quantity;
  friend bool operator==(const ItemUpdated&, const ItemUpdated&) = default;
};

struct ItemDiscontinued {
  friend bool operator==(const ItemDiscontinued&, const ItemDiscontinued&) = default;
};

struct WarehouseRegistered {
  WarehouseCode warehouse;
  std::string name;
  std::string region;
  std::int32_t priority = 0;
  bool active = true;
  friend bool operator==(const WarehouseRegistered&, const WarehouseRegistered&) = default;
};

// Carries the warehouse's full record after the update.
struct WarehouseUpdated {
  WarehouseCode warehouse;
  std::string name;
  std::string region;
  std::int32_t priority = 0;
  bool active = true;
  friend bool operator==(const WarehouseUpdated&, const WarehouseUpdated&) = default;
};

struct StockReceived {
  WarehouseCode warehouse;
  Quantity quantity = 0;
  std::string reference;
  friend bool operator==(const StockReceived&, const StockReceived&) = default;
};

struct StockAdjusted {
  WarehouseCode warehouse;
  Quantity delta = 0;
  AdjustmentReason reason = AdjustmentReason::kCorrection;
  std::string reference;
  friend bool operator==(const StockAdjusted&, const StockAdjusted&) = default;
};

struct StockCounted {
  WarehouseCode warehouse;
  Quantity counted = 0;
  Quantity delta = 0;  // counted - on_hand before
  friend bool operator==(const StockCounted&, const StockCounted&) = default;
};

struct TransferShipped {
  TransferId transfer_id;
  WarehouseCode from;
  WarehouseCode to;
  Quantity quantity = 0;
  friend bool operator==(const TransferShipped&, const TransferShipped&) = default;
};

struct TransferReceived {
  TransferId transfer_id;
  WarehouseCode from;
  WarehouseCode to;
  Quantity quantity = 0;
  friend bool operator==(const TransferReceived&, const TransferReceived&) = default;
};

struct ReservationLineReserved {
  ReservationId reservation_id;
  OrderId order_id;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  TimeMs expires_at_ms{};
  std::uint32_t allocation_index = 0;
  std::uint32_t allocation_count = 0;
  std::uint32_t request_line = 0;
  friend bool operator==(const ReservationLineReserved&, const ReservationLineReserved&) = default;
};

// quantity leaves (on_hand and reserved drop); released_quantity, the part
// of the allocation a partial commit did not take, is released (reserved
// drops). quantity + released_quantity is the allocation's quantity.
struct ReservationCommitted {
  ReservationId reservation_id;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  std::uint32_t allocation_index = 0;
  Quantity released_quantity = 0;
  friend bool operator==(const ReservationCommitted&, const ReservationCommitted&) = default;
};

struct ReservationReleased {
  ReservationId reservation_id;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  std::uint32_t allocation_index = 0;
  ReleaseReason reason = ReleaseReason::kCancelled;
  friend bool operator==(const ReservationReleased&, const ReservationReleased&) = default;
};

struct ReservationExpired {
  ReservationId reservation_id;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  std::uint32_t allocation_index = 0;
  friend bool operator==(const ReservationExpired&, const ReservationExpired&) = default;
};

// One allocation's share of an extension: the reservation now expires at
// expires_at_ms (later than before).
struct ReservationExtended {
  ReservationId reservation_id;
  WarehouseCode warehouse;
  std::uint32_t allocation_index = 0;
  TimeMs expires_at_ms{};
  friend bool operator==(const ReservationExtended&, const ReservationExtended&) = default;
};

// Sales of the event's SKU are blocked at `warehouse` (everywhere when empty).
struct SalesBlocked {
  WarehouseCode warehouse;
  std::string reason;
  friend bool operator==(const SalesBlocked&, const SalesBlocked&) = default;
};

struct SalesUnblocked {
  WarehouseCode warehouse;
  friend bool operator==(const SalesUnblocked&, const SalesUnblocked&) = default;
};

using EventPayload =
    std::variant<ItemCreated, ItemUpdated, ItemDiscontinued, WarehouseRegistered, WarehouseUpdated, StockReceived,
                 StockAdjusted, StockCounted, TransferShipped, TransferReceived, ReservationLineReserved,
                 ReservationCommitted, ReservationReleased, ReservationExpired, SalesBlocked, SalesUnblocked,
                 ReservationExtended>;

struct Event {
  Envelope envelope;
  EventPayload payload;
  friend bool operator==(const Event&, const Event&) = default;
};

// The key the log partitions by: the SKU, or "warehouse/<code>" for
// warehouse events.
std::string PartitionKey(const Event& event);

// A short stable name of the payload kind ("stock_received", ...), as used in
// inventoryctl's exports and history and in integration events' "cause".
// Movement.kind (QueryService) has its own, shorter names ("received"):
// docs/architecture.md, "Event kind names".
std::string_view KindName(const EventPayload& payload);

}  // namespace ledger

#endif  // LEDGER_EVENT_H_
