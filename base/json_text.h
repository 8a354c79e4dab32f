// JSON text out: string escaping and RFC 3339 times, the one copy shared by
// the integration events (orders/public_event.h) and inventoryctl's JSON
// output (replay/format.h).
//
// Escaping (RFC 8259 section 7): quote and backslash are escaped; of the
// control characters U+0000..U+001F, the five with a two-character escape
// use it (\b \f \n \r \t, as JSON.stringify and Python's json write them),
// the rest are written \u00XX with lowercase hex. Every other byte,
// including DEL and the bytes of multi-byte UTF-8, passes through unchanged:
// the output is valid JSON whenever the input is valid UTF-8.
//
// Times: "2026-03-01T12:00:00.250Z", always UTC, always milliseconds.
//
// Thread-safety: pure functions.
#ifndef BASE_JSON_TEXT_H_
#define BASE_JSON_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace base {

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);
// `s` as a quoted JSON string.
std::string JsonString(std::string_view s);

// Unix epoch milliseconds as RFC 3339 UTC text with milliseconds.
std::string FormatRfc3339Ms(std::int64_t unix_ms);

}  // namespace base

#endif  // BASE_JSON_TEXT_H_
