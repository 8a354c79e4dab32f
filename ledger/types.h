// Value types of the inventory domain: identifiers, quantities, limits and
// enums shared by commands, events and state.
//
// Quantities are signed 64-bit integers with stated maxima chosen so that no
// sum the ledger forms can overflow: a line or movement is at most
// kMovementQuantityMax, a stock figure per (SKU, warehouse) at most kStockMax,
// and there are at most kWarehousesMax warehouses, so a per-SKU total is below
// 2^60 and every difference of two figures is below 2^61.
//
// Thread-safety: plain values.
#ifndef LEDGER_TYPES_H_
#define LEDGER_TYPES_H_

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/strong_id.h"

namespace ledger {

struct SkuTag {};
struct WarehouseTag {};
struct ReservationTag {};
struct OrderTag {};
struct TransferTag {};
struct CommandTag {};

using Sku = base::StrongId<SkuTag>;
using WarehouseCode = base::StrongId<WarehouseTag>;
using ReservationId = base::StrongId<ReservationTag>;
using OrderId = base::StrongId<OrderTag>;
using TransferId = base::StrongId<TransferTag>;
// The idempotency key of a command.
using CommandId = base::StrongId<CommandTag>;

// A count of units. Signed so deltas share the type; see the limits below.
using Quantity = std::int64_t;

// Time is std::chrono, so it never mixes with a Quantity unnoticed: a span is
// a DurationMs, a point a TimeMs (Unix epoch milliseconds; the core never reads
// a clock: time arrives in commands). TimeMs + DurationMs is a TimeMs, TimeMs -
// TimeMs a DurationMs; TimeMs + Quantity, or a TimeMs built from a bare
// integer, does not compile. Integers cross only at the edges (codecs, flags,
// text) through AtEpochMs and EpochMs.
using DurationMs = std::chrono::milliseconds;
using TimeMs = std::chrono::sys_time<DurationMs>;
constexpr TimeMs AtEpochMs(std::int64_t ms) { return TimeMs{DurationMs{ms}}; }
constexpr std::int64_t EpochMs(TimeMs t) { return t.time_since_epoch().count(); }

// Largest quantity one command line or movement may carry.
inline constexpr Quantity kMovementQuantityMax = 1'000'000'000;
// Largest on_hand, reserved or incoming figure one (SKU, warehouse) may hold.
inline constexpr Quantity kStockMax = 1'000'000'000'000'000;
// Most warehouses the ledger will register.
inline constexpr std::size_t kWarehousesMax = 1024;
// Most lines in one reservation request, and most allocations it may split into.
inline constexpr std::size_t kReservationLinesMax = 100;
inline constexpr std::size_t kReservationAllocationsMax = 400;
// Reservation time-to-live bounds.
inline constexpr DurationMs kReservationTtlMinMs = std::chrono::seconds{1};
inline constexpr DurationMs kReservationTtlMaxMs = std::chrono::days{7};

enum class AdjustmentReason : std::uint8_t { kDamage, kLoss, kFound, kCorrection, kReturn };
enum class ItemStatus : std::uint8_t { kActive, kDiscontinued };
enum class ReservationStatus : std::uint8_t { kActive, kCommitted, kReleased, kExpired };
enum class ReleaseReason : std::uint8_t { kCancelled, kPaymentFailed, kOrderCancelled };
// Whether allocation may fill one request line from several warehouses.
enum class SplitPolicy : std::uint8_t { kSingleWarehouse, kAllowSplit };

std::string_view ToString(AdjustmentReason reason);
std::string_view ToString(ReservationStatus status);

struct Attribute {
  std::string key;
  std::string value;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};
using Attributes = std::vector<Attribute>;

// 128 bits, stable for an event across replays: derived from the command id,
// the command time and the event's index within the command.
struct EventId {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend auto operator<=>(const EventId&, const EventId&) = default;
  friend bool operator==(const EventId&, const EventId&) = default;
  std::string ToBytes() const;  // 16 bytes, big-endian hi then lo
  std::string ToHex() const;
};

}  // namespace ledger

#endif  // LEDGER_TYPES_H_
