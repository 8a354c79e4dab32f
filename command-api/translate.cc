#include "command-api/translate.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/codec.h"
#include "ledger/derived_ids.h"
#include "ledger/validate.h"

namespace command_api {
namespace {

using base::AsAbsl;
using base::InvalidField;

ledger::CommandMeta Meta(const pb::CommandContext& c) {
  return {.command_id = ledger::CommandId(c.command_id()), .actor = c.actor(), .correlation_id = c.correlation_id()};
}

ledger::Attributes Attrs(const google::protobuf::RepeatedPtrField<pb::Attribute>& in) {
  ledger::Attributes out;
  for (const pb::Attribute& a : in) out.push_back({a.key(), a.value()});
  return out;
}

absl::StatusOr<ledger::AdjustmentReason> Reason(pb::AdjustmentReason r) {
  switch (r) {
    case pb::ADJUSTMENT_REASON_DAMAGE: return ledger::AdjustmentReason::kDamage;
    case pb::ADJUSTMENT_REASON_LOSS: return ledger::AdjustmentReason::kLoss;
    case pb::ADJUSTMENT_REASON_FOUND: return ledger::AdjustmentReason::kFound;
    case pb::ADJUSTMENT_REASON_CORRECTION: return ledger::AdjustmentReason::kCorrection;
    case pb::ADJUSTMENT_REASON_RETURN: return ledger::AdjustmentReason::kReturn;
    default: return InvalidField("reason", "must be DAMAGE, LOSS, FOUND, CORRECTION or RETURN with adjust_delta");
  }
}

ledger::ReleaseReason Release(pb::ReleaseReason r) {
  switch (r) {
    case pb::RELEASE_REASON_PAYMENT_FAILED: return ledger::ReleaseReason::kPaymentFailed;
    case pb::RELEASE_REASON_ORDER_CANCELLED: return ledger::ReleaseReason::kOrderCancelled;
    default: return ledger::ReleaseReason::kCancelled;
  }
}

pb::Rejection::Reason ToProto(ledger::RejectionReason r) {
  using R = ledger::RejectionReason;
  switch (r) {
    case R::kInvalidArgument: return pb::Rejection::REASON_INVALID_ARGUMENT;
    case R::kInsufficientStock: return pb::Rejection::REASON_INSUFFICIENT_STOCK;
    case R::kUnknownItem: return pb::Rejection::REASON_UNKNOWN_ITEM;
    case R::kUnknownWarehouse: return pb::Rejection::REASON_UNKNOWN_WAREHOUSE;
    case R::kUnknownReservation: return pb::Rejection::REASON_UNKNOWN_RESERVATION;
    case R::kUnknownTransfer: return pb::Rejection::REASON_UNKNOWN_TRANSFER;
    case R::kItemDiscontinued: return pb::Rejection::REASON_ITEM_DISCONTINUED;
    case R::kWarehouseInactive: return pb::Rejection::REASON_WAREHOUSE_INACTIVE;
    case R::kAlreadyExists: return pb::Rejection::REASON_ALREADY_EXISTS;
    case R::kAlreadyResolved: return pb::Rejection::REASON_ALREADY_RESOLVED;
    case R::kBelowReserved: return pb::Rejection::REASON_BELOW_RESERVED;
    case R::kLimitExceeded: return pb::Rejection::REASON_LIMIT_EXCEEDED;
    case R::kNotYetExpired: return pb::Rejection::REASON_NOT_YET_EXPIRED;
    case R::kIdempotencyKeyReused: return pb::Rejection::REASON_IDEMPOTENCY_KEY_REUSED;
    case R::kSalesBlocked: return pb::Rejection::REASON_SALES_BLOCKED;
    case R::kNotBlocked: return pb::Rejection::REASON_NOT_BLOCKED;
    case R::kExpiryNotLater: return pb::Rejection::REASON_EXPIRY_NOT_LATER;
    case R::kOnHandChanged: return pb::Rejection::REASON_ON_HAND_CHANGED;
  }
  return pb::Rejection::REASON_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<ledger::Command> ToCommand(const pb::CreateItemRequest& r) {
  const pb::Item& i = r.item();
  return ledger::Command{Meta(r.context()), ledger::CreateItem{ledger::Sku(i.sku()), i.name(), i.category(),
                                                               Attrs(i.attributes()), i.reorder_point(),
                                                               i.reorder_quantity()}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::UpdateItemRequest& r) {
  ledger::UpdateItem u;
  u.sku = ledger::Sku(r.sku());
  if (r.has_name()) u.name = r.name();
  if (r.has_category()) u.category = r.category();
  if (r.replace_attributes()) u.attributes = Attrs(r.attributes());
  if (!r.replace_attributes() && r.attributes_size() > 0) {
    return InvalidField("replace_attributes", "must be true when attributes are given");
  }
  if (r.has_reorder_point()) u.reorder_point = r.reorder_point();
  if (r.has_reorder_quantity()) u.reorder_quantity = r.reorder_quantity();
  return ledger::Command{Meta(r.context()), std::move(u)};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::DeleteItemRequest& r) {
  return ledger::Command{Meta(r.context()), ledger::DiscontinueItem{ledger::Sku(r.sku())}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::CreateWarehouseRequest& r) {
  const pb::Warehouse& w = r.warehouse();
  return ledger::Command{Meta(r.context()), ledger::RegisterWarehouse{ledger::WarehouseCode(w.warehouse()), w.name(),
                                                                      w.region(), w.priority(), w.active()}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::UpdateWarehouseRequest& r) {
  ledger::UpdateWarehouse u;
  u.warehouse = ledger::WarehouseCode(r.warehouse());
  if (r.has_name()) u.name = r.name();
  if (r.has_region()) u.region = r.region();
  if (r.has_priority()) u.priority = r.priority();
  if (r.has_active()) u.active = r.active();
  return ledger::Command{Meta(r.context()), std::move(u)};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::AdjustInventoryRequest& r) {
  ledger::Sku sku(r.sku());
  ledger::WarehouseCode wh(r.warehouse());
  std::optional<ledger::Quantity> expected;
  if (r.has_expected_on_hand()) expected = r.expected_on_hand();
  switch (r.change_case()) {
    case pb::AdjustInventoryRequest::kReceiveQuantity:
      if (expected) {
        return InvalidField("expected_on_hand",
                            "is for adjust_delta and counted_quantity; a receipt adds to whatever is on hand");
      }
      return ledger::Command{Meta(r.context()), ledger::ReceiveStock{sku, wh, r.receive_quantity(), r.reference()}};
    case pb::AdjustInventoryRequest::kAdjustDelta: {
      absl::StatusOr<ledger::AdjustmentReason> reason = Reason(r.reason());
      if (!reason.ok()) return reason.status();
      return ledger::Command{Meta(r.context()),
                             ledger::AdjustStock{sku, wh, r.adjust_delta(), *reason, r.reference(), expected}};
    }
    case pb::AdjustInventoryRequest::kCountedQuantity:
      return ledger::Command{Meta(r.context()), ledger::CountStock{sku, wh, r.counted_quantity(), expected}};
    case pb::AdjustInventoryRequest::CHANGE_NOT_SET: break;
  }
  return InvalidField("change", "set one of receive_quantity, adjust_delta, counted_quantity");
}

absl::StatusOr<ledger::Command> ToCommand(const pb::TransferInventoryRequest& r) {
  ledger::TransferId id(r.transfer_id());
  switch (r.step()) {
    case pb::TransferInventoryRequest::STEP_SHIP:
      return ledger::Command{Meta(r.context()),
                             ledger::ShipTransfer{id, ledger::Sku(r.sku()), ledger::WarehouseCode(r.from_warehouse()),
                                                  ledger::WarehouseCode(r.to_warehouse()), r.quantity()}};
    case pb::TransferInventoryRequest::STEP_RECEIVE:
      return ledger::Command{Meta(r.context()), ledger::ReceiveTransfer{id}};
    default: break;
  }
  return InvalidField("step", "must be STEP_SHIP or STEP_RECEIVE");
}

std::string ReservationIdFor(const pb::CheckAndReserveStockRequest& r) {
  if (!r.reservation_id().empty()) return r.reservation_id();
  return ledger::ReservationIdForCommand(ledger::CommandId(r.context().command_id())).value();
}

absl::StatusOr<ledger::Command> ToCommand(const pb::CheckAndReserveStockRequest& r, const TranslateOptions& o) {
  ledger::Reserve reserve;
  reserve.reservation_id = ledger::ReservationId(ReservationIdFor(r));
  reserve.order_id = ledger::OrderId(r.order_id());
  for (const pb::OrderLine& line : r.lines()) {
    reserve.lines.push_back({ledger::Sku(line.sku()), line.quantity(), ledger::WarehouseCode(line.warehouse())});
  }
  reserve.ttl_ms = r.ttl_ms() == 0 ? o.default_ttl_ms : ledger::DurationMs{r.ttl_ms()};
  reserve.split = r.allow_split() ? ledger::SplitPolicy::kAllowSplit : ledger::SplitPolicy::kSingleWarehouse;
  reserve.preferred_region = r.preferred_region();
  ledger::Command command{Meta(r.context()), std::move(reserve)};
  // The order id correlates the reservation's events when the caller gave no
  // correlation id; one too long for that is left to the order_id check,
  // which names the field the client sent.
  if (command.meta.correlation_id.empty() && r.order_id().size() <= ledger::kIdLengthMax) {
    command.meta.correlation_id = r.order_id();
  }
  return command;
}

absl::StatusOr<ledger::Command> ToCommand(const pb::CommitReservationRequest& r) {
  ledger::CommitReservation commit{ledger::ReservationId(r.reservation_id())};
  for (const pb::CommitLine& line : r.lines()) {
    std::optional<std::uint32_t> request_line;
    if (line.has_request_line()) request_line = line.request_line();
    commit.lines.push_back({request_line, ledger::Sku(line.sku()), ledger::WarehouseCode(line.warehouse()),
                            line.quantity()});
  }
  return ledger::Command{Meta(r.context()), std::move(commit)};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::ReleaseReservedStockRequest& r) {
  return ledger::Command{Meta(r.context()), ledger::ReleaseReservation{ledger::ReservationId(r.reservation_id()),
                                                                       Release(r.reason())}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::ExpireReservationRequest& r) {
  return ledger::Command{Meta(r.context()), ledger::ExpireReservation{ledger::ReservationId(r.reservation_id()),
                                                                      ledger::ExpireWhen::kNow}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::ExtendReservationRequest& r, const TranslateOptions& o) {
  return ledger::Command{Meta(r.context()), ledger::ExtendReservation{
                                                ledger::ReservationId(r.reservation_id()),
                                                r.ttl_ms() == 0 ? o.default_ttl_ms : ledger::DurationMs{r.ttl_ms()}}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::BlockSalesRequest& r) {
  return ledger::Command{Meta(r.context()), ledger::BlockSales{ledger::Sku(r.sku()),
                                                               ledger::WarehouseCode(r.warehouse()), r.reason()}};
}

absl::StatusOr<ledger::Command> ToCommand(const pb::UnblockSalesRequest& r) {
  return ledger::Command{Meta(r.context()),
                         ledger::UnblockSales{ledger::Sku(r.sku()), ledger::WarehouseCode(r.warehouse())}};
}

std::string RequestFieldPath(std::string_view method, std::string_view field) {
  if (field == "command_id" || field == "actor" || field == "correlation_id") {
    return absl::StrCat("context.", AsAbsl(field));
  }
  if (method == "CreateItem") return absl::StrCat("item.", AsAbsl(field));
  if (method == "CreateWarehouse") {
    return field == "warehouse" ? "warehouse.warehouse" : absl::StrCat("warehouse.", AsAbsl(field));
  }
  if (method == "AdjustInventory") {
    if (field == "quantity") return "receive_quantity";
    if (field == "delta") return "adjust_delta";
    if (field == "counted") return "counted_quantity";
  }
  return std::string(field);
}

pb::Rejection ToProto(const ledger::Rejection& rejection) {
  pb::Rejection out;
  out.set_reason(ToProto(rejection.reason));
  out.set_message(rejection.message);
  out.set_field(rejection.field);
  for (const ledger::LineAvailability& l : rejection.lines) {
    pb::Rejection::LineAvailability* p = out.add_lines();
    p->set_line(l.line);
    p->set_sku(l.sku.value());
    p->set_requested(l.requested);
    p->set_available(l.available);
  }
  if (rejection.on_hand) out.set_current_on_hand(*rejection.on_hand);
  return out;
}

void FillToken(const std::vector<eventlog::LogPosition>& positions, pb::ConsistencyToken* token) {
  for (const eventlog::LogPosition& p : positions) {
    pb::LogPosition* out = token->add_positions();
    out->set_partition(p.partition);
    out->set_offset(p.offset);
  }
}

void FillItem(const ledger::ItemState& item, pb::Item* out) {
  out->set_sku(item.sku.value());
  out->set_name(item.name);
  out->set_category(item.category);
  for (const ledger::Attribute& a : item.attributes) {
    pb::Attribute* p = out->add_attributes();
    p->set_key(a.key);
    p->set_value(a.value);
  }
  out->set_reorder_point(item.reorder_point);
  out->set_reorder_quantity(item.reorder_quantity);
  out->set_status(item.status == ledger::ItemStatus::kActive ? pb::ITEM_STATUS_ACTIVE : pb::ITEM_STATUS_DISCONTINUED);
  for (const ledger::SalesBlock& b : item.sales_blocks) FillSalesBlock(item.sku, b, out->add_sales_blocks());
}

void FillSalesBlock(const ledger::Sku& sku, const ledger::SalesBlock& b, pb::SalesBlock* out) {
  out->set_sku(sku.value());
  out->set_warehouse(b.warehouse.value());
  out->set_reason(b.reason);
  out->set_blocked_at_ms(ledger::EpochMs(b.blocked_at_ms));
  out->set_actor(b.actor);
}

void FillWarehouse(const ledger::WarehouseState& w, pb::Warehouse* out) {
  out->set_warehouse(w.code.value());
  out->set_name(w.name);
  out->set_region(w.region);
  out->set_priority(w.priority);
  out->set_active(w.active);
}

void FillLevel(const ledger::State& state, const ledger::Sku& sku, const ledger::WarehouseCode& warehouse,
               pb::StockLevel* out) {
  ledger::StockLevel level = state.Level(sku, warehouse);
  out->set_sku(sku.value());
  out->set_warehouse(warehouse.value());
  out->set_on_hand(level.on_hand);
  out->set_reserved(level.reserved);
  out->set_available(level.available());
  out->set_incoming(level.incoming);
}

void FillReservation(const ledger::State& state, const ledger::ReservationState& r, pb::Reservation* out) {
  out->set_reservation_id(r.id.value());
  out->set_order_id(r.order_id.value());
  out->set_status(ToProto(r.status()));
  out->set_created_at_ms(ledger::EpochMs(r.created_at_ms));
  out->set_expires_at_ms(ledger::EpochMs(r.expires_at_ms));
  out->set_resolved_at_ms(ledger::EpochMs(r.resolved_at_ms));
  for (const ledger::ReservationAllocation& a : r.allocations) {
    pb::Allocation* p = out->add_allocations();
    p->set_request_line(a.request_line);
    p->set_sku(state.item(a.item).sku.value());
    p->set_warehouse(state.warehouse(a.warehouse).code.value());
    p->set_quantity(a.quantity);
    p->set_released_quantity(a.released);
  }
}

}  // namespace command_api
