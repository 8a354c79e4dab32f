#include "ledger/types.h"

#include <variant>

#include "ledger/event.h"
#include "ledger/rejection.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/status.h"

namespace ledger {

std::string_view ToString(AdjustmentReason reason) {
  switch (reason) {
    case AdjustmentReason::kDamage: return "damage";
    case AdjustmentReason::kLoss: return "loss";
    case AdjustmentReason::kFound: return "found";
    case AdjustmentReason::kCorrection: return "correction";
    case AdjustmentReason::kReturn: return "return";
  }
  return "unknown";
}

std::string_view ToString(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kActive: return "active";
    case ReservationStatus::kCommitted: return "committed";
    case ReservationStatus::kReleased: return "released";
    case ReservationStatus::kExpired: return "expired";
  }
  return "unknown";
}

std::string EventId::ToBytes() const {
  std::string out(16, '\0');
  base::EncodeFixed64Be(out.data(), hi);
  base::EncodeFixed64Be(out.data() + 8, lo);
  return out;
}

std::string EventId::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string bytes = ToBytes();
  std::string out;
  out.reserve(32);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(kDigits[u >> 4]);
    out.push_back(kDigits[u & 0xf]);
  }
  return out;
}

std::string PartitionKey(const Event& event) {
  if (const auto* r = std::get_if<WarehouseRegistered>(&event.payload)) return "warehouse/" + r->warehouse.value();
  if (const auto* u = std::get_if<WarehouseUpdated>(&event.payload)) return "warehouse/" + u->warehouse.value();
  return event.envelope.sku.value();
}

std::string_view KindName(const EventPayload& payload) {
  static constexpr std::string_view kNames[] = {
      "item_created",      "item_updated",      "item_discontinued",         "warehouse_registered",
      "warehouse_updated", "stock_received",    "stock_adjusted",            "stock_counted",
      "transfer_shipped",  "transfer_received", "reservation_line_reserved", "reservation_committed",
      "reservation_released", "reservation_expired", "sales_blocked", "sales_unblocked",
      "reservation_extended"};
  static_assert(std::size(kNames) == std::variant_size_v<EventPayload>);
  return kNames[payload.index()];
}

std::string_view ToString(RejectionReason reason) {
  switch (reason) {
    case RejectionReason::kInvalidArgument: return "invalid_argument";
    case RejectionReason::kInsufficientStock: return "insufficient_stock";
    case RejectionReason::kUnknownItem: return "unknown_item";
    case RejectionReason::kUnknownWarehouse: return "unknown_warehouse";
    case RejectionReason::kUnknownReservation: return "unknown_reservation";
    case RejectionReason::kUnknownTransfer: return "unknown_transfer";
    case RejectionReason::kItemDiscontinued: return "item_discontinued";
    case RejectionReason::kWarehouseInactive: return "warehouse_inactive";
    case RejectionReason::kAlreadyExists: return "already_exists";
    case RejectionReason::kAlreadyResolved: return "already_resolved";
    case RejectionReason::kBelowReserved: return "below_reserved";
    case RejectionReason::kLimitExceeded: return "limit_exceeded";
    case RejectionReason::kNotYetExpired: return "not_yet_expired";
    case RejectionReason::kIdempotencyKeyReused: return "idempotency_key_reused";
    case RejectionReason::kSalesBlocked: return "sales_blocked";
    case RejectionReason::kNotBlocked: return "not_blocked";
    case RejectionReason::kExpiryNotLater: return "expiry_not_later";
    case RejectionReason::kOnHandChanged: return "on_hand_changed";
  }
  return "unknown";
}

// BRIEF.md decision 8, by Abseil's guidance: NOT_FOUND for unknown entities,
// FAILED_PRECONDITION where the system's state must change first (no retry
// as is), ALREADY_EXISTS for taken ids, OUT_OF_RANGE for figures past limits,
// ABORTED for a stale expected figure (read again and retry the sequence).
absl::StatusCode Rejection::code() const {
  switch (reason) {
    case RejectionReason::kInvalidArgument:
    case RejectionReason::kIdempotencyKeyReused: return absl::StatusCode::kInvalidArgument;
    case RejectionReason::kUnknownItem:
    case RejectionReason::kUnknownWarehouse:
    case RejectionReason::kUnknownReservation:
    case RejectionReason::kUnknownTransfer: return absl::StatusCode::kNotFound;
    case RejectionReason::kAlreadyExists: return absl::StatusCode::kAlreadyExists;
    case RejectionReason::kLimitExceeded: return absl::StatusCode::kOutOfRange;
    case RejectionReason::kInsufficientStock:
    case RejectionReason::kItemDiscontinued:
    case RejectionReason::kWarehouseInactive:
    case RejectionReason::kAlreadyResolved:
    case RejectionReason::kBelowReserved:
    case RejectionReason::kNotYetExpired:
    case RejectionReason::kSalesBlocked:
    case RejectionReason::kNotBlocked:
    case RejectionReason::kExpiryNotLater: return absl::StatusCode::kFailedPrecondition;
    case RejectionReason::kOnHandChanged: return absl::StatusCode::kAborted;
  }
  return absl::StatusCode::kUnknown;
}

absl::Status Rejection::ToStatus() const {
  if (reason == RejectionReason::kInvalidArgument && !field.empty()) {
    std::string_view problem = message;
    std::string prefix = field + ": ";
    if (problem.substr(0, prefix.size()) == prefix) problem.remove_prefix(prefix.size());
    return base::InvalidField(field, problem);
  }
  return absl::Status(code(), base::AsAbsl(message));
}

}  // namespace ledger
