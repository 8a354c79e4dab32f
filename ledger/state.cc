#include "ledger/state.h"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "ledger/command.h"
#include "ledger/stock_rules.h"

namespace ledger {

ReservationStatus ReservationState::status() const {
  return ReservationStatusOf(allocations, [](const ReservationAllocation& a) -> std::optional<ReservationStatus> {
    if (!a.present) return std::nullopt;
    return a.status;
  });
}

bool ReservationState::complete() const {
  return std::all_of(allocations.begin(), allocations.end(), [](const auto& a) { return a.present; });
}

State::State(LedgerOptions options) : options_(options) {}

std::optional<ItemIndex> State::FindItem(const Sku& sku) const {
  auto it = item_index_.find(sku.value());
  if (it == item_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<WarehouseIndex> State::FindWarehouse(const WarehouseCode& code) const {
  auto it = warehouse_index_.find(code.value());
  if (it == warehouse_index_.end()) return std::nullopt;
  return it->second;
}

const ItemState* State::item(const Sku& sku) const {
  std::optional<ItemIndex> index = FindItem(sku);
  return index ? &items_[*index] : nullptr;
}

const WarehouseState* State::warehouse(const WarehouseCode& code) const {
  std::optional<WarehouseIndex> index = FindWarehouse(code);
  return index ? &warehouses_[*index] : nullptr;
}

const ReservationState* State::reservation(const ReservationId& id) const {
  auto it = reservations_.find(id.value());
  return it == reservations_.end() ? nullptr : &it->second;
}

const TransferState* State::transfer(const TransferId& id) const {
  auto it = transfers_.find(id.value());
  return it == transfers_.end() ? nullptr : &it->second;
}

const CommandRecord* State::command(const CommandId& id) const {
  auto it = commands_.find(id.value());
  return it == commands_.end() ? nullptr : &it->second;
}

void State::Prefetch(const Command& command) const {
  commands_.prefetch(command.meta.command_id.value());
  std::visit(
      [this](const auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (requires { body.reservation_id; }) reservations_.prefetch(body.reservation_id.value());
        if constexpr (std::is_same_v<Body, Reserve>) {
          for (const ReserveLine& line : body.lines) item_index_.prefetch(line.sku.value());
        }
      },
      command.body);
}

StockLevel State::Level(ItemIndex item, WarehouseIndex warehouse) const {
  for (const LevelEntry& entry : items_[item].levels) {
    if (entry.warehouse == warehouse) return entry.level;
  }
  return {};
}

StockLevel State::Level(const Sku& sku, const WarehouseCode& warehouse) const {
  std::optional<ItemIndex> i = FindItem(sku);
  std::optional<WarehouseIndex> w = FindWarehouse(warehouse);
  if (!i || !w) return {};
  return Level(*i, *w);
}

StockLevel State::TotalLevel(const Sku& sku) const {
  StockLevel total;
  const ItemState* it = item(sku);
  if (it == nullptr) return total;
  for (const LevelEntry& entry : it->levels) {
    total.on_hand += entry.level.on_hand;
    total.reserved += entry.level.reserved;
    total.incoming += entry.level.incoming;
  }
  return total;
}

std::vector<ReservationId> State::ExpiredBy(TimeMs now_ms, std::size_t max) const {
  std::vector<ReservationId> out;
  for (const auto& [expires_at_ms, id] : active_by_expiry_) {
    if (expires_at_ms > now_ms || out.size() >= max) break;
    out.emplace_back(id);
  }
  return out;
}

std::optional<TimeMs> State::NextExpiry() const {
  if (active_by_expiry_.empty()) return std::nullopt;
  return active_by_expiry_.begin()->first;
}

std::size_t State::ApproximateBytes() const {
  auto string_heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  std::size_t bytes = sizeof(State);
  bytes += item_index_.capacity() * (sizeof(std::pair<std::string, ItemIndex>) + 1);
  bytes += items_.capacity() * sizeof(ItemState);
  for (const ItemState& item : items_) {
    bytes += string_heap(item.sku.value()) + string_heap(item.name) + string_heap(item.category);
    bytes += item.attributes.capacity() * sizeof(Attribute);
    if (item.levels.capacity() > 3) bytes += item.levels.capacity() * sizeof(LevelEntry);
    bytes += item.sales_blocks.capacity() * sizeof(SalesBlock);
  }
  for (const auto& [key, index] : item_index_) bytes += string_heap(key);
  bytes += warehouses_.capacity() * sizeof(WarehouseState);
  bytes += reservations_.capacity() * (sizeof(std::pair<std::string, ReservationState>) + 1);
  bytes += commands_.capacity() * (sizeof(std::pair<std::string, CommandRecord>) + 1);
  bytes += command_order_.size() * sizeof(std::pair<TimeMs, std::string>);
  return bytes;
}

bool operator==(const State& a, const State& b) {
  return a.item_index_ == b.item_index_ && a.items_ == b.items_ && a.warehouse_index_ == b.warehouse_index_ &&
         a.warehouses_ == b.warehouses_ && a.reservations_ == b.reservations_ &&
         a.active_by_expiry_ == b.active_by_expiry_ && a.transfers_ == b.transfers_ && a.commands_ == b.commands_ &&
         a.events_applied_ == b.events_applied_ && a.time_high_water_ms_ == b.time_high_water_ms_;
}

}  // namespace ledger
