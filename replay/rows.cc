#include "replay/rows.h"

#include <algorithm>
#include <variant>

namespace replay {
namespace {

std::string_view ReleaseReasonName(ledger::ReleaseReason reason) {
  switch (reason) {
    case ledger::ReleaseReason::kCancelled: return "cancelled";
    case ledger::ReleaseReason::kPaymentFailed: return "payment_failed";
    case ledger::ReleaseReason::kOrderCancelled: return "order_cancelled";
  }
  return "unknown";
}

// The payload-specific cells of an event row.
struct Movement {
  std::string warehouse, other_warehouse;
  std::optional<int64_t> quantity, counted, released;
  std::string reason, reference, reservation_id, order_id, transfer_id, name, category;
};

struct ToMovement {
  Movement m;
  void operator()(const ledger::ItemCreated& e) {
    m.name = e.name;
    m.category = e.category;
  }
  void operator()(const ledger::ItemUpdated& e) {
    m.name = e.name.value_or("");
    m.category = e.category.value_or("");
  }
  void operator()(const ledger::ItemDiscontinued&) {}
  void operator()(const ledger::WarehouseRegistered& e) {
    m.warehouse = e.warehouse.value();
    m.name = e.name;
    m.category = e.region;
  }
  void operator()(const ledger::WarehouseUpdated& e) {
    m.warehouse = e.warehouse.value();
    m.name = e.name;
    m.category = e.region;
  }
  void operator()(const ledger::StockReceived& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.quantity;
    m.reference = e.reference;
  }
  void operator()(const ledger::StockAdjusted& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.delta;
    m.reason = ledger::ToString(e.reason);
    m.reference = e.reference;
  }
  void operator()(const ledger::StockCounted& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.delta;
    m.counted = e.counted;
  }
  void operator()(const ledger::TransferShipped& e) {
    m.warehouse = e.from.value();
    m.other_warehouse = e.to.value();
    m.quantity = e.quantity;
    m.transfer_id = e.transfer_id.value();
  }
  void operator()(const ledger::TransferReceived& e) {
    m.warehouse = e.to.value();
    m.other_warehouse = e.from.value();
    m.quantity = e.quantity;
    m.transfer_id = e.transfer_id.value();
  }
  void operator()(const ledger::ReservationLineReserved& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.quantity;
    m.reservation_id = e.reservation_id.value();
    m.order_id = e.order_id.value();
  }
  // quantity: the units that left; released: those a partial commit released.
  void operator()(const ledger::ReservationCommitted& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.quantity;
    if (e.released_quantity > 0) m.released = e.released_quantity;
    m.reservation_id = e.reservation_id.value();
  }
  void operator()(const ledger::ReservationReleased& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.quantity;
    m.reason = ReleaseReasonName(e.reason);
    m.reservation_id = e.reservation_id.value();
  }
  void operator()(const ledger::ReservationExpired& e) {
    m.warehouse = e.warehouse.value();
    m.quantity = e.quantity;
    m.reservation_id = e.reservation_id.value();
  }
  void operator()(const ledger::ReservationExtended& e) {
    m.warehouse = e.warehouse.value();
    m.reservation_id = e.reservation_id.value();
    m.reference = FormatTime(e.expires_at_ms);  // the new expiry
  }
  // The block's scope is its warehouse (empty: everywhere), its reason the reason.
  void operator()(const ledger::SalesBlocked& e) {
    m.warehouse = e.warehouse.value();
    m.reason = e.reason;
  }
  void operator()(const ledger::SalesUnblocked& e) { m.warehouse = e.warehouse.value(); }
};

Cell Text(const std::string& s) { return s.empty() ? Cell::Null() : Cell::Str(s); }
Cell Number(std::optional<int64_t> v) { return v ? Cell::Num(*v) : Cell::Null(); }

std::vector<Cell> LevelCells(const std::string& sku, const std::string& warehouse, const ledger::StockLevel& l) {
  return {Cell::Str(sku),         Cell::Str(warehouse),         Cell::Num(l.on_hand),
          Cell::Num(l.reserved),  Cell::Num(l.available()),     Cell::Num(l.incoming)};
}

}  // namespace

const std::vector<std::string>& EventColumns() {
  static const std::vector<std::string> kColumns = {
      "partition", "offset",    "event_id",       "occurred_at",    "occurred_at_ms", "kind",
      "sku",       "warehouse", "other_warehouse", "quantity",      "counted",        "reason",
      "reference", "reservation_id", "order_id",  "transfer_id",    "name",           "category",
      "actor",     "command_id", "correlation_id", "traceparent", "released"};
  return kColumns;
}

std::vector<Cell> EventRow(const eventlog::LogPosition& position, const ledger::Event& event) {
  ToMovement visitor;
  std::visit(visitor, event.payload);
  const Movement& m = visitor.m;
  const ledger::Envelope& env = event.envelope;
  return {Cell::Num(position.partition),
          Cell::Num(static_cast<int64_t>(position.offset)),
          Cell::Str(env.event_id.ToHex()),
          Cell::Str(FormatTime(env.occurred_at_ms)),
          Cell::Num(ledger::EpochMs(env.occurred_at_ms)),
          Cell::Str(std::string(ledger::KindName(event.payload))),
          Text(env.sku.value()),
          Text(m.warehouse),
          Text(m.other_warehouse),
          Number(m.quantity),
          Number(m.counted),
          Text(m.reason),
          Text(m.reference),
          Text(m.reservation_id),
          Text(m.order_id),
          Text(m.transfer_id),
          Text(m.name),
          Text(m.category),
          Text(env.actor),
          Text(env.command_id.value()),
          Text(env.correlation_id),
          Text(env.traceparent),
          Number(m.released)};
}

std::string MovementWarehouse(const ledger::Event& event) {
  ToMovement visitor;
  std::visit(visitor, event.payload);
  return visitor.m.warehouse;
}

const std::vector<std::string>& LevelColumns() {
  static const std::vector<std::string> kColumns = {"sku", "warehouse", "on_hand", "reserved", "available", "incoming"};
  return kColumns;
}

bool RowFilter::Matches(std::string_view sku, std::string_view warehouse) const {
  const auto in = [](const std::vector<std::string>& set, std::string_view v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  return in(skus, sku) && in(warehouses, warehouse);
}

uint64_t WriteLevels(const ledger::State& state, const RowFilter& filter, RowWriter& out) {
  std::vector<const ledger::ItemState*> items;
  for (const ledger::ItemState& item : state.items()) items.push_back(&item);
  std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->sku.value() < b->sku.value(); });
  uint64_t rows = 0;
  for (const ledger::ItemState* item : items) {
    std::vector<std::pair<std::string, ledger::StockLevel>> levels;
    for (const ledger::LevelEntry& e : item->levels) {
      const std::string& code = state.warehouse(e.warehouse).code.value();
      if (filter.Matches(item->sku.value(), code)) levels.emplace_back(code, e.level);
    }
    std::sort(levels.begin(), levels.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (const auto& [code, level] : levels) {
      out.Write(LevelCells(item->sku.value(), code, level));
      ++rows;
    }
  }
  return rows;
}

const std::vector<std::string>& OpenReservationColumns() {
  static const std::vector<std::string> kColumns = {"reservation_id", "order_id",     "sku",        "warehouse",
                                                    "quantity",       "request_line", "created_at", "expires_at"};
  return kColumns;
}

uint64_t WriteOpenReservations(const ledger::State& state, const RowFilter& filter, RowWriter& out) {
  std::vector<const ledger::ReservationState*> open;
  for (const auto& [id, r] : state.reservations()) {
    if (r.status() == ledger::ReservationStatus::kActive) open.push_back(&r);
  }
  std::sort(open.begin(), open.end(), [](auto* a, auto* b) { return a->id.value() < b->id.value(); });
  uint64_t rows = 0;
  for (const ledger::ReservationState* r : open) {
    for (const ledger::ReservationAllocation& a : r->allocations) {
      if (!a.present || a.status != ledger::ReservationStatus::kActive) continue;
      const std::string& sku = state.item(a.item).sku.value();
      const std::string& code = state.warehouse(a.warehouse).code.value();
      if (!filter.Matches(sku, code)) continue;
      out.Write({Cell::Str(r->id.value()), Cell::Str(r->order_id.value()), Cell::Str(sku), Cell::Str(code),
                 Cell::Num(a.quantity), Cell::Num(a.request_line), Cell::Str(FormatTime(r->created_at_ms)),
                 Cell::Str(FormatTime(r->expires_at_ms))});
      ++rows;
    }
  }
  return rows;
}

const std::vector<std::string>& SalesBlockColumns() {
  static const std::vector<std::string> kColumns = {"sku", "warehouse", "reason", "blocked_at", "actor"};
  return kColumns;
}

uint64_t WriteSalesBlocks(const ledger::State& state, const RowFilter& filter, RowWriter& out) {
  std::vector<const ledger::ItemState*> items;
  for (const ledger::ItemState& item : state.items()) {
    if (!item.sales_blocks.empty()) items.push_back(&item);
  }
  std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->sku.value() < b->sku.value(); });
  uint64_t rows = 0;
  for (const ledger::ItemState* item : items) {
    for (const ledger::SalesBlock& b : item->sales_blocks) {  // the everywhere block first
      // The everywhere block covers whichever warehouse the filter names.
      const bool match = b.warehouse.empty() ? RowFilter{filter.skus, {}}.Matches(item->sku.value(), "")
                                             : filter.Matches(item->sku.value(), b.warehouse.value());
      if (!match) continue;
      out.Write({Cell::Str(item->sku.value()), Text(b.warehouse.value()), Cell::Str(b.reason),
                 Cell::Str(FormatTime(b.blocked_at_ms)), Text(b.actor)});
      ++rows;
    }
  }
  return rows;
}

const std::vector<std::string>& HistoryColumns() {
  static const std::vector<std::string> kColumns = [] {
    std::vector<std::string> columns = EventColumns();
    for (const char* c : {"on_hand", "reserved", "available", "incoming"}) columns.emplace_back(c);
    return columns;
  }();
  return kColumns;
}

std::vector<Cell> HistoryRow(const eventlog::LogPosition& position, const ledger::Event& event,
                             const ledger::State& state) {
  std::vector<Cell> cells = EventRow(position, event);
  const std::string warehouse = MovementWarehouse(event);
  if (warehouse.empty() || event.envelope.sku.empty()) {
    for (int i = 0; i < 4; ++i) cells.push_back(Cell::Null());
    return cells;
  }
  const ledger::StockLevel l = state.Level(event.envelope.sku, ledger::WarehouseCode(warehouse));
  for (int64_t v : {l.on_hand, l.reserved, l.available(), l.incoming}) cells.push_back(Cell::Num(v));
  return cells;
}

absl::StatusOr<FoldResult> ExportEvents(eventlog::EventLog& log, RowWriter& out, FoldOptions options) {
  options.apply = false;
  options.on_event = [&out](const eventlog::LogPosition& position, const ledger::Event& event, const ledger::State&,
                            bool) { out.Write(EventRow(position, event)); };
  Folder folder(std::move(options));
  absl::Status status = folder.Run(log, {});
  if (!status.ok()) return status;
  return folder.result();
}

}  // namespace replay
