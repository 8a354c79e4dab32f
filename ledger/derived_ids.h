// Ids derived from other ids, and the hash seeds each derivation uses. They
// live in one file because several components must derive the same name for
// the same thing: the gRPC edge (command-api/translate.h) and the order-event
// consumer (orders/order_commands.h) both name an order's reservation with
// ReservationIdForCommand; the writer names an expiry with ExpireCommandId;
// decide stamps events with EventIdFor; the integration publisher names the
// public events it derives (orders/public_event.h).
//
// Every derived id is stored (in the log, in snapshots, in read models) or
// published (integration events): changing a rule or a seed renames ids that
// clients already hold. Don't; add a new derivation with new seeds instead.
//
// Forms (kIdLengthMax = 128, ledger/validate.h):
//   reservation id   := "r-" command_id           when that fits the limit
//                     | "r-h:" hex128(command_id, kReservationIdSeeds)
//   order step id    := order_id step             when that fits the limit
//                     | "h:" hex128(order_id, kReservationIdSeeds) step
//   expire command   := "expire/" reservation_id  when that fits the limit
//                     | "expire/h:" hex128(reservation_id, kExpireCommandIdSeeds)
//   event id         := (hi, lo) of StableHasher(kEventIdSeeds) over
//                       AddString(command_id) AddInt(now_ms) AddInt(index)
//   alert event id   := hex128(hex(source event id) "/" type, kPublicEventIdSeeds)
//   failed order id  := hex128("reservation_failed/" order_event_id, kPublicEventIdSeeds)
//   hex128(s, seeds) := 32 lowercase hex digits of StableHash128(s, seeds)
//                       (ledger/hash.h), hi then lo
//
// Thread-safety: pure functions.
#ifndef LEDGER_DERIVED_IDS_H_
#define LEDGER_DERIVED_IDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/types.h"

namespace ledger {

// The two seeds of a 128-bit stable hash (ledger/hash.h StableHash128).
struct HashSeeds {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
};

// Event ids and expiry command ids share seeds; their inputs differ in shape
// (AddString then two AddInt vs one AddString), and an event id is never
// compared with a command id anyway.
inline constexpr HashSeeds kEventIdSeeds{.hi = 1, .lo = 2};
inline constexpr HashSeeds kExpireCommandIdSeeds{.hi = 1, .lo = 2};
// Reservation ids and the hashed form of order step command ids.
inline constexpr HashSeeds kReservationIdSeeds{.hi = 3, .lo = 4};
// Public (integration) event ids that are not a log event's own id.
inline constexpr HashSeeds kPublicEventIdSeeds{.hi = 11, .lo = 12};

// 32 lowercase hex digits naming `text` under `seeds`.
std::string HashedIdHex(std::string_view text, HashSeeds seeds);

// The id of event `index` of the command `command_id` decided at `now_ms`.
EventId EventIdFor(const CommandId& command_id, TimeMs now_ms, std::uint32_t index);

// The reservation a Reserve with no reservation id of its own creates: the
// gRPC CheckAndReserveStock derives it from the request's command id.
ReservationId ReservationIdForCommand(const CommandId& command_id);
// An order's reservation: the one a Reserve with command id = order_id
// creates, so a gRPC client can commit or release it by the same name.
ReservationId ReservationIdForOrder(const OrderId& order_id);
// The command id of step `step` ("/commit", "/return/0", ...) of an order.
// An empty step gives the order id itself.
CommandId OrderStepCommandId(const OrderId& order_id, std::string_view step);

// The command id of the expiry of reservation `id`.
CommandId ExpireCommandId(const ReservationId& id);

// The eventId of the alert `type` ("inventory.low_stock") that log event
// `source` raised.
std::string AlertEventId(const EventId& source, std::string_view type);
// The eventId of the inventory.reservation_failed that answers the order
// event `order_event_id`.
std::string ReservationFailedEventId(std::string_view order_event_id);

}  // namespace ledger

#endif  // LEDGER_DERIVED_IDS_H_
