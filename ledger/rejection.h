// Why decide() refused a command, with what the caller needs to act on it.
// Rejections are values, never exceptions; ToStatus() maps them to an
// absl::Status with the code chosen by Abseil's retry guidance (BRIEF.md
// decision 8).
//
// Thread-safety: plain values.
#ifndef LEDGER_REJECTION_H_
#define LEDGER_REJECTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ledger/types.h"

namespace ledger {

enum class RejectionReason : std::uint8_t {
  kInvalidArgument,       // a field is malformed; `field` names it
  kInsufficientStock,     // `lines` says what is available per request line
  kUnknownItem,
  kUnknownWarehouse,
  kUnknownReservation,
  kUnknownTransfer,
  kItemDiscontinued,
  kWarehouseInactive,
  kAlreadyExists,         // item, warehouse, reservation or transfer id taken
  kAlreadyResolved,       // reservation committed/released/expired, transfer received
  kBelowReserved,         // the change would leave on_hand below reserved (or negative)
  kLimitExceeded,         // a stock figure would pass kStockMax, or too many warehouses
  kNotYetExpired,         // ExpireReservation before expires_at
  kIdempotencyKeyReused,  // same command id, different content
  kSalesBlocked,          // a sales block covers a reservation line; the message names it
  kNotBlocked,            // UnblockSales where no block of that scope stands
  kExpiryNotLater,        // ExtendReservation to an expiry not after the current one
  kOnHandChanged,         // an adjustment's or count's expected_on_hand is stale; `on_hand` is the figure now
};

std::string_view ToString(RejectionReason reason);

struct LineAvailability {
  std::uint32_t line = 0;
  Sku sku;
  Quantity requested = 0;
  Quantity available = 0;
  friend bool operator==(const LineAvailability&, const LineAvailability&) = default;
};

struct Rejection {
  RejectionReason reason = RejectionReason::kInvalidArgument;
  std::string message;
  std::string field;                     // kInvalidArgument: the offending field path
  std::vector<LineAvailability> lines;   // kInsufficientStock: every request line
  std::optional<Quantity> on_hand;       // kOnHandChanged: on hand at the command's SKU and warehouse

  absl::StatusCode code() const;
  absl::Status ToStatus() const;
};

}  // namespace ledger

#endif  // LEDGER_REJECTION_H_
