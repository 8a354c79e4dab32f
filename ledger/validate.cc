#include "ledger/validate.h"

#include <array>
#include <variant>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace ledger {
namespace {

using base::AsAbsl;

// kCodeChars[c]: 1 for [A-Za-z0-9._:-], 2 for '/', else 0. A table, because
// every command validates several ids on the writer's hot path.
constexpr std::array<std::uint8_t, 256> MakeCodeChars() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = 1;
  for (char c : {'.', '_', ':', '-'}) t[static_cast<unsigned char>(c)] = 1;
  t['/'] = 2;
  return t;
}
constexpr std::array<std::uint8_t, 256> kCodeChars = MakeCodeChars();

// Field paths like "lines[3].sku" are built only for a rejection, never on
// the happy path: `r`'s field and message get `prefix` in front.
std::optional<Rejection> Prefixed(std::optional<Rejection> r, const std::string& prefix) {
  if (!r) return r;
  r->field = prefix + r->field;
  r->message = prefix + r->message;
  return r;
}

std::optional<Rejection> CheckCharset(std::string_view field, std::string_view value, std::size_t max_length,
                                      bool allow_slash) {
  if (value.empty()) return InvalidField(std::string(field), "is required");
  if (value.size() > max_length) {
    return InvalidField(std::string(field),
                        absl::StrCat("is ", value.size(), " characters; at most ", max_length, " allowed"));
  }
  const std::uint8_t accepted_max = allow_slash ? 2 : 1;
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::uint8_t kind = kCodeChars[static_cast<unsigned char>(value[i])];
    if (kind != 0 && kind <= accepted_max) continue;
    return InvalidField(std::string(field),
                        absl::StrCat("character ", i, " is not allowed; use letters, digits and . _ : -",
                                     allow_slash ? " /" : ""));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckNonNegative(std::string_view field, Quantity value, Quantity max) {
  if (value < 0 || value > max) {
    return InvalidField(std::string(field), absl::StrCat("must be between 0 and ", max, ", got ", value));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckAttributes(std::string_view field, const Attributes& attributes) {
  if (attributes.size() > kAttributesMax) {
    return InvalidField(std::string(field), absl::StrCat("has ", attributes.size(), " entries; at most ",
                                                         kAttributesMax, " allowed"));
  }
  for (std::size_t i = 0; i < attributes.size(); ++i) {
    std::optional<Rejection> r = CheckCode(".key", attributes[i].key, kAttributeKeyLengthMax);
    if (!r) r = CheckText(".value", attributes[i].value, kTextLengthMax);
    for (std::size_t j = 0; j < i && !r; ++j) {
      if (attributes[j].key == attributes[i].key) r = InvalidField(".key", "is repeated");
    }
    if (r) return Prefixed(std::move(r), absl::StrCat(AsAbsl(field), "[", i, "]"));
  }
  return std::nullopt;
}

std::optional<Rejection> CheckOptionalCode(std::string_view field, const WarehouseCode& code) {
  if (code.empty()) return std::nullopt;
  return CheckCode(field, code.value(), kWarehouseCodeLengthMax);
}

std::optional<Rejection> CheckTtl(DurationMs ttl_ms);

// One overload per command body.
std::optional<Rejection> Check(const CreateItem& c) {
  if (auto r = CheckCode("sku", c.sku.value(), kSkuLengthMax)) return r;
  if (auto r = CheckText("name", c.name, kNameLengthMax)) return r;
  if (c.name.empty()) return InvalidField("name", "is required");
  if (auto r = CheckText("category", c.category, kTextLengthMax)) return r;
  if (auto r = CheckAttributes("attributes", c.attributes)) return r;
  if (auto r = CheckNonNegative("reorder_point", c.reorder_point, kStockMax)) return r;
  return CheckNonNegative("reorder_quantity", c.reorder_quantity, kStockMax);
}

std::optional<Rejection> Check(const UpdateItem& c) {
  if (auto r = CheckCode("sku", c.sku.value(), kSkuLengthMax)) return r;
  if (!c.name && !c.category && !c.attributes && !c.reorder_point && !c.reorder_quantity) {
    return InvalidField("update", "names no field to change");
  }
  if (c.name) {
    if (c.name->empty()) return InvalidField("name", "must not be empty");
    if (auto r = CheckText("name", *c.name, kNameLengthMax)) return r;
  }
  if (c.category) {
    if (auto r = CheckText("category", *c.category, kTextLengthMax)) return r;
  }
  if (c.attributes) {
    if (auto r = CheckAttributes("attributes", *c.attributes)) return r;
  }
  if (c.reorder_point) {
    if (auto r = CheckNonNegative("reorder_point", *c.reorder_point, kStockMax)) return r;
  }
  if (c.reorder_quantity) return CheckNonNegative("reorder_quantity", *c.reorder_quantity, kStockMax);
  return std::nullopt;
}

std::optional<Rejection> Check(const DiscontinueItem& c) { return CheckCode("sku", c.sku.value(), kSkuLengthMax); }

std::optional<Rejection> CheckWarehouseFields(const WarehouseCode& code, const std::string* name,
                                              const std::string* region, const std::int32_t* priority) {
  if (auto r = CheckCode("warehouse", code.value(), kWarehouseCodeLengthMax)) return r;
  if (name != nullptr) {
    if (auto r = CheckText("name", *name, kNameLengthMax)) return r;
  }
  if (region != nullptr) {
    if (auto r = CheckText("region", *region, kTextLengthMax)) return r;
  }
  if (priority != nullptr && (*priority < 0 || *priority > kWarehousePriorityMax)) {
    return InvalidField("priority", absl::StrCat("must be between 0 and ", kWarehousePriorityMax));
  }
  return std::nullopt;
}

std::optional<Rejection> Check(const RegisterWarehouse& c) {
  return CheckWarehouseFields(c.warehouse, &c.name, &c.region, &c.priority);
}

std::optional<Rejection> Check(const UpdateWarehouse& c) {
  if (!c.name && !c.region && !c.priority && !c.active) return InvalidField("update", "names no field to change");
  return CheckWarehouseFields(c.warehouse, c.name ? &*c.name : nullptr, c.region ? &*c.region : nullptr,
                              c.priority ? &*c.priority : nullptr);
}

std::optional<Rejection> CheckSkuAndWarehouse(const Sku& sku, const WarehouseCode& warehouse) {
  if (auto r = CheckCode("sku", sku.value(), kSkuLengthMax)) return r;
  return CheckCode("warehouse", warehouse.value(), kWarehouseCodeLengthMax);
}

std::optional<Rejection> CheckExpectedOnHand(const std::optional<Quantity>& expected_on_hand) {
  if (!expected_on_hand) return std::nullopt;
  return CheckNonNegative("expected_on_hand", *expected_on_hand, kStockMax);
}

std::optional<Rejection> Check(const ReceiveStock& c) {
  if (auto r = CheckSkuAndWarehouse(c.sku, c.warehouse)) return r;
  if (auto r = CheckMovementQuantity("quantity", c.quantity)) return r;
  return CheckText("reference", c.reference, kTextLengthMax);
}

std::optional<Rejection> Check(const AdjustStock& c) {
  if (auto r = CheckSkuAndWarehouse(c.sku, c.warehouse)) return r;
  if (c.delta == 0) return InvalidField("delta", "must not be 0");
  if (c.delta < -kMovementQuantityMax || c.delta > kMovementQuantityMax) {
    return InvalidField("delta", absl::StrCat("must be within +-", kMovementQuantityMax));
  }
  bool removes = c.reason == AdjustmentReason::kDamage || c.reason == AdjustmentReason::kLoss;
  bool adds = c.reason == AdjustmentReason::kFound || c.reason == AdjustmentReason::kReturn;
  if (removes && c.delta > 0) {
    return InvalidField("delta", absl::StrCat("must be negative for reason ", AsAbsl(ToString(c.reason))));
  }
  if (adds && c.delta < 0) {
    return InvalidField("delta", absl::StrCat("must be positive for reason ", AsAbsl(ToString(c.reason))));
  }
  if (auto r = CheckExpectedOnHand(c.expected_on_hand)) return r;
  return CheckText("reference", c.reference, kTextLengthMax);
}

std::optional<Rejection> Check(const CountStock& c) {
  if (auto r = CheckSkuAndWarehouse(c.sku, c.warehouse)) return r;
  if (auto r = CheckExpectedOnHand(c.expected_on_hand)) return r;
  return CheckNonNegative("counted", c.counted, kStockMax);
}

std::optional<Rejection> Check(const ShipTransfer& c) {
  if (auto r = CheckId("transfer_id", c.transfer_id.value())) return r;
  if (auto r = CheckCode("sku", c.sku.value(), kSkuLengthMax)) return r;
  if (auto r = CheckCode("from_warehouse", c.from.value(), kWarehouseCodeLengthMax)) return r;
  if (auto r = CheckCode("to_warehouse", c.to.value(), kWarehouseCodeLengthMax)) return r;
  if (c.from == c.to) return InvalidField("to_warehouse", "must differ from from_warehouse");
  return CheckMovementQuantity("quantity", c.quantity);
}

std::optional<Rejection> Check(const ReceiveTransfer& c) { return CheckId("transfer_id", c.transfer_id.value()); }

std::optional<Rejection> Check(const Reserve& c) {
  if (auto r = CheckId("reservation_id", c.reservation_id.value())) return r;
  if (!c.order_id.empty()) {
    if (auto r = CheckId("order_id", c.order_id.value())) return r;
  }
  if (c.lines.empty()) return InvalidField("lines", "must hold at least one line");
  if (c.lines.size() > kReservationLinesMax) {
    return InvalidField("lines", absl::StrCat("has ", c.lines.size(), " lines; at most ", kReservationLinesMax));
  }
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    std::optional<Rejection> r = CheckCode(".sku", c.lines[i].sku.value(), kSkuLengthMax);
    if (!r) r = CheckMovementQuantity(".quantity", c.lines[i].quantity);
    if (!r) r = CheckOptionalCode(".warehouse", c.lines[i].warehouse);
    if (r) return Prefixed(std::move(r), absl::StrCat("lines[", i, "]"));
  }
  if (auto r = CheckTtl(c.ttl_ms)) return r;
  return CheckText("preferred_region", c.preferred_region, kTextLengthMax);
}

// A partial commit's line on its own; Decide checks it against the reservation.
std::optional<Rejection> CheckCommitLine(const CommitLine& line) {
  if (line.request_line) {
    if (!line.sku.empty() || !line.warehouse.empty()) {
      return InvalidField(".request_line", "give either request_line or sku and warehouse, not both");
    }
    if (*line.request_line >= kReservationLinesMax) {
      return InvalidField(".request_line", absl::StrCat("must be below ", kReservationLinesMax));
    }
  } else {
    if (auto r = CheckCode(".sku", line.sku.value(), kSkuLengthMax)) return r;
    if (auto r = CheckCode(".warehouse", line.warehouse.value(), kWarehouseCodeLengthMax)) return r;
  }
  return CheckMovementQuantity(".quantity", line.quantity);
}

std::optional<Rejection> Check(const CommitReservation& c) {
  if (auto r = CheckId("reservation_id", c.reservation_id.value())) return r;
  if (c.lines.size() > kReservationAllocationsMax) {
    return InvalidField("lines", absl::StrCat("has ", c.lines.size(), " lines; at most ", kReservationAllocationsMax));
  }
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    if (auto r = CheckCommitLine(c.lines[i])) return Prefixed(std::move(r), absl::StrCat("lines[", i, "]"));
  }
  return std::nullopt;
}
std::optional<Rejection> Check(const ReleaseReservation& c) {
  return CheckId("reservation_id", c.reservation_id.value());
}
std::optional<Rejection> Check(const ExpireReservation& c) {
  return CheckId("reservation_id", c.reservation_id.value());
}

std::optional<Rejection> CheckTtl(DurationMs ttl_ms) {
  if (ttl_ms >= kReservationTtlMinMs && ttl_ms <= kReservationTtlMaxMs) return std::nullopt;
  return InvalidField("ttl_ms", absl::StrCat("must be between ", kReservationTtlMinMs.count(), " and ",
                                             kReservationTtlMaxMs.count(), ", got ", ttl_ms.count()));
}

std::optional<Rejection> Check(const ExtendReservation& c) {
  if (auto r = CheckId("reservation_id", c.reservation_id.value())) return r;
  return CheckTtl(c.ttl_ms);
}

std::optional<Rejection> Check(const BlockSales& c) {
  if (auto r = CheckCode("sku", c.sku.value(), kSkuLengthMax)) return r;
  if (auto r = CheckOptionalCode("warehouse", c.warehouse)) return r;
  if (c.reason.empty()) return InvalidField("reason", "is required: say why sales are blocked");
  return CheckText("reason", c.reason, kTextLengthMax);
}
std::optional<Rejection> Check(const UnblockSales& c) {
  if (auto r = CheckCode("sku", c.sku.value(), kSkuLengthMax)) return r;
  return CheckOptionalCode("warehouse", c.warehouse);
}

}  // namespace

std::optional<Rejection> InvalidField(std::string field, std::string problem) {
  Rejection r;
  r.reason = RejectionReason::kInvalidArgument;
  r.message = absl::StrCat(field, ": ", problem);
  r.field = std::move(field);
  return r;
}

std::optional<Rejection> CheckCode(std::string_view field, std::string_view value, std::size_t max_length) {
  return CheckCharset(field, value, max_length, /*allow_slash=*/false);
}

std::optional<Rejection> CheckId(std::string_view field, std::string_view value) {
  return CheckCharset(field, value, kIdLengthMax, /*allow_slash=*/true);
}

std::optional<Rejection> CheckText(std::string_view field, std::string_view value, std::size_t max_length) {
  if (value.size() > max_length) {
    return InvalidField(std::string(field),
                        absl::StrCat("is ", value.size(), " bytes; at most ", max_length, " allowed"));
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      return InvalidField(std::string(field), absl::StrCat("byte ", i, " is a control character"));
    }
  }
  return std::nullopt;
}

std::optional<Rejection> CheckMovementQuantity(std::string_view field, Quantity value) {
  if (value <= 0) return InvalidField(std::string(field), absl::StrCat("must be > 0, got ", value));
  if (value > kMovementQuantityMax) {
    return InvalidField(std::string(field), absl::StrCat("must be at most ", kMovementQuantityMax, ", got ", value));
  }
  return std::nullopt;
}

std::optional<Rejection> ValidateMeta(const CommandMeta& meta) {
  if (auto r = CheckId("command_id", meta.command_id.value())) return r;
  if (meta.now_ms < TimeMs{} || meta.now_ms > kTimeMaxMs) {
    return InvalidField("now_ms", absl::StrCat("must be between 0 and ", EpochMs(kTimeMaxMs)));
  }
  if (auto r = CheckText("actor", meta.actor, kIdLengthMax)) return r;
  if (auto r = CheckText("traceparent", meta.traceparent, kIdLengthMax)) return r;
  return CheckText("correlation_id", meta.correlation_id, kIdLengthMax);
}

std::optional<Rejection> ValidateBody(const CommandBody& body) {
  return std::visit([](const auto& c) { return Check(c); }, body);
}

}  // namespace ledger
