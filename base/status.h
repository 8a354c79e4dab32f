// Helpers for errors as values (absl::Status / absl::StatusOr).
//
// Field errors name the offending field in the message and in a payload, so
// the API edge can map them to INVALID_ARGUMENT with a field violation.
#ifndef BASE_STATUS_H_
#define BASE_STATUS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace base {

// Debian builds Abseil without ABSL_USES_STD_STRING_VIEW, so absl::string_view
// is its own type. Our code speaks std::string_view and converts at the edge.
inline absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view AsStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// The payload type URL under which InvalidField stores the field path.
inline constexpr std::string_view kFieldPayloadUrl = "type.inventory.v1/field";

// INVALID_ARGUMENT whose message starts with the field path:
// "lines[2].quantity: must be > 0".
absl::Status InvalidField(std::string_view field, std::string_view problem);

// The field path stored by InvalidField, if any.
std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace base

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status status_macro_ = (expr);       \
    if (!status_macro_.ok()) return status_macro_; \
  } while (false)

#define STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define STATUS_MACROS_CONCAT_(x, y) STATUS_MACROS_CONCAT_INNER_(x, y)

// ASSIGN_OR_RETURN(lhs, expr): evaluates expr (an absl::StatusOr<T>), returns
// its status on error, otherwise moves the value into lhs.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL_(STATUS_MACROS_CONCAT_(statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // BASE_STATUS_H_
