#include "ledger/evolve.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "ledger/stock_rules.h"

namespace ledger {

// The only code that writes a State. Each handler first checks that the
// event keeps every invariant, then mutates; a refused event changes nothing.
class StateMutator {
 public:
  StateMutator(State& state, const Event& event) : s_(state), env_(event.envelope) {}

  absl::Status operator()(const ItemCreated& e) {
    ItemIndex i = InternItem(env_.sku);
    ItemState& item = s_.items_[i];
    if (item.created) return Broken(absl::StrCat("item ", env_.sku.value(), " created twice"));
    item.created = true;
    item.status = ItemStatus::kActive;
    item.name = e.name;
    item.category = e.category;
    item.attributes = e.attributes;
    item.reorder_point = e.reorder_point;
    item.reorder_quantity = e.reorder_quantity;
    return absl::OkStatus();
  }

  absl::Status operator()(const ItemUpdated& e) {
    ItemState* item = CreatedItem();
    if (item == nullptr) return Broken(absl::StrCat("update of unknown item ", env_.sku.value()));
    if (e.name) item->name = *e.name;
    if (e.category) item->category = *e.category;
    if (e.attributes) item->attributes = *e.attributes;
    if (e.reorder_point) item->reorder_point = *e.reorder_point;
    if (e.reorder_quantity) item->reorder_quantity = *e.reorder_quantity;
    return absl::OkStatus();
  }

  absl::Status operator()(const ItemDiscontinued&) {
    ItemState* item = CreatedItem();
    if (item == nullptr) return Broken(absl::StrCat("discontinue of unknown item ", env_.sku.value()));
    item->status = ItemStatus::kDiscontinued;
    return absl::OkStatus();
  }

  absl::Status operator()(const WarehouseRegistered& e) {
    auto existing = s_.FindWarehouse(e.warehouse);
    if (existing && s_.warehouses_[*existing].registered) {
      return Broken(absl::StrCat("warehouse ", e.warehouse.value(), " registered twice"));
    }
    if (!existing && s_.warehouses_.size() >= kWarehousesMax) return Broken("more than kWarehousesMax warehouses");
    WarehouseState& w = s_.warehouses_[InternWarehouse(e.warehouse)];
    w.registered = true;
    SetWarehouse(w, e.name, e.region, e.priority, e.active);
    return absl::OkStatus();
  }

  absl::Status operator()(const WarehouseUpdated& e) {
    auto index = s_.FindWarehouse(e.warehouse);
    if (!index || !s_.warehouses_[*index].registered) {
      return Broken(absl::StrCat("update of unknown warehouse ", e.warehouse.value()));
    }
    SetWarehouse(s_.warehouses_[*index], e.name, e.region, e.priority, e.active);
    return absl::OkStatus();
  }

  absl::Status operator()(const StockReceived& e) {
    if (e.quantity <= 0 || e.quantity > kMovementQuantityMax) return Broken("received quantity out of range");
    return ChangeLevel(LevelChangesOf(e)[0]);
  }

  absl::Status operator()(const StockAdjusted& e) {
    if (e.delta == 0 || e.delta < -kMovementQuantityMax || e.delta > kMovementQuantityMax) {
      return Broken("adjustment delta out of range");
    }
    return ChangeLevel(LevelChangesOf(e)[0]);
  }

  absl::Status operator()(const StockCounted& e) {
    StockLevel level = PeekLevel(e.warehouse);
    if (level.on_hand + e.delta != e.counted) {
      return Broken(absl::StrCat("count of ", e.counted, " with delta ", e.delta, " disagrees with on_hand ",
                                 level.on_hand));
    }
    return ChangeLevel(LevelChangesOf(e)[0]);
  }

  absl::Status operator()(const TransferShipped& e) {
    if (s_.transfers_.contains(e.transfer_id.value())) return Broken("transfer shipped twice");
    if (e.quantity <= 0 || e.quantity > kMovementQuantityMax || e.from == e.to) return Broken("bad transfer");
    StockLevel from = PeekLevel(e.from);
    StockLevel to = PeekLevel(e.to);
    if (from.on_hand - e.quantity < from.reserved) return Broken("transfer takes reserved stock");
    if (to.incoming + e.quantity > kStockMax) return Broken("incoming above kStockMax");
    for (const LevelChange& change : LevelChangesOf(e)) INV_CHECK(ChangeLevel(change).ok());
    TransferState& t = s_.transfers_[e.transfer_id.value()];
    t.id = e.transfer_id;
    t.item = InternItem(env_.sku);
    t.from = InternWarehouse(e.from);
    t.to = InternWarehouse(e.to);
    t.quantity = e.quantity;
    t.shipped = true;
    t.shipped_at_ms = env_.occurred_at_ms;
    return absl::OkStatus();
  }

  absl::Status operator()(const TransferReceived& e) {
    auto it = s_.transfers_.find(e.transfer_id.value());
    if (it == s_.transfers_.end() || it->second.received) return Broken("receipt of unknown or received transfer");
    TransferState& t = it->second;
    if (t.quantity != e.quantity || s_.items_[t.item].sku != env_.sku || s_.warehouses_[t.from].code != e.from ||
        s_.warehouses_[t.to].code != e.to) {
      return Broken("receipt disagrees with transfer");
    }
    StockLevel to = PeekLevel(e.to);
    if (to.incoming < e.quantity || to.on_hand + e.quantity > kStockMax) return Broken("receipt exceeds incoming");
    INV_CHECK(ChangeLevel(LevelChangesOf(e)[0]).ok());
    t.received = true;
    Remember(State::Resolved::Kind::kTransfer, t.id.value());
    return absl::OkStatus();
  }

  absl::Status operator()(const ReservationLineReserved& e) {
    if (e.allocation_count == 0 || e.allocation_index >= e.allocation_count ||
        e.allocation_count > kReservationAllocationsMax || e.quantity <= 0 || e.quantity > kMovementQuantityMax) {
      return Broken("reservation allocation out of range");
    }
    auto it = s_.reservations_.find(e.reservation_id.value());
    if (it != s_.reservations_.end()) {
      const ReservationState& r = it->second;
      // An extension folded first (another partition's) may have moved the
      // expiry later, never earlier.
      if (r.allocations.size() != e.allocation_count || r.allocations[e.allocation_index].present ||
          r.order_id != e.order_id || e.expires_at_ms > r.expires_at_ms) {
        return Broken(absl::StrCat("allocation ", e.allocation_index, " of ", e.reservation_id.value(),
                                   " reserved twice or with another shape"));
      }
    }
    std::pair<ItemIndex, WarehouseIndex> where;
    RETURN_IF_ERROR(ChangeLevel(LevelChangesOf(e)[0], &where));
    if (it == s_.reservations_.end()) it = s_.reservations_.try_emplace(e.reservation_id.value()).first;
    ReservationState& r = it->second;
    if (r.allocations.empty()) {
      r.id = e.reservation_id;
      r.order_id = e.order_id;
      r.created_at_ms = env_.occurred_at_ms;
      r.expires_at_ms = e.expires_at_ms;
      r.allocations.resize(e.allocation_count);
      s_.active_by_expiry_.emplace(e.expires_at_ms, e.reservation_id.value());
    }
    ReservationAllocation& a = r.allocations[e.allocation_index];
    a = {.item = where.first,
         .warehouse = where.second,
         .request_line = e.request_line,
         .quantity = e.quantity,
         .status = ReservationStatus::kActive,
         .present = true};
    return absl::OkStatus();
  }

  absl::Status operator()(const ReservationCommitted& e) {
    // The codec bounds both; an event built in memory is checked again.
    if (e.quantity < 0 || e.released_quantity < 0 || e.quantity > kStockMax || e.released_quantity > kStockMax) {
      return Broken(absl::StrCat("commit of ", e.reservation_id.value(), "#", e.allocation_index,
                                 " with a quantity outside 0..", kStockMax));
    }
    return ResolveAllocation(e.reservation_id, e.allocation_index, e.warehouse, e.quantity + e.released_quantity,
                             ReservationStatus::kCommitted, LevelChangesOf(e)[0], e.released_quantity);
  }
  absl::Status operator()(const ReservationReleased& e) {
    return ResolveAllocation(e.reservation_id, e.allocation_index, e.warehouse, e.quantity,
                             ReservationStatus::kReleased, LevelChangesOf(e)[0]);
  }
  absl::Status operator()(const ReservationExpired& e) {
    return ResolveAllocation(e.reservation_id, e.allocation_index, e.warehouse, e.quantity,
                             ReservationStatus::kExpired, LevelChangesOf(e)[0]);
  }

  absl::Status operator()(const ReservationExtended& e) {
    auto it = s_.reservations_.find(e.reservation_id.value());
    if (it == s_.reservations_.end() || e.allocation_index >= it->second.allocations.size()) {
      return Broken(absl::StrCat("extension of unknown reservation allocation ", e.reservation_id.value(), "#",
                                 e.allocation_index));
    }
    ReservationState& r = it->second;
    const ReservationAllocation& a = r.allocations[e.allocation_index];
    auto wh = s_.FindWarehouse(e.warehouse);
    if (!a.present || a.status != ReservationStatus::kActive || !wh || a.warehouse != *wh ||
        s_.items_[a.item].sku != env_.sku) {
      return Broken(absl::StrCat("extension of ", e.reservation_id.value(), "#", e.allocation_index,
                                 " disagrees with its active allocation"));
    }
    if (e.expires_at_ms < r.expires_at_ms) return Broken("an extension moves an expiry earlier");
    s_.active_by_expiry_.erase({r.expires_at_ms, e.reservation_id.value()});
    r.expires_at_ms = e.expires_at_ms;
    s_.active_by_expiry_.emplace(r.expires_at_ms, e.reservation_id.value());
    return absl::OkStatus();
  }

  absl::Status operator()(const SalesBlocked& e) {
    ItemState* item = CreatedItem();
    if (item == nullptr) return Broken(absl::StrCat("sales block of unknown item ", env_.sku.value()));
    auto it = SalesBlockSlot(item->sales_blocks, e.warehouse.value(), BlockScope);
    if (it != item->sales_blocks.end() && it->warehouse == e.warehouse) {
      return Broken(absl::StrCat("sales of ", env_.sku.value(), " blocked twice at '", e.warehouse.value(), "'"));
    }
    if (e.reason.empty()) return Broken("sales block without a reason");
    item->sales_blocks.insert(
        it, SalesBlock{.warehouse = e.warehouse, .reason = e.reason, .blocked_at_ms = env_.occurred_at_ms,
                       .actor = env_.actor});
    return absl::OkStatus();
  }

  absl::Status operator()(const SalesUnblocked& e) {
    ItemState* item = CreatedItem();
    if (item == nullptr) return Broken(absl::StrCat("sales unblock of unknown item ", env_.sku.value()));
    auto it = SalesBlockSlot(item->sales_blocks, e.warehouse.value(), BlockScope);
    if (it == item->sales_blocks.end() || it->warehouse != e.warehouse) {
      return Broken(absl::StrCat("unblock of sales of ", env_.sku.value(), " not blocked at '", e.warehouse.value(), "'"));
    }
    item->sales_blocks.erase(it);
    return absl::OkStatus();
  }

  // After the payload applied: bookkeeping every event shares.
  void Finish() {
    s_.events_applied_ += 1;
    s_.time_high_water_ms_ = std::max(s_.time_high_water_ms_, env_.occurred_at_ms);
    RememberCommand();
    Forget();
  }

 private:
  absl::Status Broken(std::string what) const {
    return absl::FailedPreconditionError(
        absl::StrCat("event ", env_.event_id.ToHex(), " breaks an invariant: ", what));
  }

  ItemIndex InternItem(const Sku& sku) {
    auto [it, inserted] = s_.item_index_.try_emplace(sku.value(), static_cast<ItemIndex>(s_.items_.size()));
    if (inserted) s_.items_.emplace_back().sku = sku;
    return it->second;
  }

  WarehouseIndex InternWarehouse(const WarehouseCode& code) {
    auto [it, inserted] =
        s_.warehouse_index_.try_emplace(code.value(), static_cast<WarehouseIndex>(s_.warehouses_.size()));
    if (inserted) s_.warehouses_.emplace_back().code = code;
    return it->second;
  }

  ItemState* CreatedItem() {
    auto index = s_.FindItem(env_.sku);
    if (!index || !s_.items_[*index].created) return nullptr;
    return &s_.items_[*index];
  }

  static void SetWarehouse(WarehouseState& w, const std::string& name, const std::string& region,
                           std::int32_t priority, bool active) {
    w.name = name;
    w.region = region;
    w.priority = priority;
    w.active = active;
  }

  StockLevel PeekLevel(const WarehouseCode& warehouse) const {
    auto item = s_.FindItem(env_.sku);
    auto wh = s_.FindWarehouse(warehouse);
    if (!item || !wh) return {};
    return s_.Level(*item, *wh);
  }

  // Applies `change` (ledger/stock_rules.h) to (env_.sku, its warehouse) if
  // the result keeps the invariants; on success stores the level's indexes in
  // `where` when given.
  absl::Status ChangeLevel(const LevelChange& change, std::pair<ItemIndex, WarehouseIndex>* where = nullptr) {
    const WarehouseCode& warehouse = *change.warehouse;
    std::optional<ItemIndex> item = s_.FindItem(env_.sku);
    std::optional<WarehouseIndex> wh = s_.FindWarehouse(warehouse);
    LevelEntry* entry = nullptr;
    if (item && wh) {
      for (LevelEntry& e : s_.items_[*item].levels) {
        if (e.warehouse == *wh) entry = &e;
      }
    }
    const StockLevel next = Changed(entry != nullptr ? entry->level : StockLevel{}, change);
    if (!KeepsLevelInvariants(next) || next.on_hand > kStockMax || next.incoming > kStockMax) {
      return Broken(absl::StrCat(env_.sku.value(), "@", warehouse.value(), " would hold on_hand=", next.on_hand,
                                 " reserved=", next.reserved, " incoming=", next.incoming));
    }
    if (entry != nullptr) {
      entry->level = next;
    } else {
      if (!item) item = InternItem(env_.sku);
      if (!wh) wh = InternWarehouse(warehouse);
      s_.items_[*item].levels.push_back({*wh, next});
    }
    if (where != nullptr) *where = {*item, *wh};
    return absl::OkStatus();
  }

  // `quantity` is the whole allocation's; `released` the part a partial
  // commit released.
  absl::Status ResolveAllocation(const ReservationId& id, std::uint32_t index, const WarehouseCode& warehouse,
                                 Quantity quantity, ReservationStatus to, const LevelChange& change,
                                 Quantity released = 0) {
    auto it = s_.reservations_.find(id.value());
    if (it == s_.reservations_.end() || index >= it->second.allocations.size()) {
      return Broken(absl::StrCat("resolution of unknown reservation allocation ", id.value(), "#", index));
    }
    ReservationState& r = it->second;
    ReservationAllocation& a = r.allocations[index];
    if (!a.present || a.status != ReservationStatus::kActive) {
      return Broken(absl::StrCat("allocation ", id.value(), "#", index, " resolved twice"));
    }
    auto wh = s_.FindWarehouse(warehouse);
    if (a.quantity != quantity || !wh || a.warehouse != *wh || s_.items_[a.item].sku != env_.sku) {
      return Broken(absl::StrCat("resolution of ", id.value(), "#", index, " disagrees with its reservation"));
    }
    RETURN_IF_ERROR(ChangeLevel(change));
    bool was_active = r.status() == ReservationStatus::kActive;
    a.status = to;
    a.released = released;
    if (was_active && r.status() != ReservationStatus::kActive) {
      r.resolved_at_ms = env_.occurred_at_ms;
      s_.active_by_expiry_.erase({r.expires_at_ms, id.value()});
      Remember(State::Resolved::Kind::kReservation, id.value());
    }
    return absl::OkStatus();
  }

  void Remember(State::Resolved::Kind kind, const std::string& id) {
    s_.resolved_order_.push_back({env_.occurred_at_ms, kind, id});
  }

  void RememberCommand() {
    if (env_.command_id.empty()) return;
    auto [it, inserted] = s_.commands_.try_emplace(env_.command_id.value());
    if (!inserted) return;
    it->second = {.fingerprint = env_.command_fingerprint,
                  .applied_at_ms = env_.occurred_at_ms,
                  .event_count = env_.command_event_count};
    s_.command_order_.emplace_back(env_.occurred_at_ms, env_.command_id.value());
  }

  // Drops remembered commands and resolved entries past their count or age.
  void Forget() {
    const LedgerOptions& o = s_.options_;
    TimeMs now = s_.time_high_water_ms_;
    while (!s_.command_order_.empty() && (s_.command_order_.size() > o.remembered_commands_max ||
                                          now - s_.command_order_.front().first > o.remembered_commands_age_max_ms)) {
      s_.commands_.erase(s_.command_order_.front().second);
      s_.command_order_.pop_front();
    }
    while (!s_.resolved_order_.empty() && (s_.resolved_order_.size() > o.resolved_kept_max ||
                                           now - s_.resolved_order_.front().at_ms > o.resolved_kept_age_max_ms)) {
      const State::Resolved& front = s_.resolved_order_.front();
      if (front.kind == State::Resolved::Kind::kReservation) {
        s_.reservations_.erase(front.id);
      } else {
        s_.transfers_.erase(front.id);
      }
      s_.resolved_order_.pop_front();
    }
  }

  State& s_;
  const Envelope& env_;
};

absl::Status Evolve(State& state, const Event& event) {
  StateMutator mutator(state, event);
  RETURN_IF_ERROR(std::visit(mutator, event.payload));
  mutator.Finish();
  return absl::OkStatus();
}

Decision DecideAndApply(State& state, const Command& command) {
  Decision decision = Decide(state, command);
  for (const Event& event : decision.events) {
    absl::Status applied = Evolve(state, event);
    INV_CHECK(applied.ok()) << "decide emitted an event its own state refuses: " << applied.message();
  }
  return decision;
}

}  // namespace ledger
