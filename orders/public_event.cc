#include "orders/public_event.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/json_text.h"
#include "base/status.h"
#include "ledger/derived_ids.h"
#include "ledger/evolve.h"

namespace orders {
namespace {

// A flat JSON object built field by field.
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    base::AppendJsonString(&out_, value);
    return *this;
  }
  JsonObject& Int(std::string_view key, std::int64_t value) {
    Key(key);
    absl::StrAppend(&out_, value);
    return *this;
  }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_.append(json);
    return *this;
  }
  std::string Done() {
    if (out_.empty()) out_ = "{";
    out_ += '}';
    return std::move(out_);
  }

 private:
  void Key(std::string_view key) {
    out_ += out_.empty() ? '{' : ',';
    base::AppendJsonString(&out_, key);
    out_ += ':';
  }
  std::string out_;
};

// The fields every log-derived event starts with.
JsonObject Start(std::string_view type, const std::string& event_id, const ledger::Event& e) {
  JsonObject o;
  o.Str("eventId", event_id).Str("type", type);
  o.Str("occurredAt", base::FormatRfc3339Ms(ledger::EpochMs(e.envelope.occurred_at_ms)));
  o.Str("sku", e.envelope.sku.value());
  return o;
}

std::string_view ReleaseReasonName(ledger::ReleaseReason r) {
  switch (r) {
    case ledger::ReleaseReason::kCancelled: return "cancelled";
    case ledger::ReleaseReason::kPaymentFailed: return "payment_failed";
    case ledger::ReleaseReason::kOrderCancelled: return "order_cancelled";
  }
  return "cancelled";
}

// The event's own public event (reservation lifecycle or stock_updated), if any.
std::optional<PublicEvent> Primary(const ledger::Event& e, const LevelView& before, const LevelView& after,
                                   std::string_view order_id) {
  const std::string id = e.envelope.event_id.ToHex();
  auto make = [&](std::string_view type, JsonObject o) {
    return PublicEvent{e.envelope.sku.value(), std::string(type), id, o.Done()};
  };
  if (const auto* r = std::get_if<ledger::ReservationLineReserved>(&e.payload)) {
    JsonObject o = Start("inventory.reserved", id, e);
    o.Str("reservationId", r->reservation_id.value()).Str("orderId", r->order_id.value());
    o.Str("warehouseId", r->warehouse.value()).Int("quantity", r->quantity);
    o.Str("expiresAt", base::FormatRfc3339Ms(ledger::EpochMs(r->expires_at_ms)));
    o.Int("line", r->request_line).Int("allocationIndex", r->allocation_index);
    o.Int("allocationCount", r->allocation_count);
    return make("inventory.reserved", std::move(o));
  }
  auto resolution = [&](std::string_view type, const ledger::ReservationId& rid, const ledger::WarehouseCode& wh,
                        ledger::Quantity q, std::uint32_t index) {
    JsonObject o = Start(type, id, e);
    o.Str("reservationId", rid.value()).Str("orderId", order_id).Str("warehouseId", wh.value());
    o.Int("quantity", q).Int("allocationIndex", index);
    return o;
  };
  // quantity: the units that left; releasedQuantity: those a partial commit
  // released (0 for a whole commit), available again.
  if (const auto* r = std::get_if<ledger::ReservationCommitted>(&e.payload)) {
    JsonObject o = resolution("inventory.confirmed", r->reservation_id, r->warehouse, r->quantity, r->allocation_index);
    o.Int("releasedQuantity", r->released_quantity);
    return make("inventory.confirmed", std::move(o));
  }
  if (const auto* r = std::get_if<ledger::ReservationReleased>(&e.payload)) {
    JsonObject o = resolution("inventory.released", r->reservation_id, r->warehouse, r->quantity, r->allocation_index);
    o.Str("reason", ReleaseReasonName(r->reason));
    return make("inventory.released", std::move(o));
  }
  if (const auto* r = std::get_if<ledger::ReservationExpired>(&e.payload)) {
    return make("inventory.expired",
                resolution("inventory.expired", r->reservation_id, r->warehouse, r->quantity, r->allocation_index));
  }
  if (const auto* x = std::get_if<ledger::ReservationExtended>(&e.payload)) {
    JsonObject o = Start("inventory.reservation_extended", id, e);
    o.Str("reservationId", x->reservation_id.value()).Str("orderId", order_id).Str("warehouseId", x->warehouse.value());
    o.Str("expiresAt", base::FormatRfc3339Ms(ledger::EpochMs(x->expires_at_ms)))
        .Int("allocationIndex", x->allocation_index);
    return make("inventory.reservation_extended", std::move(o));
  }
  // A sales block: checkouts and marketplaces stop offering the SKU there.
  if (const auto* b = std::get_if<ledger::SalesBlocked>(&e.payload)) {
    JsonObject o = Start("inventory.sales_blocked", id, e);
    o.Str("warehouseId", b->warehouse.value()).Str("reason", b->reason);
    o.Str("message", ledger::DescribeBlock(e.envelope.sku.value(), b->warehouse.value(), b->reason));
    return make("inventory.sales_blocked", std::move(o));
  }
  if (const auto* b = std::get_if<ledger::SalesUnblocked>(&e.payload)) {
    JsonObject o = Start("inventory.sales_unblocked", id, e);
    o.Str("warehouseId", b->warehouse.value());
    return make("inventory.sales_unblocked", std::move(o));
  }
  std::optional<ledger::WarehouseCode> wh = TouchedWarehouse(e.payload);
  if (!wh || before.on_hand == after.on_hand) return std::nullopt;
  JsonObject o = Start("inventory.stock_updated", id, e);
  o.Str("warehouseId", wh->value()).Int("oldStock", before.on_hand).Int("newStock", after.on_hand);
  o.Int("available", after.available).Str("cause", ledger::KindName(e.payload));
  return make("inventory.stock_updated", std::move(o));
}

// The alerts of the SKU's change of stock state (ledger/stock_rules.h).
void AppendAlerts(const ledger::Event& e, const LevelView& before, const LevelView& after,
                  std::vector<PublicEvent>* out) {
  for (ledger::StockAlert alert : ledger::AlertsOf(before.stock_state, after.stock_state)) {
    const std::string type = absl::StrCat("inventory.", base::AsAbsl(ledger::ToString(alert)));
    const std::string source = e.envelope.event_id.ToHex();
    const std::string id = ledger::AlertEventId(e.envelope.event_id, type);
    JsonObject o = Start(type, id, e);
    o.Int("available", after.sku_available).Int("reorderPoint", after.reorder_point).Str("causedBy", source);
    out->push_back(PublicEvent{e.envelope.sku.value(), type, id, o.Done()});
  }
}

}  // namespace

std::optional<ledger::WarehouseCode> TouchedWarehouse(const ledger::EventPayload& payload) {
  const ledger::LevelChanges changes = ledger::LevelChangesOf(payload);
  if (changes.empty()) return std::nullopt;
  return *changes.front().warehouse;  // a shipment's source: where on_hand moves
}

LevelView ViewOf(const ledger::State& state, const ledger::Sku& sku, const ledger::WarehouseCode& warehouse) {
  LevelView v;
  const ledger::ItemState* item = state.item(sku);
  if (item == nullptr) return v;
  const ledger::StockLevel at = state.Level(sku, warehouse);
  v.on_hand = at.on_hand;
  v.available = at.available();
  v.sku_available = state.TotalLevel(sku).available();
  v.reorder_point = item->reorder_point;
  v.stock_state = ledger::StockStateOf(*item, v.sku_available);
  return v;
}

std::vector<PublicEvent> ToPublicEvents(const ledger::Event& event, const LevelView& before, const LevelView& after,
                                        std::string_view order_id) {
  std::vector<PublicEvent> out;
  if (event.envelope.sku.empty()) return out;  // warehouse events
  if (std::optional<PublicEvent> p = Primary(event, before, after, order_id)) out.push_back(std::move(*p));
  AppendAlerts(event, before, after, &out);
  for (PublicEvent& e : out) e.traceparent = event.envelope.traceparent;
  return out;
}

std::vector<std::pair<std::string, std::string>> HeadersOf(const PublicEvent& event) {
  std::vector<std::pair<std::string, std::string>> out = {{"type", event.type}, {"eventId", event.event_id}};
  if (!event.traceparent.empty()) out.emplace_back("traceparent", event.traceparent);
  return out;
}

absl::Status FoldToPublicEvents(ledger::State& state, const ledger::Event& event, std::vector<PublicEvent>* out) {
  const ledger::WarehouseCode warehouse = TouchedWarehouse(event.payload).value_or(ledger::WarehouseCode());
  const LevelView before = ViewOf(state, event.envelope.sku, warehouse);
  RETURN_IF_ERROR(ledger::Evolve(state, event));
  const LevelView after = ViewOf(state, event.envelope.sku, warehouse);
  std::string order_id;
  std::visit(
      [&](const auto& p) {
        if constexpr (requires { p.reservation_id; }) {
          if (const ledger::ReservationState* r = state.reservation(p.reservation_id)) order_id = r->order_id.value();
        }
      },
      event.payload);
  for (PublicEvent& e : ToPublicEvents(event, before, after, order_id)) out->push_back(std::move(e));
  return absl::OkStatus();
}

PublicEvent ReservationFailed(std::string_view source_event_id, std::string_view order_id,
                              std::string_view reservation_id, const ledger::Rejection& rejection,
                              ledger::TimeMs at_ms) {
  const std::string id = ledger::ReservationFailedEventId(source_event_id);
  std::string lines = "[";
  for (const ledger::LineAvailability& l : rejection.lines) {
    if (l.available >= l.requested) continue;  // only the short lines
    if (lines.size() > 1) lines += ',';
    lines += JsonObject()
                 .Int("line", l.line)
                 .Str("sku", l.sku.value())
                 .Int("requested", l.requested)
                 .Int("available", l.available)
                 .Done();
  }
  lines += ']';
  JsonObject o;
  o.Str("eventId", id).Str("type", "inventory.reservation_failed");
  o.Str("occurredAt", base::FormatRfc3339Ms(ledger::EpochMs(at_ms)));
  o.Str("orderId", order_id).Str("reservationId", reservation_id).Str("sourceEventId", source_event_id);
  o.Str("reason", ledger::ToString(rejection.reason)).Str("message", rejection.message).Raw("shortLines", lines);
  return PublicEvent{std::string(order_id), "inventory.reservation_failed", id, o.Done()};
}

}  // namespace orders
