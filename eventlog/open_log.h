// Opens the event log a process is configured for: the embedded RocksDB log
// in <data_dir>/log or the Kafka topic, as the writer or as a read-only
// reader beside a live writer. inventoryd and inventoryctl both open their
// log here, so the two agree on where the embedded log lives and on what
// "read-only" means for each backend.
//
// Thread-safety: OpenLog may be called from any thread; the returned log has
// the contract of eventlog/event_log.h.
#ifndef EVENTLOG_OPEN_LOG_H_
#define EVENTLOG_OPEN_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "eventlog/kafka_log.h"

namespace eventlog {

enum class LogBackend {
  kEmbedded,  // RocksDB in <data_dir>/log (eventlog/rocksdb_log.h)
  kKafka,     // a Kafka topic (eventlog/kafka_log.h)
};

enum class LogAccess {
  // The one writer: the RocksDB primary, or Kafka's transactional producer
  // (which fences an older writer with the same transactional id).
  kReadWrite,
  // A reader beside a live writer: a RocksDB secondary instance, or a Kafka
  // consumer that never starts a transaction and so fences no one.
  kReadOnly,
};

struct LogConfig {
  // Which log. Default kEmbedded.
  LogBackend backend = LogBackend::kEmbedded;
  // Writer or reader. Default kReadWrite.
  LogAccess access = LogAccess::kReadWrite;
  // kEmbedded: the data directory; the log is its subdirectory "log".
  // Default "./data".
  std::string data_dir = "./data";
  // kKafka: bootstrap servers, "host:port[,...]". Required for kKafka.
  std::string kafka_brokers;
  // kKafka: the topic holding the log. Default KafkaLogOptions{}.topic.
  std::string kafka_topic = KafkaLogOptions{}.topic;
  // Partitions of the log, fixed when it is created. 0: the embedded log's
  // recorded count (kEmbedded with kReadOnly only), the Kafka default
  // otherwise. Default KafkaLogOptions{}.partition_count (8).
  std::uint32_t partitions = KafkaLogOptions{}.partition_count;
  // kKafka: security settings for the log's clients (kafka_settings.h).
  // Default none.
  KafkaSettings kafka_settings;
};

// The names of the backends as flags spell them: "embedded", "kafka".
const std::vector<std::string>& LogBackendNames();
std::string_view ToString(LogBackend backend);
// INVALID_ARGUMENT naming the known backends for any other name.
absl::StatusOr<LogBackend> ParseLogBackend(std::string_view name);

// The embedded log's directory under `data_dir`.
std::string EmbeddedLogPath(const std::string& data_dir);

// INVALID_ARGUMENT for kKafka without brokers; otherwise the backend's Open
// errors (FAILED_PRECONDITION for a partition-count mismatch, UNAVAILABLE
// when the log cannot be reached).
absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const LogConfig& config);

}  // namespace eventlog

#endif  // EVENTLOG_OPEN_LOG_H_
