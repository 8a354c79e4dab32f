// The stock rules every reader of the log applies, each written once here:
//
//  * Level changes: which (SKU, warehouse) levels an event moves, and by how
//    much on_hand, reserved and incoming move (available = on_hand - reserved).
//  * The level invariants of BRIEF.md.
//  * A reservation's status from its allocations' statuses.
//  * Which sales block (BlockSales) stops a reservation at a warehouse.
//  * A SKU's stock state (in stock, low, out of stock, or untracked) and the
//    alerts a change of state raises (low stock, out of stock, back in stock).
//
// Evolve (ledger/evolve.cc), the projector's fold (projector/fold.cc), the
// integration publisher (orders/public_event.cc), the audit (replay/audit.cc,
// replay/fold.cc) and the query side's filters call these; none of them
// restates a rule, so the read models, the public events and the audit cannot
// disagree about what an event did or whether a SKU is low.
//
// Thread-safety: pure functions over values.
#ifndef LEDGER_STOCK_RULES_H_
#define LEDGER_STOCK_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "ledger/event.h"
#include "ledger/state.h"
#include "ledger/types.h"

namespace ledger {

// ---- Level changes -------------------------------------------------------

// How one event moves one (event SKU, warehouse) level.
struct LevelChange {
  const WarehouseCode* warehouse = nullptr;  // points into the event's payload
  Quantity on_hand = 0;
  Quantity reserved = 0;
  Quantity incoming = 0;
  Quantity available() const { return on_hand - reserved; }
};

// In movement order. Item, warehouse, sales-block and extension events move no level; a transfer
// shipment moves two (on hand out of the source first, then incoming into
// the destination); every other stock event moves one:
//
//   received, adjusted, counted   on_hand += quantity / delta
//   transfer shipped              from: on_hand -= q;  to: incoming += q
//   transfer received             to: on_hand += q, incoming -= q
//   reserved                      reserved += q
//   committed                     on_hand -= q, reserved -= q + released
//                                 (the goods leave; a partial commit
//                                 releases the rest of the allocation)
//   released, expired             reserved -= q
using LevelChanges = absl::InlinedVector<LevelChange, 2>;

// The returned warehouses point into the argument: use them while it lives.
LevelChanges LevelChangesOf(const EventPayload& payload);
LevelChanges LevelChangesOf(const StockReceived& e);
LevelChanges LevelChangesOf(const StockAdjusted& e);
LevelChanges LevelChangesOf(const StockCounted& e);
LevelChanges LevelChangesOf(const TransferShipped& e);
LevelChanges LevelChangesOf(const TransferReceived& e);
LevelChanges LevelChangesOf(const ReservationLineReserved& e);
LevelChanges LevelChangesOf(const ReservationCommitted& e);
LevelChanges LevelChangesOf(const ReservationReleased& e);
LevelChanges LevelChangesOf(const ReservationExpired& e);

// `level` after `change`.
StockLevel Changed(StockLevel level, const LevelChange& change);

// BRIEF.md's level invariants: on_hand >= 0, reserved >= 0, incoming >= 0 and
// reserved <= on_hand (so available >= 0). Evolve also bounds figures by
// kStockMax, a limit rather than an invariant of the domain.
bool KeepsLevelInvariants(const StockLevel& level);

// ---- Reservation status --------------------------------------------------

// ACTIVE while any allocation is not yet folded or still active; otherwise
// the resolution of the last allocation. `status_of(a)` gives an allocation's
// status, nullopt while its Reserved event is unfolded (allocations of one
// reservation may sit in different partitions).
template <typename Allocations, typename StatusOf>
ReservationStatus ReservationStatusOf(const Allocations& allocations, StatusOf status_of) {
  ReservationStatus resolution = ReservationStatus::kActive;
  for (const auto& allocation : allocations) {
    const std::optional<ReservationStatus> status = status_of(allocation);
    if (!status || *status == ReservationStatus::kActive) return ReservationStatus::kActive;
    resolution = *status;
  }
  return resolution;
}

// ---- Sales blocks --------------------------------------------------------

// A block of scope `scope` (a warehouse code; empty = every warehouse) covers
// `warehouse`: it is empty or the same code.
bool BlockCovers(std::string_view scope, std::string_view warehouse);

// The block that refuses a reservation at `warehouse` among `blocks`, or
// nullptr: the everywhere block first, else the block of that warehouse.
// `scope_of(b)` gives a block's scope, so the ledger's SalesBlock and the
// read models' inventory.v1.SalesBlock share the rule. An empty `warehouse`
// asks about the everywhere block only.
template <typename Blocks, typename ScopeOf>
auto SalesBlockOf(const Blocks& blocks, std::string_view warehouse, ScopeOf scope_of) -> decltype(&*blocks.begin()) {
  decltype(&*blocks.begin()) found = nullptr;
  for (const auto& block : blocks) {
    const std::string_view scope = scope_of(block);
    if (scope.empty()) return &block;
    if (found == nullptr && !warehouse.empty() && BlockCovers(scope, warehouse)) found = &block;
  }
  return found;
}
const SalesBlock* SalesBlockOf(const ItemState& item, const WarehouseCode& warehouse);
// The ledger's SalesBlock's scope, for SalesBlockOf and SalesBlockSlot.
inline std::string_view BlockScope(const SalesBlock& block) { return block.warehouse.value(); }

// Where `scope`'s block sits in warehouse-code order among `blocks` (so the
// everywhere block, "", comes first): the first block not before it.
template <typename Blocks, typename ScopeOf>
auto SalesBlockSlot(Blocks& blocks, std::string_view scope, ScopeOf scope_of) {
  auto it = blocks.begin();
  while (it != blocks.end() && std::string_view(scope_of(*it)) < scope) ++it;
  return it;
}

// "sales of SKU are blocked everywhere: reason" / "... at W: reason".
std::string DescribeBlock(std::string_view sku, std::string_view scope, std::string_view reason);

// ---- Stock state and alerts ----------------------------------------------

// Where a SKU stands, from its item's status and reorder point and its
// available total over every warehouse. Exactly one state at a time:
//
//   kUntracked  no item, or the item is discontinued
//   kOut        active, available <= 0
//   kLow        active, 0 < available <= reorder point
//   kInStock    active, available > reorder point
//
// Why these lines (BRIEF.md: "low stock (available <= reorder point), out of
// stock, back in stock"):
//  * Out of stock is its own state, not a kind of low stock. A SKU with
//    nothing available is reported and announced as out of stock only, so
//    the report never lists one SKU twice and the publisher never announces
//    two conditions for one level. With reorder point 0 a SKU is therefore
//    never low: it goes from in stock straight to out of stock.
//  * A discontinued item is untracked: it is on neither list of the report and
//    raises no alerts. Decide refuses to receive or reserve it, so a low or
//    out-of-stock signal could lead to no action; discontinuing a flagged
//    item takes it off the lists without an alert (it is not back in stock).
enum class StockState : std::uint8_t { kUntracked, kInStock, kLow, kOut };

StockState StockStateOf(ItemStatus status, Quantity reorder_point, Quantity available);
// kUntracked unless the item is created; `available` is the SKU's total.
StockState StockStateOf(const ItemState& item, Quantity available);
// The state of `sku` in `state` (kUntracked when unknown).
StockState StockStateOf(const State& state, const Sku& sku);

// The projector's flags: the report's low-stock and out-of-stock sets and
// InventoryUpdate.low_stock / out_of_stock. Never both.
struct StockFlags {
  bool low = false;
  bool out = false;
  friend bool operator==(const StockFlags&, const StockFlags&) = default;
};
StockFlags FlagsOf(StockState state);

// The integration publisher's alerts: one for each change of state that is
// news to a subscriber, in this order:
//
//   kBackInStock  out of stock -> in stock or low
//   kLowStock     in stock, out of stock or untracked -> low
//   kOutOfStock   in stock, low or untracked -> out of stock
//
// So out -> low raises back in stock, then low stock; low -> in stock and any
// change to untracked raise none. A new item starts out of stock (nothing
// received yet), so its creation raises out of stock and its first receipt
// back in stock: every back in stock follows an out of stock of the same SKU.
enum class StockAlert : std::uint8_t { kLowStock, kOutOfStock, kBackInStock };
using StockAlerts = absl::InlinedVector<StockAlert, 2>;
StockAlerts AlertsOf(StockState before, StockState after);

std::string_view ToString(StockState state);  // "untracked", "in_stock", "low", "out"
std::string_view ToString(StockAlert alert);  // "low_stock", "out_of_stock", "back_in_stock"

}  // namespace ledger

#endif  // LEDGER_STOCK_RULES_H_
