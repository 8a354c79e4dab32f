// The order-event consumer (part of the command role): reads order events
// from Kafka in a consumer group, turns them into ledger commands
// (orders/order_commands.h) and submits them in-process to the single Writer,
// whole polled batches at a time so they share group commits.
//
// Per batch of polled messages (two batches overlap: the next is polled and
// parsed while the writer decides the current one, and submitted once the
// current one is answered, so commands keep message order):
//  1. parse each (orders/order_event.h); a bad message becomes a dead letter;
//  2. submit every command with SubmitMany and wait for the answers (durable
//     before they are answered); an order cancelled after its commit returns
//     its stock within its own command (ReleaseReservation with
//     IfCommitted::kReturnStock), so it is decided in message order;
//  3. produce the dead letters to the DLQ topic and the reservation_failed
//     events to the public topic, and wait for their delivery;
//  4. only then store the batch's offsets (next offset per partition) for
//     commit: librdkafka's auto commit sends stored offsets every
//     commit_interval_ms, and Stop() commits the last ones synchronously.
//
// Effectively once through idempotency, not transactions: a crash before
// the commit redelivers what was not committed (at most commit_interval_ms
// of batches), and every command id is derived from the order
// id (orders/order_commands.h), so the ledger answers the replays as
// duplicates. Dead letters and reservation_failed events of a redelivered
// batch are produced again with the same source offset / eventId. The offset
// commit is not part of the Kafka log's transaction (the development broker
// would not enforce it anyway; docs/orders.md).
//
// Bad messages never block: invalid JSON, missing or mistyped fields,
// quantities outside 1..1e9, unknown types, oversize bodies, and commands the
// ledger refuses as invalid go to the DLQ topic with headers
//   error            the reason, field path first
//   error.field      the field path ("items[0].quantity"), when one applies
//   source.topic, source.partition, source.offset, source.key
// and the consumer moves on.
//
// A message's W3C traceparent header (validated; a malformed one is ignored
// and counted) is stamped on its command, so its ledger events, its public
// events and a reservation_failed carry it; a dead letter keeps it as a header. A commit whose reservation is unknown, released
// or expired is a dead letter too (it needs a person); releases of unknown or
// resolved reservations change nothing and are only counted.
//
// If the log is unavailable the batch is retried with backoff (bounded by
// retry_backoff_max_ms per wait) until it is accepted or Stop() is called; in
// that case nothing of the batch is committed.
//
// Thread-safety: Start/Stop/stats from any thread; the work runs on the
// consumer's own thread.
#ifndef ORDERS_ORDER_CONSUMER_H_
#define ORDERS_ORDER_CONSUMER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "command-api/writer.h"
#include "orders/kafka_producer.h"
#include "orders/order_commands.h"
#include "orders/order_event.h"

struct rd_kafka_s;

struct rd_kafka_message_s;

namespace orders {

struct OrderConsumerOptions {
  std::string bootstrap_servers;                 // required
  std::string topic = "order.events";            // order events in
  std::string group_id = "inventory-orders";     // consumer group
  // Security settings (eventlog/kafka_settings.h) for the consumer, after its
  // own; its producer (dead letters) takes producer.settings. Default none.
  eventlog::KafkaSettings settings;
  // Topics whose messages all have one type, topic -> type name (one topic
  // per event type, as some upstreams publish): consumed beside `topic`,
  // each message typed by its topic. Default none.
  std::vector<std::pair<std::string, std::string>> typed_topics;
  // CloudEvents binary mode: the type may come from the ce_type header and
  // the eventId from ce_id (when the body has none). Default off.
  bool cloudevents = false;
  std::string dlq_topic = "order.events.dlq";    // dead letters out
  std::string public_topic = "inventory.public"; // reservation_failed out
  // Most messages processed (and committed) as one batch; at most the
  // writer's queue_commands_max. Default 8192.
  std::size_t batch_messages_max = 8'192;
  // Most message body bytes in one batch: a batch closes once it holds this
  // many (so it may pass the bound by one message). Default 16 MiB.
  std::size_t batch_bytes_max = 16 << 20;
  // How long one poll waits for the first message of a batch, ms. Default 100.
  std::int64_t poll_timeout_ms = 100;
  // Backoff between retries while the log or Kafka is unavailable, ms:
  // doubling from the first to the max. Defaults 50 and 5000.
  std::int64_t retry_backoff_ms = 50;
  std::int64_t retry_backoff_max_ms = 5'000;
  // How often stored offsets are committed, ms. Default 1000.
  std::int64_t commit_interval_ms = 1'000;
  // Consumer group session timeout, ms. Default 10 s.
  std::int64_t session_timeout_ms = 10'000;
  // Largest body a dead letter carries, bytes: a longer message's body is
  // cut to this many bytes, with headers body.truncated=true and
  // body.bytes=<original length>, so a message too large to be produced again
  // (Kafka lets in what its producers may not send) still leaves a dead
  // letter. Keys and header values are cut to dlq_key_bytes_max likewise.
  // Defaults 512 KiB and 1 KiB; REQUIRES: well below producer.message_bytes_max.
  std::size_t dlq_body_bytes_max = 512 * 1024;
  std::size_t dlq_key_bytes_max = 1024;
  OrderEventParserOptions parser;
  OrderCommandOptions commands;
  KafkaProducerOptions producer;  // bootstrap_servers defaults to ours
};

// How a consumed message ended (label `outcome` of
// inventory_orders_messages_total, docs/metrics.md): its command applied, a
// duplicate of one applied before, refused as a business outcome (an
// order.created whose reservation was refused: reservation_failed is
// published), ignored (nothing to do: a release of an unknown or resolved
// reservation), or sent to the dead-letter topic.
enum class MessageOutcome : std::uint8_t { kApplied, kDuplicate, kRefused, kIgnored, kDeadLetter };
inline constexpr std::size_t kMessageOutcomeCount = 5;
std::string_view ToString(MessageOutcome outcome);

// Why a message became a dead letter (label `reason` of
// inventory_orders_dead_letters_total): its body is over the parser's
// message_bytes_max; the type header, ce_type and typed topic disagree; the
// parser refused it (invalid JSON, a missing or mistyped field, an unknown
// type); the ledger refused its command as invalid; or a payment confirms a
// reservation that is unknown, released or expired.
enum class DeadLetterReason : std::uint8_t { kTooLarge, kTypeConflict, kInvalidMessage, kLedgerRefused, kCannotCommit };
inline constexpr std::size_t kDeadLetterReasonCount = 5;
std::string_view ToString(DeadLetterReason reason);

// Label `type` of inventory_orders_messages_total: index i < 4 is
// OrderEventType(i) by its canonical name ("order.created", ...); the last,
// "unknown", a message whose type could not be told (it is a dead letter).
inline constexpr std::size_t kMessageTypeCount = 5;
std::string_view MessageTypeName(std::size_t index);

struct OrderConsumerStats {
  std::uint64_t messages = 0;            // consumed and fully handled
  std::uint64_t batches = 0;
  std::uint64_t reserved = 0;            // new reservations
  std::uint64_t reservation_failed = 0;  // refused: insufficient stock, unknown SKU, ...
  std::uint64_t committed = 0;
  std::uint64_t released = 0;
  std::uint64_t returned = 0;            // stock returns after a cancelled commit
  std::uint64_t duplicates = 0;          // already applied (redelivery)
  std::uint64_t ignored = 0;             // nothing to do (release of an unknown or resolved reservation)
  std::uint64_t dead_letters = 0;
  std::uint64_t dead_letters_lost = 0;   // refused permanently by Kafka even when cut: logged, then passed
  std::uint64_t offset_commit_errors = 0;  // offsets not stored (partition revoked)
  std::uint64_t traceparent_malformed = 0;  // traceparent headers ignored as malformed
  // Messages of finished batches by type (MessageTypeName) and outcome.
  std::array<std::array<std::uint64_t, kMessageOutcomeCount>, kMessageTypeCount> by_type{};
  std::array<std::uint64_t, kDeadLetterReasonCount> dead_letters_by_reason{};
};

// Messages past the consumer's position in one assigned partition.
struct PartitionLag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t messages = 0;
};

class OrderConsumer {
 public:
  // Connects and subscribes. REQUIRES: writer outlives the consumer.
  static absl::StatusOr<std::unique_ptr<OrderConsumer>> Open(command_api::Writer* writer,
                                                             OrderConsumerOptions options);
  ~OrderConsumer();  // Stop()
  OrderConsumer(const OrderConsumer&) = delete;
  OrderConsumer& operator=(const OrderConsumer&) = delete;

  // Starts the consumer thread.
  void Start();
  // Finishes the batch in hand (commits it if it completed), leaves the
  // group and joins the thread. Idempotent.
  void Stop();

  OrderConsumerStats stats() const;

  // Per assigned partition (of the order topic and the typed topics): messages past the consumer's
  // position (high watermark - position), from librdkafka's cached offsets
  // (no broker round trip; they move with each fetch). For the metrics.
  // REQUIRES: not concurrently with Stop.
  std::vector<PartitionLag> Lag() const;

 private:
  struct Batch;
  struct Counters;
  struct Item;
  struct Job;
  OrderConsumer(command_api::Writer* writer, OrderConsumerOptions options);
  void Run();
  void Poll(Batch& batch, std::int64_t first_timeout_ms);
  void Prepare(Batch& batch);
  static std::vector<Job*> Unanswered(Batch& batch);
  bool Submit(Batch& batch);
  void Answer(Job* job, const command_api::WriteResult& r, const ledger::State& state);
  bool Wait(Batch& batch);
  bool Finish(Batch& batch);
  void Classify(Batch& batch);
  std::size_t TypeIndex(const Item& item) const;
  void CountOutcomes(const Batch& batch);
  struct DeadLetter {
    std::string_view key;   // into the message
    std::string_view body;  // into the message
    KafkaHeaders headers;
  };
  DeadLetter MakeDeadLetter(const Item& item) const;
  void TypeFromOutside(rd_kafka_message_s* m, Item& item) const;
  void TraceFromHeaders(rd_kafka_message_s* m, Item& item) const;
  ledger::Command CommandOf(const Job& job) const;
  bool Deliver(Batch& batch);
  void StoreOffsets(const Batch& batch);
  void Backoff(std::int64_t& wait_ms);

  command_api::Writer* const writer_;
  const OrderConsumerOptions options_;
  OrderEventParser parser_;
  std::unique_ptr<KafkaProducer> producer_;
  rd_kafka_s* consumer_ = nullptr;
  std::unique_ptr<Counters> counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace orders

#endif  // ORDERS_ORDER_CONSUMER_H_
