#include "eventlog/open_log.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "eventlog/rocksdb_log.h"

namespace eventlog {

const std::vector<std::string>& LogBackendNames() {
  static const std::vector<std::string> kNames = {"embedded", "kafka"};
  return kNames;
}

std::string_view ToString(LogBackend backend) {
  return LogBackendNames()[backend == LogBackend::kEmbedded ? 0 : 1];
}

absl::StatusOr<LogBackend> ParseLogBackend(std::string_view name) {
  if (name == ToString(LogBackend::kEmbedded)) return LogBackend::kEmbedded;
  if (name == ToString(LogBackend::kKafka)) return LogBackend::kKafka;
  return absl::InvalidArgumentError(absl::StrCat("unknown log backend '", base::AsAbsl(name), "' (known: ",
                                                 absl::StrJoin(LogBackendNames(), ", "), ")"));
}

std::string EmbeddedLogPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "log").string();
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const LogConfig& config) {
  if (config.backend == LogBackend::kKafka) {
    if (config.kafka_brokers.empty()) {
      return absl::InvalidArgumentError("--kafka-brokers is required with --log-backend kafka (the Kafka log needs bootstrap servers)");
    }
    KafkaLogOptions o;
    o.bootstrap_servers = config.kafka_brokers;
    o.topic = config.kafka_topic;
    o.settings = config.kafka_settings;
    if (config.partitions != 0) o.partition_count = config.partitions;
    o.role = config.access == LogAccess::kReadWrite ? KafkaLogRole::kReadWrite : KafkaLogRole::kReadOnly;
    ASSIGN_OR_RETURN(std::unique_ptr<KafkaLog> log, KafkaLog::Open(std::move(o)));
    return std::unique_ptr<EventLog>(std::move(log));
  }
  RocksDbLogOptions o;
  o.path = EmbeddedLogPath(config.data_dir);
  o.partition_count = config.partitions;
  o.mode = config.access == LogAccess::kReadWrite ? RocksDbLogMode::kReadWrite : RocksDbLogMode::kSecondary;
  ASSIGN_OR_RETURN(std::unique_ptr<RocksDbLog> log, RocksDbLog::Open(std::move(o)));
  return std::unique_ptr<EventLog>(std::move(log));
}

}  // namespace eventlog
