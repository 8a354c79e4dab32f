#include "ledger/derived_ids.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/hash.h"
#include "ledger/validate.h"

namespace ledger {
namespace {

using base::AsAbsl;

// prefix + id + suffix when that fits an id, else prefix + "h:" + the hash of
// id + suffix: the hash replaces only the part of unbounded length.
std::string PlainOrHashed(std::string_view prefix, std::string_view id, std::string_view suffix, HashSeeds seeds) {
  std::string plain = absl::StrCat(AsAbsl(prefix), AsAbsl(id), AsAbsl(suffix));
  if (plain.size() <= kIdLengthMax) return plain;
  return absl::StrCat(AsAbsl(prefix), "h:", HashedIdHex(id, seeds), AsAbsl(suffix));
}

}  // namespace

std::string HashedIdHex(std::string_view text, HashSeeds seeds) {
  auto [hi, lo] = StableHash128(text, seeds.hi, seeds.lo);
  return EventId{hi, lo}.ToHex();
}

EventId EventIdFor(const CommandId& command_id, TimeMs now_ms, std::uint32_t index) {
  StableHasher hi(kEventIdSeeds.hi), lo(kEventIdSeeds.lo);
  for (StableHasher* h : {&hi, &lo}) {
    h->AddString(command_id.value());
    h->AddInt(EpochMs(now_ms));
    h->AddInt(index);
  }
  return {hi.Finish(), lo.Finish()};
}

ReservationId ReservationIdForCommand(const CommandId& command_id) {
  return ReservationId(PlainOrHashed("r-", command_id.value(), "", kReservationIdSeeds));
}

ReservationId ReservationIdForOrder(const OrderId& order_id) {
  return ReservationIdForCommand(CommandId(order_id.value()));
}

CommandId OrderStepCommandId(const OrderId& order_id, std::string_view step) {
  if (step.empty()) return CommandId(order_id.value());
  return CommandId(PlainOrHashed("", order_id.value(), step, kReservationIdSeeds));
}

CommandId ExpireCommandId(const ReservationId& id) {
  return CommandId(PlainOrHashed("expire/", id.value(), "", kExpireCommandIdSeeds));
}

std::string AlertEventId(const EventId& source, std::string_view type) {
  return HashedIdHex(absl::StrCat(source.ToHex(), "/", AsAbsl(type)), kPublicEventIdSeeds);
}

std::string ReservationFailedEventId(std::string_view order_event_id) {
  return HashedIdHex(absl::StrCat("reservation_failed/", AsAbsl(order_event_id)), kPublicEventIdSeeds);
}

}  // namespace ledger
