#include "ledger/stock_rules.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace ledger {
namespace {

// One operator() per payload kind, so a new kind does not compile until its
// level changes are written down here.
struct ChangesOf {
  LevelChanges operator()(const ItemCreated&) const { return {}; }
  LevelChanges operator()(const ItemUpdated&) const { return {}; }
  LevelChanges operator()(const ItemDiscontinued&) const { return {}; }
  LevelChanges operator()(const WarehouseRegistered&) const { return {}; }
  LevelChanges operator()(const WarehouseUpdated&) const { return {}; }
  LevelChanges operator()(const StockReceived& e) const { return {{.warehouse = &e.warehouse, .on_hand = e.quantity}}; }
  LevelChanges operator()(const StockAdjusted& e) const { return {{.warehouse = &e.warehouse, .on_hand = e.delta}}; }
  LevelChanges operator()(const StockCounted& e) const { return {{.warehouse = &e.warehouse, .on_hand = e.delta}}; }
  LevelChanges operator()(const TransferShipped& e) const {
    return {{.warehouse = &e.from, .on_hand = -e.quantity}, {.warehouse = &e.to, .incoming = e.quantity}};
  }
  LevelChanges operator()(const TransferReceived& e) const {
    return {{.warehouse = &e.to, .on_hand = e.quantity, .incoming = -e.quantity}};
  }
  LevelChanges operator()(const ReservationLineReserved& e) const {
    return {{.warehouse = &e.warehouse, .reserved = e.quantity}};
  }
  LevelChanges operator()(const ReservationCommitted& e) const {
    return {{.warehouse = &e.warehouse, .on_hand = -e.quantity, .reserved = -(e.quantity + e.released_quantity)}};
  }
  LevelChanges operator()(const ReservationReleased& e) const {
    return {{.warehouse = &e.warehouse, .reserved = -e.quantity}};
  }
  LevelChanges operator()(const ReservationExpired& e) const {
    return {{.warehouse = &e.warehouse, .reserved = -e.quantity}};
  }
  LevelChanges operator()(const SalesBlocked&) const { return {}; }
  LevelChanges operator()(const SalesUnblocked&) const { return {}; }
  LevelChanges operator()(const ReservationExtended&) const { return {}; }
};

}  // namespace

LevelChanges LevelChangesOf(const EventPayload& payload) { return std::visit(ChangesOf{}, payload); }
LevelChanges LevelChangesOf(const StockReceived& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const StockAdjusted& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const StockCounted& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const TransferShipped& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const TransferReceived& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const ReservationLineReserved& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const ReservationCommitted& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const ReservationReleased& e) { return ChangesOf{}(e); }
LevelChanges LevelChangesOf(const ReservationExpired& e) { return ChangesOf{}(e); }

StockLevel Changed(StockLevel level, const LevelChange& change) {
  level.on_hand += change.on_hand;
  level.reserved += change.reserved;
  level.incoming += change.incoming;
  return level;
}

bool KeepsLevelInvariants(const StockLevel& level) {
  return level.on_hand >= 0 && level.reserved >= 0 && level.incoming >= 0 && level.reserved <= level.on_hand;
}

bool BlockCovers(std::string_view scope, std::string_view warehouse) {
  return scope.empty() || scope == warehouse;
}

const SalesBlock* SalesBlockOf(const ItemState& item, const WarehouseCode& warehouse) {
  return SalesBlockOf(item.sales_blocks, warehouse.value(), BlockScope);
}

std::string DescribeBlock(std::string_view sku, std::string_view scope, std::string_view reason) {
  return absl::StrCat("sales of ", base::AsAbsl(sku), " are blocked ",
                      scope.empty() ? "everywhere" : absl::StrCat("at ", base::AsAbsl(scope)), ": ",
                      base::AsAbsl(reason));
}

StockState StockStateOf(ItemStatus status, Quantity reorder_point, Quantity available) {
  if (status != ItemStatus::kActive) return StockState::kUntracked;
  if (available <= 0) return StockState::kOut;
  if (available <= reorder_point) return StockState::kLow;
  return StockState::kInStock;
}

StockState StockStateOf(const ItemState& item, Quantity available) {
  if (!item.created) return StockState::kUntracked;
  return StockStateOf(item.status, item.reorder_point, available);
}

StockState StockStateOf(const State& state, const Sku& sku) {
  const ItemState* item = state.item(sku);
  if (item == nullptr) return StockState::kUntracked;
  return StockStateOf(*item, state.TotalLevel(sku).available());
}

StockFlags FlagsOf(StockState state) {
  return {.low = state == StockState::kLow, .out = state == StockState::kOut};
}

StockAlerts AlertsOf(StockState before, StockState after) {
  StockAlerts alerts;
  if (before == after || after == StockState::kUntracked) return alerts;
  if (before == StockState::kOut) alerts.push_back(StockAlert::kBackInStock);
  if (after == StockState::kLow) alerts.push_back(StockAlert::kLowStock);
  if (after == StockState::kOut) alerts.push_back(StockAlert::kOutOfStock);
  return alerts;
}

std::string_view ToString(StockState state) {
  switch (state) {
    case StockState::kUntracked: return "untracked";
    case StockState::kInStock: return "in_stock";
    case StockState::kLow: return "low";
    case StockState::kOut: return "out";
  }
  return "unknown";
}

std::string_view ToString(StockAlert alert) {
  switch (alert) {
    case StockAlert::kLowStock: return "low_stock";
    case StockAlert::kOutOfStock: return "out_of_stock";
    case StockAlert::kBackInStock: return "back_in_stock";
  }
  return "unknown";
}

}  // namespace ledger
