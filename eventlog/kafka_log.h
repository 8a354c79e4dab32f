// The Kafka event log: one topic with P partitions, written by a
// transactional producer and read by explicit partition assignment.
//
// Writing. Each group commit (eventlog/group_commit.h) is one Kafka
// transaction: every record goes to the partition PartitionFor(key, P) chose
// (so the Kafka and embedded logs agree), with the record key as the message
// key. acks=all and idempotence are on; the stable transactional.id lets a new
// writer fence a zombie one. Offsets come from the delivery reports.
//
// Reading. A consumer with isolation.level=read_committed is assigned one
// partition at a time and seeks to the requested offset. Offsets are strictly
// increasing but NOT contiguous: commit markers take offsets too.
//
// Records become readable when their transaction's markers are written,
// shortly after Append returns on a real broker; at once on the mock cluster.
// The mock does not enforce transactions or read_committed at all (see
// docs/event-log.md).
//
// Thread-safety: as EventLog. Appends are serialized by the group commit,
// reads by a mutex around the one consumer.
#ifndef EVENTLOG_KAFKA_LOG_H_
#define EVENTLOG_KAFKA_LOG_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "eventlog/group_commit.h"
#include "eventlog/kafka_settings.h"
#include "eventlog/log_tail.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace eventlog {

enum class KafkaLogRole {
  kReadWrite,  // owns the transactional producer (fences other writers!)
  kReadOnly,   // projectors, tools: no producer; Append is refused
};

struct KafkaLogOptions {
  // bootstrap.servers, "host:port[,host:port...]". No default.
  std::string bootstrap_servers;
  // The topic holding the log. Default "inventory.events".
  std::string topic = "inventory.events";
  // Must equal the topic's partition count (checked on open). Default 8.
  uint32_t partition_count = 8;
  // Writer or reader. Default writer.
  KafkaLogRole role = KafkaLogRole::kReadWrite;
  // transactional.id: stable across restarts of the one writer, so that a new
  // writer fences its predecessor. Default "inventory-ledger-writer".
  std::string transactional_id = "inventory-ledger-writer";
  // Largest record (key + payload), bytes. Default 1 MiB.
  size_t record_bytes_max = 1 << 20;
  // Most records in one Append. Default 10000.
  size_t batch_records_max = 10000;
  // Most records group-committed in one transaction. Default 20000.
  size_t group_records_max = 20000;
  // Deadline of each broker operation (metadata, flush, commit, one read).
  // Default 10000 ms.
  std::chrono::milliseconds request_timeout_ms{10000};
  // Attempts of a retriable transaction call (init, commit, abort). Default 3.
  int retries_max = 3;
  // Pause between those attempts. Default 100 ms.
  std::chrono::milliseconds retry_backoff_ms{100};
  // Security settings (kafka_settings.h) applied to every client of the log
  // after its own. Default none.
  KafkaSettings settings;
};

class KafkaLog final : public EventLog {
 public:
  // Connects, checks the topic exists with options.partition_count partitions
  // (FAILED_PRECONDITION otherwise) and, as writer, initializes transactions.
  // UNAVAILABLE when the brokers cannot be reached in time.
  static absl::StatusOr<std::unique_ptr<KafkaLog>> Open(KafkaLogOptions options);

  ~KafkaLog() override;

  uint32_t partition_count() const override { return options_.partition_count; }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override;
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                 size_t max_records) override;
  absl::StatusOr<NextOffsets> EndOffsets() override;
  std::unique_ptr<LogTail> Tail(NextOffsets start_offsets, TailOptions options) override;
  absl::Status Close() override;

 private:
  struct HandleDeleter {
    void operator()(rd_kafka_s* handle) const;
  };
  using Handle = std::unique_ptr<rd_kafka_s, HandleDeleter>;
  struct TopicDeleter {
    void operator()(rd_kafka_topic_s* topic) const;
  };
  using TopicHandle = std::unique_ptr<rd_kafka_topic_s, TopicDeleter>;

  KafkaLog(KafkaLogOptions options, Handle producer, TopicHandle producer_topic, Handle consumer, Handle offsets);

  absl::StatusOr<std::vector<std::vector<LogPosition>>> CommitGroup(GroupCommit::Batches batches);
  // Produces every record of the group in the open transaction and waits for
  // the delivery reports; positions per batch.
  absl::StatusOr<std::vector<std::vector<LogPosition>>> ProduceAll(GroupCommit::Batches batches);
  absl::Status CommitTransaction();
  // FAILED_PRECONDITION when the producer is finished (fenced); sets
  // txn_fatal_ for the other failures.
  absl::Status AbortTransaction();

  const KafkaLogOptions options_;
  Handle producer_;             // null for kReadOnly
  TopicHandle producer_topic_;  // the topic, as the producer knows it
  Handle consumer_;             // reads, one assigned partition at a time
  Handle offsets_;              // end-offset queries only
  std::atomic<bool> closed_{false};
  GroupCommit group_commit_;
  AppendSignal signal_;

  std::mutex txn_mu_;       // held while a transaction is open
  absl::Status txn_fatal_;  // guarded by txn_mu_; sticky once the producer is unusable
  std::mutex read_mu_;      // serializes use of the consumer's assignment
};

}  // namespace eventlog

#endif  // EVENTLOG_KAFKA_LOG_H_
