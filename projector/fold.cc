#include "projector/fold.h"

#include <algorithm>
#include <variant>

#include "logging/log_format.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/status.h"
#include "ledger/codec.h"
#include "ledger/stock_rules.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace projector {
namespace {

namespace v1 = inventory::v1;

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// ledger::ReservationStatusOf over the row's allocations; an UNSPECIFIED
// allocation is one not folded yet.
v1::ReservationStatus StatusOf(const v1::Reservation& r) {
  auto status_of = [](const v1::Allocation& a) { return ledger::FromProto(a.status()); };
  return ledger::ToProto(ledger::ReservationStatusOf(r.allocations(), status_of));
}

void AddTo(Totals& totals, ledger::Quantity on_hand, ledger::Quantity reserved, ledger::Quantity incoming) {
  totals.on_hand += on_hand;
  totals.reserved += reserved;
  totals.incoming += incoming;
}

}  // namespace

struct Fold::Visitor {
  Fold& fold;
  const Context& ctx;
  const std::string& sku;

  absl::Status operator()(const ledger::ItemCreated& e) {
    ASSIGN_OR_RETURN(Cached<v1::Item>* row, fold.ItemRow(sku));
    if (row->value) fold.Anomaly(ctx, "item created twice");
    std::string old_category = row->value ? row->value->category() : "";
    v1::Item item;
    item.set_sku(sku);
    item.set_name(e.name);
    item.set_category(e.category);
    for (const ledger::Attribute& a : e.attributes) {
      v1::Attribute* out = item.add_attributes();
      out->set_key(a.key);
      out->set_value(a.value);
    }
    item.set_reorder_point(e.reorder_point);
    item.set_reorder_quantity(e.reorder_quantity);
    item.set_status(v1::ITEM_STATUS_ACTIVE);
    row->value = std::move(item);
    Touch(fold.items_dirty_, sku, row);
    fold.flags_dirty_.insert(sku);
    return fold.ChangeCategory(sku, old_category, e.category);
  }

  absl::Status operator()(const ledger::ItemUpdated& e) {
    ASSIGN_OR_RETURN(Cached<v1::Item>* row, fold.ItemRow(sku));
    if (!row->value) {
      fold.Anomaly(ctx, "update of an unknown item");
      return absl::OkStatus();
    }
    v1::Item& item = *row->value;
    std::string old_category = item.category();
    if (e.name) item.set_name(*e.name);
    if (e.category) item.set_category(*e.category);
    if (e.attributes) {
      item.clear_attributes();
      for (const ledger::Attribute& a : *e.attributes) {
        v1::Attribute* out = item.add_attributes();
        out->set_key(a.key);
        out->set_value(a.value);
      }
    }
    if (e.reorder_point) item.set_reorder_point(*e.reorder_point);
    if (e.reorder_quantity) item.set_reorder_quantity(*e.reorder_quantity);
    Touch(fold.items_dirty_, sku, row);
    fold.flags_dirty_.insert(sku);
    return fold.ChangeCategory(sku, old_category, item.category());
  }

  absl::Status operator()(const ledger::ItemDiscontinued&) {
    ASSIGN_OR_RETURN(Cached<v1::Item>* row, fold.ItemRow(sku));
    if (!row->value) {
      fold.Anomaly(ctx, "discontinue of an unknown item");
      return absl::OkStatus();
    }
    row->value->set_status(v1::ITEM_STATUS_DISCONTINUED);
    Touch(fold.items_dirty_, sku, row);
    fold.flags_dirty_.insert(sku);
    return absl::OkStatus();
  }

  absl::Status PutWarehouse(const ledger::WarehouseCode& code, const std::string& name, const std::string& region,
                            int32_t priority, bool active) {
    ASSIGN_OR_RETURN(Cached<v1::Warehouse>* row, fold.WarehouseRow(code.value()));
    v1::Warehouse w;
    w.set_warehouse(code.value());
    w.set_name(name);
    w.set_region(region);
    w.set_priority(priority);
    w.set_active(active);
    row->value = std::move(w);
    Touch(fold.warehouses_dirty_, code.value(), row);
    return absl::OkStatus();
  }
  absl::Status operator()(const ledger::WarehouseRegistered& e) {
    return PutWarehouse(e.warehouse, e.name, e.region, e.priority, e.active);
  }
  absl::Status operator()(const ledger::WarehouseUpdated& e) {
    return PutWarehouse(e.warehouse, e.name, e.region, e.priority, e.active);
  }

  absl::Status operator()(const ledger::StockReceived& e) { return Moves(e, "received", e.reference); }
  absl::Status operator()(const ledger::StockAdjusted& e) { return Moves(e, "adjusted", e.reference, e.reason); }
  absl::Status operator()(const ledger::StockCounted& e) {
    ASSIGN_OR_RETURN(Cached<ledger::StockLevel>* level, fold.LevelRow(LevelKey(sku, e.warehouse.value())));
    ledger::Quantity before = level->value ? level->value->on_hand : 0;
    if (before + e.delta != e.counted) fold.Anomaly(ctx, "count disagrees with on_hand");
    return Moves(e, "counted");
  }
  absl::Status operator()(const ledger::TransferShipped& e) {
    return Moves(e, "transfer_shipped", e.transfer_id.value());
  }
  absl::Status operator()(const ledger::TransferReceived& e) {
    return Moves(e, "transfer_received", e.transfer_id.value());
  }
  absl::Status operator()(const ledger::ReservationLineReserved& e) {
    RETURN_IF_ERROR(fold.ReserveLine(ctx, e));
    return Moves(e, "reserved", e.reservation_id.value());
  }
  absl::Status operator()(const ledger::ReservationCommitted& e) {
    RETURN_IF_ERROR(fold.Resolve(ctx, e.reservation_id, e.allocation_index, ledger::ReservationStatus::kCommitted,
                                 e.released_quantity));
    return Moves(e, "committed", e.reservation_id.value());
  }
  absl::Status operator()(const ledger::ReservationReleased& e) {
    RETURN_IF_ERROR(fold.Resolve(ctx, e.reservation_id, e.allocation_index, ledger::ReservationStatus::kReleased));
    return Moves(e, "released", e.reservation_id.value());
  }
  absl::Status operator()(const ledger::ReservationExpired& e) {
    RETURN_IF_ERROR(fold.Resolve(ctx, e.reservation_id, e.allocation_index, ledger::ReservationStatus::kExpired));
    return Moves(e, "expired", e.reservation_id.value());
  }

  // The reservation row's expiry moves later; no level, no movement.
  absl::Status operator()(const ledger::ReservationExtended& e) {
    ASSIGN_OR_RETURN(Cached<v1::Reservation>* row, fold.ReservationRow(e.reservation_id.value()));
    if (!row->value || e.allocation_index >= static_cast<uint32_t>(row->value->allocations_size()) ||
        row->value->allocations(static_cast<int>(e.allocation_index)).status() != v1::RESERVATION_STATUS_ACTIVE) {
      fold.Anomaly(ctx, absl::StrCat("extension of an unknown or resolved allocation ", e.reservation_id.value(), "#",
                                     e.allocation_index));
      return absl::OkStatus();
    }
    if (ledger::EpochMs(e.expires_at_ms) > row->value->expires_at_ms())
      row->value->set_expires_at_ms(ledger::EpochMs(e.expires_at_ms));
    Touch(fold.reservations_dirty_, e.reservation_id.value(), row);
    return absl::OkStatus();
  }

  // Sales blocks live in the item row (Item.sales_blocks, in the ledger's
  // order) and in the report's set of blocks; they move no level.
  absl::Status operator()(const ledger::SalesBlocked& e) {
    ASSIGN_OR_RETURN(Cached<v1::Item>* row, fold.ItemRow(sku));
    if (!row->value) {
      fold.Anomaly(ctx, "sales block of an unknown item");
      return absl::OkStatus();
    }
    auto* blocks = row->value->mutable_sales_blocks();
    auto it = ledger::SalesBlockSlot(*blocks, e.warehouse.value(), ScopeOf);
    if (it != blocks->end() && it->warehouse() == e.warehouse.value()) {
      fold.Anomaly(ctx, "sales blocked twice at one scope");
      return absl::OkStatus();
    }
    v1::SalesBlock block;
    block.set_sku(sku);
    block.set_warehouse(e.warehouse.value());
    block.set_reason(e.reason);
    block.set_blocked_at_ms(ledger::EpochMs(ctx.envelope.occurred_at_ms));
    block.set_actor(ctx.envelope.actor);
    const int index = static_cast<int>(it - blocks->begin());
    *blocks->Add() = block;
    for (int i = blocks->size() - 1; i > index; --i) blocks->SwapElements(i, i - 1);
    Touch(fold.items_dirty_, sku, row);
    fold.block_writes_.emplace_back(SalesBlockKey(sku, e.warehouse.value()), block.SerializeAsString());
    return absl::OkStatus();
  }
  absl::Status operator()(const ledger::SalesUnblocked& e) {
    ASSIGN_OR_RETURN(Cached<v1::Item>* row, fold.ItemRow(sku));
    if (!row->value) {
      fold.Anomaly(ctx, "sales unblock of an unknown item");
      return absl::OkStatus();
    }
    auto* blocks = row->value->mutable_sales_blocks();
    auto it = ledger::SalesBlockSlot(*blocks, e.warehouse.value(), ScopeOf);
    if (it == blocks->end() || it->warehouse() != e.warehouse.value()) {
      fold.Anomaly(ctx, "unblock of sales not blocked at that scope");
      return absl::OkStatus();
    }
    blocks->erase(it);
    Touch(fold.items_dirty_, sku, row);
    fold.block_writes_.emplace_back(SalesBlockKey(sku, e.warehouse.value()), std::nullopt);
    return absl::OkStatus();
  }
  static std::string_view ScopeOf(const v1::SalesBlock& b) { return b.warehouse(); }

  // One movement per level `e` changes (ledger/stock_rules.h), indexed in order.
  template <typename Payload>
  absl::Status Moves(const Payload& e, std::string_view kind, std::string_view reference = {},
                     std::optional<ledger::AdjustmentReason> reason = std::nullopt) {
    uint32_t index = 0;
    for (const ledger::LevelChange& change : ledger::LevelChangesOf(e)) {
      RETURN_IF_ERROR(fold.ChangeLevel(
          ctx, {.change = change, .kind = kind, .reference = reference, .reason = reason, .index = index++}));
    }
    return absl::OkStatus();
  }
};

absl::Status Fold::Load() {
  std::unique_ptr<Snapshot> snapshot = store_->NewSnapshot();
  ASSIGN_OR_RETURN(auto by_warehouse, snapshot->WarehouseTotals());
  for (auto& [key, totals] : by_warehouse) warehouse_totals_[key] = totals;
  ASSIGN_OR_RETURN(auto by_category, snapshot->CategoryTotals());
  for (auto& [key, totals] : by_category) category_totals_[key] = totals;
  ASSIGN_OR_RETURN(counts_, snapshot->Counts());
  return absl::OkStatus();
}

absl::Status Fold::Apply(const eventlog::LogPosition& position, const ledger::Event& event,
                         std::vector<v1::InventoryUpdate>* updates) {
  Context ctx{position, event.envelope, updates};
  Visitor visitor{*this, ctx, event.envelope.sku.value()};
  return std::visit(visitor, event.payload);
}

void Fold::Anomaly(const Context& ctx, std::string_view what) {
  ++anomalies_;
  logging::ScopedLogFields fields({{"sku", ctx.envelope.sku.value()},
                                   {"command_id", ctx.envelope.command_id.value()},
                                   {"correlation_id", ctx.envelope.correlation_id}});
  spdlog::error("projector: event {} at {}:{} ({}): {}; applied as far as it makes sense",
                ctx.envelope.event_id.ToHex(), ctx.position.partition, ctx.position.offset,
                ctx.envelope.sku.value(), what);
}

template <typename T, typename Decode>
absl::StatusOr<Fold::Cached<T>*> Fold::Row(absl::node_hash_map<std::string, Cached<T>>& rows, Cf cf,
                                           const std::string& key, Decode decode) {
  auto [it, inserted] = rows.try_emplace(key);
  if (inserted) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_->Get(cf, key));
    if (bytes) {
      ASSIGN_OR_RETURN(it->second.value, decode(*bytes));
    }
  }
  return &it->second;
}

namespace {

template <typename Proto>
absl::StatusOr<Proto> ParseRow(const std::string& bytes) {
  Proto proto;
  if (!proto.ParseFromString(bytes)) return absl::DataLossError("read models: undecodable row");
  return proto;
}

}  // namespace

absl::StatusOr<Fold::Cached<v1::Item>*> Fold::ItemRow(const std::string& sku) {
  return Row(items_, Cf::kItems, sku, ParseRow<v1::Item>);
}

absl::StatusOr<Fold::Cached<v1::Warehouse>*> Fold::WarehouseRow(const std::string& code) {
  return Row(warehouses_, Cf::kWarehouses, code, ParseRow<v1::Warehouse>);
}

absl::StatusOr<Fold::Cached<v1::Reservation>*> Fold::ReservationRow(const std::string& id) {
  return Row(reservations_, Cf::kReservations, id, ParseRow<v1::Reservation>);
}

absl::StatusOr<Fold::Cached<ledger::StockLevel>*> Fold::LevelRow(const std::string& key) {
  return Row(levels_, Cf::kLevels, key, [](const std::string& bytes) { return DecodeLevel(bytes); });
}

absl::StatusOr<Fold::Cached<ledger::StockLevel>*> Fold::TotalRow(const std::string& sku) {
  return Row(totals_, Cf::kTotals, sku, [](const std::string& bytes) { return DecodeLevel(bytes); });
}

absl::StatusOr<ledger::StockFlags*> Fold::StoredFlags(const std::string& sku) {
  auto [it, inserted] = stored_flags_.try_emplace(sku);
  if (inserted) {
    ASSIGN_OR_RETURN(std::optional<std::string> low, store_->Get(Cf::kReports, LowStockKey(sku)));
    ASSIGN_OR_RETURN(std::optional<std::string> out, store_->Get(Cf::kReports, OutOfStockKey(sku)));
    it->second = {.low = low.has_value(), .out = out.has_value()};
  }
  return &it->second;
}

absl::Status Fold::ChangeCategory(const std::string& sku, const std::string& from, const std::string& to) {
  if (from == to) return absl::OkStatus();
  ASSIGN_OR_RETURN(Cached<ledger::StockLevel>* total, TotalRow(sku));
  if (!total->value) return absl::OkStatus();
  const ledger::StockLevel& t = *total->value;
  AddTo(category_totals_[from], -t.on_hand, -t.reserved, -t.incoming);
  AddTo(category_totals_[to], t.on_hand, t.reserved, t.incoming);
  category_totals_dirty_.insert(from);
  category_totals_dirty_.insert(to);
  return absl::OkStatus();
}

absl::Status Fold::ChangeLevel(const Context& ctx, const Move& move) {
  const std::string& sku = ctx.envelope.sku.value();
  const ledger::LevelChange& change = move.change;
  const std::string& warehouse = change.warehouse->value();
  ASSIGN_OR_RETURN(Cached<ledger::StockLevel>* level, LevelRow(LevelKey(sku, warehouse)));
  ASSIGN_OR_RETURN(Cached<ledger::StockLevel>* total, TotalRow(sku));
  ASSIGN_OR_RETURN(Cached<v1::Item>* item, ItemRow(sku));
  ledger::StockLevel& l = level->value ? *level->value : level->value.emplace();
  ledger::StockLevel& t = total->value ? *total->value : total->value.emplace();
  l = ledger::Changed(l, change);
  t = ledger::Changed(t, change);
  Touch(levels_dirty_, LevelKey(sku, warehouse), level);
  Touch(totals_dirty_, sku, total);
  if (!ledger::KeepsLevelInvariants(l)) {
    ++oversells_;
    Anomaly(ctx, absl::StrCat("leaves ", warehouse, " with on_hand=", l.on_hand, " reserved=", l.reserved,
                              " incoming=", l.incoming));
  }
  AddTo(warehouse_totals_[warehouse], change.on_hand, change.reserved, change.incoming);
  warehouse_totals_dirty_.insert(warehouse);
  const std::string category = item->value ? item->value->category() : "";
  AddTo(category_totals_[category], change.on_hand, change.reserved, change.incoming);
  category_totals_dirty_.insert(category);
  flags_dirty_.insert(sku);

  v1::InventoryUpdate update;
  update.mutable_position()->set_partition(ctx.position.partition);
  update.mutable_position()->set_offset(ctx.position.offset);
  update.set_movement_index(move.index);
  v1::Movement* m = update.mutable_movement();
  *m->mutable_position() = update.position();
  m->set_event_id(ctx.envelope.event_id.ToBytes());
  m->set_occurred_at_ms(ledger::EpochMs(ctx.envelope.occurred_at_ms));
  m->set_sku(sku);
  m->set_warehouse(warehouse);
  m->set_kind(std::string(move.kind));
  m->set_delta_on_hand(change.on_hand);
  m->set_delta_reserved(change.reserved);
  m->set_delta_incoming(change.incoming);
  if (move.reason) m->set_reason(ledger::ToProto(*move.reason));
  m->set_actor(ctx.envelope.actor);
  m->set_reference(std::string(move.reference));
  v1::StockLevel* resulting = m->mutable_resulting();
  resulting->set_sku(sku);
  resulting->set_warehouse(warehouse);
  resulting->set_on_hand(l.on_hand);
  resulting->set_reserved(l.reserved);
  resulting->set_available(l.available());
  resulting->set_incoming(l.incoming);
  const ledger::StockFlags flags =
      ledger::FlagsOf(StockStateOf(item->value ? &*item->value : nullptr, t.available()));
  update.set_low_stock(flags.low);
  update.set_out_of_stock(flags.out);

  movement_puts_.emplace_back(MovementKey(ctx.position.partition, ctx.position.offset, move.index),
                              update.SerializeAsString());
  by_sku_puts_.push_back(BySkuKey(sku, ledger::EpochMs(ctx.envelope.occurred_at_ms), ctx.position.partition,
                                  ctx.position.offset, move.index));
  ctx.updates->push_back(std::move(update));
  return absl::OkStatus();
}

void Fold::CountTransition(std::optional<v1::ReservationStatus> from, v1::ReservationStatus to) {
  auto counter = [this](v1::ReservationStatus s) -> int64_t& {
    switch (s) {
      case v1::RESERVATION_STATUS_COMMITTED:
        return counts_.committed;
      case v1::RESERVATION_STATUS_RELEASED:
        return counts_.released;
      case v1::RESERVATION_STATUS_EXPIRED:
        return counts_.expired;
      default:
        return counts_.active;
    }
  };
  if (from && *from == to) return;
  if (from) --counter(*from);
  ++counter(to);
  counts_dirty_ = true;
}

absl::Status Fold::ReserveLine(const Context& ctx, const ledger::ReservationLineReserved& e) {
  ASSIGN_OR_RETURN(Cached<v1::Reservation>* row, ReservationRow(e.reservation_id.value()));
  std::optional<v1::ReservationStatus> before;
  if (row->value) {
    before = StatusOf(*row->value);
  } else {
    v1::Reservation r;
    r.set_reservation_id(e.reservation_id.value());
    r.set_order_id(e.order_id.value());
    r.set_created_at_ms(ledger::EpochMs(ctx.envelope.occurred_at_ms));
    r.set_expires_at_ms(ledger::EpochMs(e.expires_at_ms));
    for (uint32_t i = 0; i < e.allocation_count; ++i) r.add_allocations();
    row->value = std::move(r);
    new_order_keys_.push_back(OrderKey(e.order_id.value(), e.reservation_id.value()));
  }
  v1::Reservation& r = *row->value;
  if (e.allocation_index >= static_cast<uint32_t>(r.allocations_size()) ||
      r.allocations(static_cast<int>(e.allocation_index)).status() != v1::RESERVATION_STATUS_UNSPECIFIED) {
    Anomaly(ctx, "allocation reserved twice or outside its reservation");
  } else {
    v1::Allocation* a = r.mutable_allocations(static_cast<int>(e.allocation_index));
    a->set_request_line(e.request_line);
    a->set_sku(ctx.envelope.sku.value());
    a->set_warehouse(e.warehouse.value());
    a->set_quantity(e.quantity);
    a->set_status(v1::RESERVATION_STATUS_ACTIVE);
    // Allocations of other partitions may be folded first: creation time is
    // the earliest seen.
    if (ledger::EpochMs(ctx.envelope.occurred_at_ms) < r.created_at_ms())
      r.set_created_at_ms(ledger::EpochMs(ctx.envelope.occurred_at_ms));
  }
  r.set_status(StatusOf(r));
  Touch(reservations_dirty_, e.reservation_id.value(), row);
  CountTransition(before, r.status());
  return absl::OkStatus();
}

absl::Status Fold::Resolve(const Context& ctx, const ledger::ReservationId& id, uint32_t index,
                           ledger::ReservationStatus to, ledger::Quantity released) {
  ASSIGN_OR_RETURN(Cached<v1::Reservation>* row, ReservationRow(id.value()));
  if (!row->value || index >= static_cast<uint32_t>(row->value->allocations_size()) ||
      row->value->allocations(static_cast<int>(index)).status() != v1::RESERVATION_STATUS_ACTIVE) {
    Anomaly(ctx, absl::StrCat("resolution of an unknown or resolved allocation ", id.value(), "#", index));
  } else {
    v1::Reservation& r = *row->value;
    v1::ReservationStatus before = StatusOf(r);
    v1::Allocation* allocation = r.mutable_allocations(static_cast<int>(index));
    allocation->set_status(ledger::ToProto(to));
    allocation->set_released_quantity(released);
    v1::ReservationStatus after = StatusOf(r);
    if (before == v1::RESERVATION_STATUS_ACTIVE && after != v1::RESERVATION_STATUS_ACTIVE) {
      r.set_resolved_at_ms(ledger::EpochMs(ctx.envelope.occurred_at_ms));
    }
    r.set_status(after);
    Touch(reservations_dirty_, id.value(), row);
    CountTransition(before, after);
  }
  return absl::OkStatus();
}

absl::Status Fold::Flush(rocksdb::WriteBatch& batch, const base::NextOffsets& applied, ChangedRows* changed) {
  // Each column family's rows go in key order: consecutive memtable inserts
  // then land next to each other, which RocksDB's skiplist does cheaply.
  std::vector<std::pair<std::string, std::string>> rows;
  auto put_sorted = [&](Cf cf) {
    std::sort(rows.begin(), rows.end());
    for (const auto& [key, value] : rows) batch.Put(store_->handle(cf), AsSlice(key), AsSlice(value));
    rows.clear();
  };
  // `keep` (null: none) receives a copy of each row for the hot levels.
  auto take = [&](auto& dirty, auto encode, Cf cf, auto* keep) {
    rows.reserve(dirty.size());
    if (keep != nullptr) keep->reserve(keep->size() + dirty.size());
    for (auto& [key, row] : dirty) {
      if (keep != nullptr) keep->emplace_back(key, *row->value);
      rows.emplace_back(std::move(key), encode(*row->value));
      row->dirty = false;
    }
    dirty.clear();
    put_sorted(cf);
  };
  auto serialize = [](const auto& proto) { return proto.SerializeAsString(); };
  auto level = [](const ledger::StockLevel& l) { return EncodeLevel(l); };
  take(items_dirty_, serialize, Cf::kItems, changed != nullptr ? &changed->items : nullptr);
  take(warehouses_dirty_, serialize, Cf::kWarehouses, changed != nullptr ? &changed->warehouses : nullptr);
  take(levels_dirty_, level, Cf::kLevels, changed != nullptr ? &changed->levels : nullptr);
  take(totals_dirty_, level, Cf::kTotals, changed != nullptr ? &changed->totals : nullptr);
  take(reservations_dirty_, serialize, Cf::kReservations,
       static_cast<std::vector<std::pair<std::string, v1::Reservation>>*>(nullptr));
  for (std::string& key : new_order_keys_) rows.emplace_back(std::move(key), std::string());
  new_order_keys_.clear();
  put_sorted(Cf::kByOrder);
  rows = std::move(movement_puts_);
  movement_puts_.clear();
  put_sorted(Cf::kMovements);
  for (std::string& key : by_sku_puts_) rows.emplace_back(std::move(key), std::string());
  by_sku_puts_.clear();
  put_sorted(Cf::kBySku);

  for (auto& [key, block] : block_writes_) {  // in fold order: a block then its unblock ends deleted
    if (block) batch.Put(store_->handle(Cf::kReports), AsSlice(key), AsSlice(*block));
    else batch.Delete(store_->handle(Cf::kReports), AsSlice(key));
  }
  block_writes_.clear();
  for (const std::string& sku : flags_dirty_) {
    ASSIGN_OR_RETURN(ledger::StockFlags* stored, StoredFlags(sku));
    ASSIGN_OR_RETURN(Cached<v1::Item>* item, ItemRow(sku));
    ASSIGN_OR_RETURN(Cached<ledger::StockLevel>* total, TotalRow(sku));
    const ledger::StockFlags now = ledger::FlagsOf(
        StockStateOf(item->value ? &*item->value : nullptr, total->value.value_or(ledger::StockLevel{}).available()));
    if (now.low != stored->low) {
      if (now.low) batch.Put(store_->handle(Cf::kReports), LowStockKey(sku), "");
      else batch.Delete(store_->handle(Cf::kReports), LowStockKey(sku));
    }
    if (now.out != stored->out) {
      if (now.out) batch.Put(store_->handle(Cf::kReports), OutOfStockKey(sku), "");
      else batch.Delete(store_->handle(Cf::kReports), OutOfStockKey(sku));
    }
    *stored = now;
  }
  flags_dirty_.clear();
  for (const std::string& code : warehouse_totals_dirty_) {
    batch.Put(store_->handle(Cf::kReports), WarehouseTotalsKey(code), EncodeTotals(warehouse_totals_[code]));
  }
  warehouse_totals_dirty_.clear();
  for (const std::string& category : category_totals_dirty_) {
    batch.Put(store_->handle(Cf::kReports), CategoryTotalsKey(category), EncodeTotals(category_totals_[category]));
  }
  category_totals_dirty_.clear();
  if (counts_dirty_) batch.Put(store_->handle(Cf::kReports), kCountsKey, EncodeCounts(counts_));
  counts_dirty_ = false;
  for (uint32_t p = 0; p < applied.size(); ++p) {
    std::string value;
    base::PutFixed64Be(&value, applied[p]);
    batch.Put(store_->handle(Cf::kMeta), AppliedKey(p), value);
  }
  return absl::OkStatus();
}

void Fold::Trim(size_t entries_max) {
  size_t held = items_.size() + warehouses_.size() + levels_.size() + totals_.size() + reservations_.size() +
                stored_flags_.size();
  if (held <= entries_max) return;
  items_.clear();
  warehouses_.clear();
  levels_.clear();
  totals_.clear();
  reservations_.clear();
  stored_flags_.clear();
}

}  // namespace projector
