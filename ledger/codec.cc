#include "ledger/codec.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "ledger/decide.h"

namespace ledger {
namespace {

namespace pb = inventory::v1;

void AttributesToProto(const Attributes& in, google::protobuf::RepeatedPtrField<pb::Attribute>* out) {
  for (const Attribute& a : in) {
    pb::Attribute* p = out->Add();
    p->set_key(a.key);
    p->set_value(a.value);
  }
}

Attributes AttributesFromProto(const google::protobuf::RepeatedPtrField<pb::Attribute>& in) {
  Attributes out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (const pb::Attribute& a : in) out.push_back({a.key(), a.value()});
  return out;
}

absl::Status Corrupt(std::string what) { return absl::DataLossError(absl::StrCat("event record: ", what)); }

absl::StatusOr<AdjustmentReason> FromProto(pb::AdjustmentReason r) {
  switch (r) {
    case pb::ADJUSTMENT_REASON_DAMAGE: return AdjustmentReason::kDamage;
    case pb::ADJUSTMENT_REASON_LOSS: return AdjustmentReason::kLoss;
    case pb::ADJUSTMENT_REASON_FOUND: return AdjustmentReason::kFound;
    case pb::ADJUSTMENT_REASON_CORRECTION: return AdjustmentReason::kCorrection;
    case pb::ADJUSTMENT_REASON_RETURN: return AdjustmentReason::kReturn;
    default: return Corrupt(absl::StrCat("unknown adjustment reason ", static_cast<int>(r)));
  }
}

absl::StatusOr<ReleaseReason> FromProto(pb::ReleaseReason r) {
  switch (r) {
    case pb::RELEASE_REASON_CANCELLED: return ReleaseReason::kCancelled;
    case pb::RELEASE_REASON_PAYMENT_FAILED: return ReleaseReason::kPaymentFailed;
    case pb::RELEASE_REASON_ORDER_CANCELLED: return ReleaseReason::kOrderCancelled;
    default: return Corrupt(absl::StrCat("unknown release reason ", static_cast<int>(r)));
  }
}

// Writes the payload into the oneof.
struct PayloadToProto {
  pb::Event& out;
  void operator()(const ItemCreated& e) {
    pb::ItemCreated* p = out.mutable_item_created();
    p->set_name(e.name);
    p->set_category(e.category);
    AttributesToProto(e.attributes, p->mutable_attributes());
    p->set_reorder_point(e.reorder_point);
    p->set_reorder_quantity(e.reorder_quantity);
  }
  void operator()(const ItemUpdated& e) {
    pb::ItemUpdated* p = out.mutable_item_updated();
    if (e.name) p->add_fields_set(pb::ItemUpdated::FIELD_NAME), p->set_name(*e.name);
    if (e.category) p->add_fields_set(pb::ItemUpdated::FIELD_CATEGORY), p->set_category(*e.category);
    if (e.attributes) {
      p->add_fields_set(pb::ItemUpdated::FIELD_ATTRIBUTES);
      AttributesToProto(*e.attributes, p->mutable_attributes());
    }
    if (e.reorder_point) p->add_fields_set(pb::ItemUpdated::FIELD_REORDER_POINT), p->set_reorder_point(*e.reorder_point);
    if (e.reorder_quantity) {
      p->add_fields_set(pb::ItemUpdated::FIELD_REORDER_QUANTITY);
      p->set_reorder_quantity(*e.reorder_quantity);
    }
  }
  void operator()(const ItemDiscontinued&) { out.mutable_item_discontinued(); }
  void operator()(const WarehouseRegistered& e) {
    pb::WarehouseRegistered* p = out.mutable_warehouse_registered();
    p->set_warehouse(e.warehouse.value());
    p->set_name(e.name);
    p->set_region(e.region);
    p->set_priority(e.priority);
    p->set_active(e.active);
  }
  void operator()(const WarehouseUpdated& e) {
    pb::WarehouseUpdated* p = out.mutable_warehouse_updated();
    p->set_warehouse(e.warehouse.value());
    p->set_name(e.name);
    p->set_region(e.region);
    p->set_priority(e.priority);
    p->set_active(e.active);
  }
  void operator()(const StockReceived& e) {
    pb::StockReceived* p = out.mutable_stock_received();
    p->set_warehouse(e.warehouse.value());
    p->set_quantity(e.quantity);
    p->set_reference(e.reference);
  }
  void operator()(const StockAdjusted& e) {
    pb::StockAdjusted* p = out.mutable_stock_adjusted();
    p->set_warehouse(e.warehouse.value());
    p->set_delta(e.delta);
    p->set_reason(ToProto(e.reason));
    p->set_reference(e.reference);
  }
  void operator()(const StockCounted& e) {
    pb::StockCounted* p = out.mutable_stock_counted();
    p->set_warehouse(e.warehouse.value());
    p->set_counted(e.counted);
    p->set_delta(e.delta);
  }
  void operator()(const TransferShipped& e) {
    pb::TransferShipped* p = out.mutable_transfer_shipped();
    p->set_transfer_id(e.transfer_id.value());
    p->set_from_warehouse(e.from.value());
    p->set_to_warehouse(e.to.value());
    p->set_quantity(e.quantity);
  }
  void operator()(const TransferReceived& e) {
    pb::TransferReceived* p = out.mutable_transfer_received();
    p->set_transfer_id(e.transfer_id.value());
    p->set_from_warehouse(e.from.value());
    p->set_to_warehouse(e.to.value());
    p->set_quantity(e.quantity);
  }
  void operator()(const ReservationLineReserved& e) {
    pb::ReservationLineReserved* p = out.mutable_reservation_line_reserved();
    p->set_reservation_id(e.reservation_id.value());
    p->set_order_id(e.order_id.value());
    p->set_warehouse(e.warehouse.value());
    p->set_quantity(e.quantity);
    p->set_expires_at_ms(EpochMs(e.expires_at_ms));
    p->set_allocation_index(e.allocation_index);
    p->set_allocation_count(e.allocation_count);
    p->set_request_line(e.request_line);
  }
  void operator()(const ReservationCommitted& e) {
    pb::ReservationCommitted* p = out.mutable_reservation_committed();
    p->set_reservation_id(e.reservation_id.value());
    p->set_warehouse(e.warehouse.value());
    p->set_quantity(e.quantity);
    p->set_allocation_index(e.allocation_index);
    p->set_released_quantity(e.released_quantity);
  }
  void operator()(const ReservationReleased& e) {
    pb::ReservationReleased* p = out.mutable_reservation_released();
    p->set_reservation_id(e.reservation_id.value());
    p->set_warehouse(e.warehouse.value());
    p->set_quantity(e.quantity);
    p->set_allocation_index(e.allocation_index);
    p->set_reason(ToProto(e.reason));
  }
  void operator()(const ReservationExpired& e) {
    pb::ReservationExpired* p = out.mutable_reservation_expired();
    p->set_reservation_id(e.reservation_id.value());
    p->set_warehouse(e.warehouse.value());
    p->set_quantity(e.quantity);
    p->set_allocation_index(e.allocation_index);
  }
  void operator()(const SalesBlocked& e) {
    pb::SalesBlocked* p = out.mutable_sales_blocked();
    p->set_warehouse(e.warehouse.value());
    p->set_reason(e.reason);
  }
  void operator()(const SalesUnblocked& e) { out.mutable_sales_unblocked()->set_warehouse(e.warehouse.value()); }
  void operator()(const ReservationExtended& e) {
    pb::ReservationExtended* p = out.mutable_reservation_extended();
    p->set_reservation_id(e.reservation_id.value());
    p->set_warehouse(e.warehouse.value());
    p->set_allocation_index(e.allocation_index);
    p->set_expires_at_ms(EpochMs(e.expires_at_ms));
  }
};

ItemUpdated ItemUpdatedFromProto(const pb::ItemUpdated& p) {
  ItemUpdated e;
  for (int f : p.fields_set()) {
    switch (f) {
      case pb::ItemUpdated::FIELD_NAME: e.name = p.name(); break;
      case pb::ItemUpdated::FIELD_CATEGORY: e.category = p.category(); break;
      case pb::ItemUpdated::FIELD_ATTRIBUTES: e.attributes = AttributesFromProto(p.attributes()); break;
      case pb::ItemUpdated::FIELD_REORDER_POINT: e.reorder_point = p.reorder_point(); break;
      case pb::ItemUpdated::FIELD_REORDER_QUANTITY: e.reorder_quantity = p.reorder_quantity(); break;
      default: break;  // a field added by a newer writer: ignored, it changes nothing we know
    }
  }
  return e;
}

absl::StatusOr<EventPayload> PayloadFromProto(const pb::Event& p) {
  switch (p.payload_case()) {
    case pb::Event::kItemCreated: {
      const auto& m = p.item_created();
      return ItemCreated{m.name(), m.category(), AttributesFromProto(m.attributes()), m.reorder_point(),
                         m.reorder_quantity()};
    }
    case pb::Event::kItemUpdated: return ItemUpdatedFromProto(p.item_updated());
    case pb::Event::kItemDiscontinued: return ItemDiscontinued{};
    case pb::Event::kWarehouseRegistered: {
      const auto& m = p.warehouse_registered();
      return WarehouseRegistered{WarehouseCode(m.warehouse()), m.name(), m.region(), m.priority(), m.active()};
    }
    case pb::Event::kWarehouseUpdated: {
      const auto& m = p.warehouse_updated();
      return WarehouseUpdated{WarehouseCode(m.warehouse()), m.name(), m.region(), m.priority(), m.active()};
    }
    case pb::Event::kStockReceived: {
      const auto& m = p.stock_received();
      return StockReceived{WarehouseCode(m.warehouse()), m.quantity(), m.reference()};
    }
    case pb::Event::kStockAdjusted: {
      const auto& m = p.stock_adjusted();
      absl::StatusOr<AdjustmentReason> reason = FromProto(m.reason());
      if (!reason.ok()) return reason.status();
      return StockAdjusted{WarehouseCode(m.warehouse()), m.delta(), *reason, m.reference()};
    }
    case pb::Event::kStockCounted: {
      const auto& m = p.stock_counted();
      return StockCounted{WarehouseCode(m.warehouse()), m.counted(), m.delta()};
    }
    case pb::Event::kTransferShipped: {
      const auto& m = p.transfer_shipped();
      return TransferShipped{TransferId(m.transfer_id()), WarehouseCode(m.from_warehouse()),
                             WarehouseCode(m.to_warehouse()), m.quantity()};
    }
    case pb::Event::kTransferReceived: {
      const auto& m = p.transfer_received();
      return TransferReceived{TransferId(m.transfer_id()), WarehouseCode(m.from_warehouse()),
                              WarehouseCode(m.to_warehouse()), m.quantity()};
    }
    case pb::Event::kReservationLineReserved: {
      const auto& m = p.reservation_line_reserved();
      return ReservationLineReserved{
          ReservationId(m.reservation_id()), OrderId(m.order_id()), WarehouseCode(m.warehouse()), m.quantity(),
          AtEpochMs(m.expires_at_ms()),      m.allocation_index(),  m.allocation_count(),         m.request_line()};
    }
    case pb::Event::kReservationCommitted: {
      const auto& m = p.reservation_committed();
      // Bounded here, so every reader may add the two (LevelChangesOf).
      if (m.quantity() < 0 || m.quantity() > kStockMax || m.released_quantity() < 0 ||
          m.released_quantity() > kStockMax) {
        return Corrupt(absl::StrCat("reservation_committed quantity ", m.quantity(), " / released ",
                                    m.released_quantity(), " outside 0..", kStockMax));
      }
      return ReservationCommitted{ReservationId(m.reservation_id()), WarehouseCode(m.warehouse()), m.quantity(),
                                  m.allocation_index(), m.released_quantity()};
    }
    case pb::Event::kReservationReleased: {
      const auto& m = p.reservation_released();
      absl::StatusOr<ReleaseReason> reason = FromProto(m.reason());
      if (!reason.ok()) return reason.status();
      return ReservationReleased{ReservationId(m.reservation_id()), WarehouseCode(m.warehouse()), m.quantity(),
                                 m.allocation_index(), *reason};
    }
    case pb::Event::kReservationExpired: {
      const auto& m = p.reservation_expired();
      return ReservationExpired{ReservationId(m.reservation_id()), WarehouseCode(m.warehouse()), m.quantity(),
                                m.allocation_index()};
    }
    case pb::Event::kSalesBlocked:
      return SalesBlocked{WarehouseCode(p.sales_blocked().warehouse()), p.sales_blocked().reason()};
    case pb::Event::kSalesUnblocked:
      return SalesUnblocked{WarehouseCode(p.sales_unblocked().warehouse())};
    case pb::Event::kReservationExtended: {
      const auto& m = p.reservation_extended();
      return ReservationExtended{ReservationId(m.reservation_id()), WarehouseCode(m.warehouse()), m.allocation_index(),
                                 AtEpochMs(m.expires_at_ms())};
    }
    case pb::Event::PAYLOAD_NOT_SET: break;
  }
  return Corrupt("no payload (or one written by a newer schema)");
}

}  // namespace

pb::AdjustmentReason ToProto(AdjustmentReason reason) {
  switch (reason) {
    case AdjustmentReason::kDamage: return pb::ADJUSTMENT_REASON_DAMAGE;
    case AdjustmentReason::kLoss: return pb::ADJUSTMENT_REASON_LOSS;
    case AdjustmentReason::kFound: return pb::ADJUSTMENT_REASON_FOUND;
    case AdjustmentReason::kCorrection: return pb::ADJUSTMENT_REASON_CORRECTION;
    case AdjustmentReason::kReturn: return pb::ADJUSTMENT_REASON_RETURN;
  }
  return pb::ADJUSTMENT_REASON_UNSPECIFIED;
}

pb::ReservationStatus ToProto(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kActive: return pb::RESERVATION_STATUS_ACTIVE;
    case ReservationStatus::kCommitted: return pb::RESERVATION_STATUS_COMMITTED;
    case ReservationStatus::kReleased: return pb::RESERVATION_STATUS_RELEASED;
    case ReservationStatus::kExpired: return pb::RESERVATION_STATUS_EXPIRED;
  }
  return pb::RESERVATION_STATUS_UNSPECIFIED;
}

std::optional<ReservationStatus> FromProto(pb::ReservationStatus status) {
  switch (status) {
    case pb::RESERVATION_STATUS_ACTIVE: return ReservationStatus::kActive;
    case pb::RESERVATION_STATUS_COMMITTED: return ReservationStatus::kCommitted;
    case pb::RESERVATION_STATUS_RELEASED: return ReservationStatus::kReleased;
    case pb::RESERVATION_STATUS_EXPIRED: return ReservationStatus::kExpired;
    default: return std::nullopt;
  }
}

pb::ReleaseReason ToProto(ReleaseReason reason) {
  switch (reason) {
    case ReleaseReason::kCancelled: return pb::RELEASE_REASON_CANCELLED;
    case ReleaseReason::kPaymentFailed: return pb::RELEASE_REASON_PAYMENT_FAILED;
    case ReleaseReason::kOrderCancelled: return pb::RELEASE_REASON_ORDER_CANCELLED;
  }
  return pb::RELEASE_REASON_UNSPECIFIED;
}

pb::Event ToProto(const Event& event) {
  pb::Event out;
  const Envelope& env = event.envelope;
  out.set_event_id(env.event_id.ToBytes());
  out.set_schema_version(env.schema_version);
  out.set_occurred_at_ms(EpochMs(env.occurred_at_ms));
  out.set_command_id(env.command_id.value());
  out.set_actor(env.actor);
  out.set_correlation_id(env.correlation_id);
  out.set_traceparent(env.traceparent);
  out.set_sku(env.sku.value());
  out.set_command_fingerprint(env.command_fingerprint);
  out.set_command_event_index(env.command_event_index);
  out.set_command_event_count(env.command_event_count);
  std::visit(PayloadToProto{out}, event.payload);
  return out;
}

absl::StatusOr<Event> FromProto(const pb::Event& proto) {
  if (proto.event_id().size() != 16) {
    return Corrupt(absl::StrCat("event_id has ", proto.event_id().size(), " bytes, expected 16"));
  }
  if (proto.schema_version() == 0) return Corrupt("schema_version missing");
  if (proto.schema_version() > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("event record written by schema version ",
                                                      proto.schema_version(), "; this build reads up to ",
                                                      kSchemaVersion));
  }
  if (proto.command_event_index() >= proto.command_event_count()) {
    return Corrupt(absl::StrCat("command_event_index ", proto.command_event_index(), " >= count ",
                                proto.command_event_count()));
  }
  absl::StatusOr<EventPayload> payload = PayloadFromProto(proto);
  if (!payload.ok()) return payload.status();
  Event out;
  Envelope& env = out.envelope;
  const char* id = proto.event_id().data();
  env.event_id = {base::DecodeFixed64Be(id), base::DecodeFixed64Be(id + 8)};
  env.schema_version = proto.schema_version();
  env.occurred_at_ms = AtEpochMs(proto.occurred_at_ms());
  env.command_id = CommandId(proto.command_id());
  env.actor = proto.actor();
  env.correlation_id = proto.correlation_id();
  env.traceparent = proto.traceparent();
  env.sku = Sku(proto.sku());
  env.command_fingerprint = proto.command_fingerprint();
  env.command_event_index = proto.command_event_index();
  env.command_event_count = proto.command_event_count();
  out.payload = std::move(*payload);
  return out;
}

std::string Encode(const Event& event) { return ToProto(event).SerializeAsString(); }

absl::StatusOr<Event> Decode(std::string_view bytes) { return EventDecoder().Decode(bytes); }

absl::StatusOr<Event> EventDecoder::Decode(std::string_view bytes) {
  if (!proto_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Corrupt(absl::StrCat("does not parse as inventory.v1.Event (", bytes.size(), " bytes)"));
  }
  return FromProto(proto_);
}

}  // namespace ledger
