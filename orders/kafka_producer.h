// A small librdkafka producer for the orders component: dead letters,
// reservation_failed and the publisher's integration events. Idempotent
// producer (enable.idempotence), acks=all. Produce() queues; Flush() waits
// for every queued message and reports whether all were delivered, so the
// caller can advance its own position only after they are.
//
// Delivery is at least once: a failed Flush leaves it to the caller to
// produce the batch again, and each message carries an id (eventId, or the
// source partition/offset for dead letters) to deduplicate by.
//
// Thread-safety: one thread at a time (each user owns its producer).
#ifndef ORDERS_KAFKA_PRODUCER_H_
#define ORDERS_KAFKA_PRODUCER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/kafka_settings.h"

struct rd_kafka_s;

namespace orders {

struct KafkaProducerOptions {
  std::string bootstrap_servers;
  std::string client_id = "inventory-orders";
  // Most messages queued before Produce waits for deliveries. Default 500,000.
  std::size_t queue_messages_max = 500'000;
  // How long Flush waits for deliveries, ms. Default 30 s.
  std::int64_t flush_timeout_ms = 30'000;
  // How long Produce waits for room in a full queue, ms. Default 30 s.
  std::int64_t queue_full_wait_ms = 30'000;
  // Largest message (key, value, headers and framing), bytes: librdkafka's
  // message.max.bytes, refused locally before it reaches a broker. Default
  // 1,000,000 (librdkafka's and Kafka's default).
  std::size_t message_bytes_max = 1'000'000;
  // Security settings (eventlog/kafka_settings.h) after the producer's own.
  // Default none.
  eventlog::KafkaSettings settings;
};

using KafkaHeaders = std::vector<std::pair<std::string, std::string>>;

class KafkaProducer {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Open(KafkaProducerOptions options);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one message (bytes copied). UNAVAILABLE when the queue stays full
  // (worth retrying); INVALID_ARGUMENT when librdkafka refuses the message
  // itself (too large, invalid): permanent, retrying cannot help.
  absl::Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                       const KafkaHeaders& headers);

  // Waits until every queued message is delivered or failed. OK when all
  // produced since the last Flush were delivered. When some failed:
  // INVALID_ARGUMENT if every failure was permanent (the broker refused the
  // message itself), else UNAVAILABLE; either names the first failure.
  absl::Status Flush();

  // True for errors that no retry can cure: the message itself is refused.
  static bool IsPermanent(int kafka_error);

 private:
  explicit KafkaProducer(KafkaProducerOptions options);
  static void OnDelivery(rd_kafka_s* handle, const void* message, void* opaque);

  KafkaProducerOptions options_;
  rd_kafka_s* handle_ = nullptr;
  std::uint64_t failed_ = 0;  // written by the delivery callback, on the thread in Flush/Produce
  std::uint64_t failed_permanently_ = 0;  // of failed_, those IsPermanent
  std::string first_error_;
};

}  // namespace orders

#endif  // ORDERS_KAFKA_PRODUCER_H_
