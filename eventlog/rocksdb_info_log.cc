#include "eventlog/rocksdb_info_log.h"

#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>

#include "spdlog/spdlog.h"

namespace eventlog {
namespace {

spdlog::level::level_enum ToSpdlog(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL:  // the options dump at open: hundreds of lines
      return spdlog::level::debug;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
    case rocksdb::InfoLogLevel::NUM_INFO_LOG_LEVELS:
      break;
  }
  return spdlog::level::err;
}

class SpdlogInfoLog final : public rocksdb::Logger {
 public:
  explicit SpdlogInfoLog(std::string name)
      : rocksdb::Logger(spdlog::should_log(spdlog::level::debug) ? rocksdb::InfoLogLevel::DEBUG_LEVEL
                                                                : rocksdb::InfoLogLevel::WARN_LEVEL),
        name_(std::move(name)) {}

  // RocksDB's unlevelled calls are informational.
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    spdlog::level::level_enum to = ToSpdlog(level);
    if (!spdlog::should_log(to)) return;
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(small, sizeof(small), format, copy);
    va_end(copy);
    std::string text;
    if (n < 0) {
      text = format;  // unformattable: the format itself says what it was about
    } else if (static_cast<std::size_t>(n) < sizeof(small)) {
      text.assign(small, static_cast<std::size_t>(n));
    } else {
      text.resize(static_cast<std::size_t>(n) + 1);
      std::vsnprintf(text.data(), text.size(), format, ap);
      text.resize(static_cast<std::size_t>(n));
    }
    spdlog::log(to, "rocksdb ({}): {}", name_, text);
  }

 private:
  const std::string name_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> RocksDbInfoLog(std::string_view name) {
  return std::make_shared<SpdlogInfoLog>(std::string(name));
}

}  // namespace eventlog
