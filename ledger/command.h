// Commands: what callers ask the ledger to do. decide() turns one into events
// or a rejection. Every command carries CommandMeta: its idempotency key and
// the time it is decided at (the core never reads a clock).
//
// Thread-safety: plain values.
#ifndef LEDGER_COMMAND_H_
#define LEDGER_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ledger/types.h"

namespace ledger {

struct CommandMeta {
  CommandId command_id;  // idempotency key, required
  TimeMs now_ms{};       // decision time; becomes each event's occurred_at_ms
  std::string actor;
  std::string correlation_id;
  // The caller's W3C traceparent, already validated (metrics::TraceIdOf);
  // becomes each event's traceparent. Not part of the idempotency fingerprint.
  std::string traceparent;
};

struct CreateItem {
  Sku sku;
  std::string name;
  std::string category;
  Attributes attributes;
  Quantity reorder_point = 0;
  Quantity reorder_quantity = 0;
};

// Fields left empty keep their values.
struct UpdateItem {
  Sku sku;
  std::optional<std::string> name;
  std::optional<std::string> category;
  std::optional<Attributes> attributes;
  std::optional<Quantity> reorder_point;
  std::optional<Quantity> reorder_quantity;
};

// DeleteItem in the API: history is never erased.
struct DiscontinueItem {
  Sku sku;
};

struct RegisterWarehouse {
  WarehouseCode warehouse;
  std::string name;
  std::string region;
  std::int32_t priority = 100;  // lower is preferred
  bool active = true;
};

struct UpdateWarehouse {
  WarehouseCode warehouse;
  std::optional<std::string> name;
  std::optional<std::string> region;
  std::optional<std::int32_t> priority;
  std::optional<bool> active;
};

struct ReceiveStock {
  Sku sku;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  std::string reference;
};

// damage and loss need delta < 0; found and return need delta > 0;
// correction either sign.
//
// expected_on_hand (adjustments and counts): the on-hand figure the caller
// decided on; when on hand at (sku, warehouse) is another figure the command
// is refused kOnHandChanged with the current one (optimistic concurrency).
// Receipts take none: they add to whatever is on hand.
struct AdjustStock {
  Sku sku;
  WarehouseCode warehouse;
  Quantity delta = 0;
  AdjustmentReason reason = AdjustmentReason::kCorrection;
  std::string reference;
  std::optional<Quantity> expected_on_hand;
};

struct CountStock {
  Sku sku;
  WarehouseCode warehouse;
  Quantity counted = 0;
  std::optional<Quantity> expected_on_hand;
};

struct ShipTransfer {
  TransferId transfer_id;
  Sku sku;
  WarehouseCode from;
  WarehouseCode to;
  Quantity quantity = 0;
};

struct ReceiveTransfer {
  TransferId transfer_id;
};

struct ReserveLine {
  Sku sku;
  Quantity quantity = 0;
  WarehouseCode warehouse;  // empty: allocation chooses
};

struct Reserve {
  ReservationId reservation_id;
  OrderId order_id;
  std::vector<ReserveLine> lines;
  DurationMs ttl_ms = std::chrono::minutes{15};
  SplitPolicy split = SplitPolicy::kSingleWarehouse;
  std::string preferred_region;
};

// One line of a partial commit: the allocations it names (those filling
// request line `request_line` of the Reserve, or else those of `sku` at
// `warehouse`) and how many of their units to commit, taken from them in
// allocation order.
struct CommitLine {
  std::optional<std::uint32_t> request_line;
  Sku sku;
  WarehouseCode warehouse;
  Quantity quantity = 0;
  friend bool operator==(const CommitLine&, const CommitLine&) = default;
};

// Commits every allocation whole, or with `lines` only the units they name,
// releasing the rest in the same command (a partial shipment): one
// ReservationCommitted per allocation either way, carrying what it commits
// and what it releases.
struct CommitReservation {
  ReservationId reservation_id;
  std::vector<CommitLine> lines;  // empty: everything
};

// What a release does to a reservation already committed: refuse
// (ALREADY_RESOLVED, the default), or return the committed stock to on hand,
// one StockAdjusted (reason return, +quantity) per committed allocation, as
// an order cancelled after payment needs. Deciding the return in the same
// command keeps it in command order: a reservation after the cancellation
// sees the returned stock (docs/orders.md).
enum class IfCommitted : std::uint8_t { kRefuse, kReturnStock };

struct ReleaseReservation {
  ReservationId reservation_id;
  ReleaseReason reason = ReleaseReason::kCancelled;
  IfCommitted if_committed = IfCommitted::kRefuse;
};

// kDue: the expiry timer's, valid once meta.now_ms >= expires_at_ms.
// kNow: an operator's, expires an active reservation at once.
enum class ExpireWhen : std::uint8_t { kDue, kNow };

struct ExpireReservation {
  ReservationId reservation_id;
  ExpireWhen when = ExpireWhen::kDue;
};

// Moves an active reservation's expiry to meta.now_ms + ttl_ms, which must be
// later than the current one; ttl_ms is bounded like Reserve's.
struct ExtendReservation {
  ReservationId reservation_id;
  DurationMs ttl_ms{};
};

// Refuses new reservations of `sku` at `warehouse` (every warehouse when
// empty) until UnblockSales of the same scope (ledger/stock_rules.h
// SalesBlockOf). One block per scope; `reason` is required.
struct BlockSales {
  Sku sku;
  WarehouseCode warehouse;  // empty: every warehouse
  std::string reason;
};

struct UnblockSales {
  Sku sku;
  WarehouseCode warehouse;  // empty: the everywhere block
};

// New kinds go at the end: a body's index is part of its fingerprint.
using CommandBody = std::variant<CreateItem, UpdateItem, DiscontinueItem, RegisterWarehouse, UpdateWarehouse,
                                 ReceiveStock, AdjustStock, CountStock, ShipTransfer, ReceiveTransfer, Reserve,
                                 CommitReservation, ReleaseReservation, ExpireReservation, BlockSales,
                                 UnblockSales, ExtendReservation>;

struct Command {
  CommandMeta meta;
  CommandBody body;
};

// Stable 64-bit hash of a command body's content (not its meta): the same
// command id arriving with a different body is a reused idempotency key.
std::uint64_t Fingerprint(const CommandBody& body);

}  // namespace ledger

#endif  // LEDGER_COMMAND_H_
