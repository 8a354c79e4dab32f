// The tables inventoryctl prints and exports: events (one row per event, a
// flat superset of every payload's fields), stock levels, open reservations
// and sales blocks of a folded State, and a SKU's history (event rows plus the
// level they left behind).
//
// Event columns, in order:
//   partition, offset, event_id, occurred_at (RFC 3339 UTC), occurred_at_ms,
//   kind (ledger::KindName), sku, warehouse (the warehouse whose stock the
//   event changes: the source of a shipped transfer, the destination of a
//   received one), other_warehouse (a transfer's other end), quantity (the
//   change: received units, adjustment or count delta, transfer or
//   reservation quantity), counted, reason (a sales block's too; its scope
//   is warehouse, empty for every warehouse), reference (a reservation
//   extension's: the new expiry, RFC 3339), reservation_id,
//   order_id, transfer_id, name, category (an item's; a warehouse's region),
//   actor, command_id, correlation_id, traceparent, released (a partial
//   commit's: the units of the allocation it released; quantity is what left).
// Empty text cells are written as empty CSV fields and omitted from JSON.
//
// Thread-safety: pure functions.
#ifndef REPLAY_ROWS_H_
#define REPLAY_ROWS_H_

#include <string>
#include <vector>

#include "ledger/event.h"
#include "eventlog/event_log.h"
#include "ledger/state.h"
#include "replay/fold.h"
#include "replay/format.h"

namespace replay {

const std::vector<std::string>& EventColumns();
std::vector<Cell> EventRow(const eventlog::LogPosition& position, const ledger::Event& event);

// The warehouse whose level an event changes ("" for item events).
std::string MovementWarehouse(const ledger::Event& event);

// sku, warehouse, on_hand, reserved, available, incoming.
const std::vector<std::string>& LevelColumns();

// Only rows matching a non-empty SKU / warehouse filter.
struct RowFilter {
  std::vector<std::string> skus;
  std::vector<std::string> warehouses;
  bool Matches(std::string_view sku, std::string_view warehouse) const;
};

// Every level of the state in (SKU, warehouse) order. Returns rows written.
uint64_t WriteLevels(const ledger::State& state, const RowFilter& filter, RowWriter& out);

// reservation_id, order_id, sku, warehouse, quantity, request_line,
// created_at, expires_at.
const std::vector<std::string>& OpenReservationColumns();
// Active allocations of active reservations, in reservation id order.
uint64_t WriteOpenReservations(const ledger::State& state, const RowFilter& filter, RowWriter& out);

// sku, warehouse (empty: every warehouse), reason, blocked_at, actor.
const std::vector<std::string>& SalesBlockColumns();
// Sales blocks in force, in (SKU, warehouse) order, the everywhere block
// first; an everywhere block matches any warehouse filter.
uint64_t WriteSalesBlocks(const ledger::State& state, const RowFilter& filter, RowWriter& out);

// EventColumns() then on_hand, reserved, available, incoming at the event's
// warehouse after the event.
const std::vector<std::string>& HistoryColumns();
std::vector<Cell> HistoryRow(const eventlog::LogPosition& position, const ledger::Event& event,
                             const ledger::State& state);

// Streams every event of the log, partition by partition in offset order, up
// to the end offsets when called (export --what events). Decodes only; a
// record that does not decode is a violation in the result, not a row.
absl::StatusOr<FoldResult> ExportEvents(eventlog::EventLog& log, RowWriter& out, FoldOptions options = {});

}  // namespace replay

#endif  // REPLAY_ROWS_H_
