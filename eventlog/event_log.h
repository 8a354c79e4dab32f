// The event log: an append-only, partitioned sequence of opaque records.
//
// The log stores bytes. A record's payload is an encoded inventory.v1.Event
// (see ledger/codec.h), but the log never parses it; its key is the SKU (or
// "warehouse/<code>"), which picks the partition: PartitionFor(key, P).
//
// Contract, shared by every backend (memory, RocksDB, Kafka) and checked by
// eventlog/event_log_conformance_test.cc:
//
//  * Positions. A record's position is (partition, offset). Within a
//    partition, offsets are strictly increasing in append order but NOT
//    necessarily contiguous: Kafka spends offsets on transaction markers.
//    Consumers must continue from `last_offset + 1`, never count records.
//  * Atomic append. Append(records) makes all records durable, or none; no
//    reader ever sees part of a batch. Positions come back in input order.
//    An acknowledged append survives a crash of the process (kill -9).
//  * Limits. A record larger than the backend's record_bytes_max, or a batch
//    with more than batch_records_max records, is refused with
//    INVALID_ARGUMENT naming the limit, and nothing of the batch is appended.
//  * Partition count. Fixed when the log is created and recorded with it;
//    opening an existing log with another count is FAILED_PRECONDITION.
//  * Errors. Broker or disk trouble: UNAVAILABLE with the underlying message.
//    Corrupt stored data: DATA_LOSS. Use after Close: FAILED_PRECONDITION.
//  * Refused for good. Append answers FAILED_PRECONDITION only when this log
//    object can never append again: after Close, opened read-only, or (Kafka)
//    its producer was fenced by a newer writer or failed fatally. Every
//    later Append answers the same; UNAVAILABLE may pass. See
//    AppendRefusedForGood.
//  * Reads. Read(p, from, n) returns up to n records of partition p with
//    offset >= from, in offset order. EndOffsets()[p] is greater than the
//    offset of every record acknowledged before the call, and Read from it
//    returns only records appended later.
//
// Thread-safety: every EventLog method may be called concurrently from many
// threads, except Close (REQUIRES: no call in flight, every LogTail
// destroyed). A LogTail is used by one thread at a time.
#ifndef EVENTLOG_EVENT_LOG_H_
#define EVENTLOG_EVENT_LOG_H_

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/log_position.h"

namespace eventlog {

using base::LogPosition;
using base::NextOffsets;

// What a writer appends. `key` is the partition key (the SKU).
struct LogRecord {
  std::string key;
  std::string payload;
};

// What a reader gets back.
struct StoredRecord {
  LogPosition position;
  std::string key;
  std::string payload;
};

// The partition of `key`: FNV-1a (64 bit) over the key's bytes, mod
// partition_count. Stable across processes, builds and platforms (never
// std::hash), because both backends and every reader must agree forever.
// REQUIRES: partition_count > 0.
uint32_t PartitionFor(std::string_view key, uint32_t partition_count);

// The largest partition count any backend accepts.
using base::kPartitionCountMax;

struct TailOptions {
  // Upper bound on records a tail holds and returns per Next(). Default 4096.
  size_t buffer_records_max = 4096;
  // How often a tail looks for records appended by OTHER processes (Kafka);
  // appends through the same EventLog object wake it at once. Default 100 ms.
  std::chrono::milliseconds poll_interval_ms{100};
};

// A live reader of all partitions from given offsets. It holds at most
// buffer_records_max records: it reads ahead only as far as the caller drains.
class LogTail {
 public:
  virtual ~LogTail() = default;

  // Waits up to `timeout` for records after the current positions and returns
  // them (at most buffer_records_max; in offset order within each partition),
  // advancing the positions. Returns an empty vector on timeout.
  virtual absl::StatusOr<std::vector<StoredRecord>> Next(std::chrono::milliseconds timeout) = 0;

  // The next offset this tail will read, per partition.
  virtual NextOffsets next_offsets() const = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual uint32_t partition_count() const = 0;

  // Appends all records atomically, durable before return. Each record goes to
  // PartitionFor(record.key, partition_count()). Returns the positions in input
  // order. An empty batch appends nothing and returns no positions.
  virtual absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) = 0;

  // Up to max_records records of `partition` with offset >= from_offset.
  virtual absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                         size_t max_records) = 0;

  // The next offset per partition (see the contract above).
  virtual absl::StatusOr<NextOffsets> EndOffsets() = 0;

  // A tail reading every partition from start_offsets (one per partition).
  // REQUIRES: start_offsets.size() == partition_count(); the tail is
  // destroyed before this log.
  virtual std::unique_ptr<LogTail> Tail(NextOffsets start_offsets, TailOptions options) = 0;

  // Stops the log: later calls fail with FAILED_PRECONDITION. Idempotent.
  virtual absl::Status Close() = 0;
};

// Whether an Append failure means this log object will refuse every later
// Append too (the contract above): a writer then stops trying.
inline bool AppendRefusedForGood(const absl::Status& append_status) {
  return absl::IsFailedPrecondition(append_status);
}

}  // namespace eventlog

#endif  // EVENTLOG_EVENT_LOG_H_
