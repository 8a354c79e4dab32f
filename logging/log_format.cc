#include "logging/log_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace logging {
namespace {

// The fields of the scopes open on this thread, outermost first.
thread_local std::vector<std::pair<std::string_view, std::string>> tls_fields;

// Concatenates text pieces (absl::StrCat does not take std::string_view here).
template <typename... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (out.append(std::string_view(pieces)), ...);
  return out;
}

void Append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

std::string IsoTime(spdlog::log_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string role) : role_(std::move(role)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    Append(dest, Cat("{\"time\":\"", IsoTime(msg.time), "\",\"level\":\"",
                              std::string_view(level.data(), level.size()), "\",\"logger\":\"",
                              JsonEscape(std::string_view(msg.logger_name.data(), msg.logger_name.size())),
                              "\",\"role\":\"", JsonEscape(role_), "\",\"message\":\"",
                              JsonEscape(std::string_view(msg.payload.data(), msg.payload.size())), "\""));
    for (const auto& [key, value] : tls_fields) {
      Append(dest, Cat(",\"", JsonEscape(key), "\":\"", JsonEscape(value), "\""));
    }
    Append(dest, "}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(role_); }

 private:
  const std::string role_;
};

// spdlog's default pattern, then " key=value" per field.
class TextFormatter : public spdlog::formatter {
 public:
  explicit TextFormatter(std::string role)
      : role_(std::move(role)), pattern_(std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v", spdlog::pattern_time_type::local, "")) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    pattern_->format(msg, dest);
    for (const auto& [key, value] : tls_fields) Append(dest, Cat(" ", key, "=", value));
    Append(dest, "\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(role_); }

 private:
  const std::string role_;
  std::unique_ptr<spdlog::pattern_formatter> pattern_;
};

std::shared_ptr<spdlog::logger>& AccessLoggerSlot() {
  static std::shared_ptr<spdlog::logger> access;
  return access;
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(Cat("--log-format: '", text, "' is not text or json"));
}

std::unique_ptr<spdlog::formatter> MakeFormatter(LogFormat format, std::string role) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>(std::move(role));
  return std::make_unique<TextFormatter>(std::move(role));
}

void SetUpLogging(LogFormat format, std::string role, bool access_log) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(MakeFormatter(format, std::move(role)));
  auto main = std::make_shared<spdlog::logger>("inventoryd", sink);
  spdlog::set_default_logger(main);
  auto access = std::make_shared<spdlog::logger>("access", sink);
  access->set_level(access_log ? spdlog::level::info : spdlog::level::off);
  AccessLoggerSlot() = access;
}

spdlog::logger* AccessLogger() { return AccessLoggerSlot().get(); }

ScopedLogFields::ScopedLogFields(std::initializer_list<std::pair<std::string_view, std::string>> fields)
    : added_(fields.size()) {
  for (const auto& f : fields) tls_fields.push_back(f);
}

ScopedLogFields::~ScopedLogFields() { tls_fields.resize(tls_fields.size() - added_); }

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace logging
