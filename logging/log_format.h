// inventoryd's log lines: text for people, or JSON for a log pipeline
// (--log-format, INVENTORY_LOG_FORMAT). Both go to stderr through spdlog.
//
// JSON is one object per line:
//   {"time":"2026-12-02T00:31:07.123Z","level":"info","logger":"inventoryd",
//    "role":"command,projector,query","message":"...", <fields>}
// Text is spdlog's default pattern, with the fields appended as key=value.
//
// Fields: a ScopedLogFields on the stack attaches key/value pairs (command
// id, correlation id, SKU, reservation id, trace id, or an access log's
// method, code, duration and peer) to every line the same thread logs while
// it lives. Nested scopes add to the outer ones.
//
// Thread-safety: SetUpLogging once, before other threads log.
// ScopedLogFields is per thread.
#ifndef LOGGING_LOG_FORMAT_H_
#define LOGGING_LOG_FORMAT_H_

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace spdlog {
class formatter;
class logger;
}  // namespace spdlog

namespace logging {

enum class LogFormat : uint8_t { kText, kJson };

// "text" or "json"; INVALID_ARGUMENT naming the value otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text);

// A formatter for `format` whose lines carry `role`.
std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format, std::string role);

// Makes the default logger "inventoryd" (stderr) use `format`, and creates the
// logger "access" on the same sink, at level off unless `access_log` (then info).
void SetUpLogging(LogFormat format, std::string role, bool access_log);

// The access logger (SetUpLogging), or null before it.
spdlog::logger* AccessLogger();


class ScopedLogFields {
 public:
  explicit ScopedLogFields(std::initializer_list<std::pair<std::string_view, std::string>> fields);
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  size_t added_;
};

// `s` as the inside of a JSON string (quotes, backslashes, control characters escaped).
std::string JsonEscape(std::string_view s);

}  // namespace logging

#endif  // LOGGING_LOG_FORMAT_H_
