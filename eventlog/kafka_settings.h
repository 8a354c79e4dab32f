// Kafka client security settings passed through to librdkafka: the
// `--kafka-config FILE` of inventoryd (docs/security.md, "Kafka"), applied to
// every Kafka client of the process (the event log's producer and consumers,
// the order-event consumer, the dead-letter and integration-event
// producers) after their own settings.
//
// File format, one property a line, as librdkafka names it:
//   line := blank | '#' comment | key '=' value      (spaces around key and value trimmed)
//         | key '.file' '=' path                     (the value of key is the file's content,
//                                                     one trailing newline dropped)
// The second form keeps a secret out of the file itself: in Kubernetes the
// file is a ConfigMap and `sasl.password.file` names a key of a mounted
// Secret (helm/inventory-ledger). No librdkafka property ends in ".file".
// Only security.protocol, sasl.* and ssl.* are accepted: the clients' own
// settings (idempotence, transactions, offsets) carry the log's guarantees
// and are not for overriding. A value is never printed: not in errors, not
// in logs (librdkafka's own message is kept, with the value cut out when
// the key holds a secret).
//
// Thread-safety: plain functions on values.
#ifndef EVENTLOG_KAFKA_SETTINGS_H_
#define EVENTLOG_KAFKA_SETTINGS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct rd_kafka_conf_s;

namespace eventlog {

// (key, value) in file order.
using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

// Parses `text` (from `path`, for messages), reading the files that `.file`
// keys name. INVALID_ARGUMENT naming the file, the line and the key for a
// malformed line, an unreadable `.file` path, a key outside the passthrough
// set, or a key or value librdkafka refuses.
absl::StatusOr<KafkaSettings> ParseKafkaSettings(std::string_view text, std::string_view path);
// Reads and parses the file; INVALID_ARGUMENT naming it when unreadable.
absl::StatusOr<KafkaSettings> ReadKafkaSettings(const std::string& path);

// rd_kafka_conf_set, with an error that names `client` and the key, never the
// value of a secret key.
absl::Status SetKafkaConf(rd_kafka_conf_s* conf, const std::string& key, const std::string& value,
                          std::string_view client);

}  // namespace eventlog

#endif  // EVENTLOG_KAFKA_SETTINGS_H_
