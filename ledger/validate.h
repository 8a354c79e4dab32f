// Field validation shared by every entry point (decide, the gRPC edge, the
// order-event consumer): lengths, charsets and numeric bounds. Each check
// returns a Rejection of kind kInvalidArgument naming the field path, or
// nullopt when the value is acceptable.
//
// Thread-safety: pure functions.
#ifndef LEDGER_VALIDATE_H_
#define LEDGER_VALIDATE_H_

#include <optional>
#include <string>
#include <string_view>

#include "ledger/command.h"
#include "ledger/rejection.h"

namespace ledger {

inline constexpr std::size_t kSkuLengthMax = 64;
inline constexpr std::size_t kWarehouseCodeLengthMax = 32;
inline constexpr std::size_t kIdLengthMax = 128;  // command, reservation, order, transfer ids
inline constexpr std::size_t kNameLengthMax = 200;
inline constexpr std::size_t kTextLengthMax = 256;  // category, region, actor, reference, attribute values
inline constexpr std::size_t kAttributesMax = 32;
inline constexpr std::size_t kAttributeKeyLengthMax = 64;
inline constexpr std::int32_t kWarehousePriorityMax = 1'000'000;
// Command times must lie in [0, kTimeMaxMs] (year 2255), so now + ttl never overflows.
inline constexpr TimeMs kTimeMaxMs = AtEpochMs(9'000'000'000'000);

std::optional<Rejection> InvalidField(std::string field, std::string problem);

// SKUs and warehouse codes: [A-Za-z0-9._:-], 1..max characters.
std::optional<Rejection> CheckCode(std::string_view field, std::string_view value, std::size_t max_length);
// Ids: [A-Za-z0-9._:/-], 1..kIdLengthMax characters.
std::optional<Rejection> CheckId(std::string_view field, std::string_view value);
// Free text: valid UTF-8 is not checked here, only length and no control characters.
std::optional<Rejection> CheckText(std::string_view field, std::string_view value, std::size_t max_length);
// 1..kMovementQuantityMax.
std::optional<Rejection> CheckMovementQuantity(std::string_view field, Quantity value);

std::optional<Rejection> ValidateMeta(const CommandMeta& meta);
std::optional<Rejection> ValidateBody(const CommandBody& body);

}  // namespace ledger

#endif  // LEDGER_VALIDATE_H_
