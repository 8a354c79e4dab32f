// An in-memory EventLog for tests. Same contract as the durable backends,
// except that "durable" means "in this process": the records live in a
// MemoryLogStorage that outlives any one MemoryLog, so a test can close a log
// and open another over the same storage to play "reopen".
//
// By default it leaves a one-offset gap after each batch in every partition
// the batch touched, the way Kafka spends an offset on each commit marker, so
// that code written against it does not come to rely on contiguous offsets.
//
// Thread-safety: as EventLog.
#ifndef EVENTLOG_MEMORY_LOG_H_
#define EVENTLOG_MEMORY_LOG_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "eventlog/log_tail.h"

namespace eventlog {

enum class OffsetGaps {
  kNone,            // offsets 0, 1, 2, ... as the embedded log
  kAfterEachBatch,  // skip one offset per partition after each batch, as Kafka
};

struct MemoryLogOptions {
  // Partitions; fixed when the storage is first used. Default 8.
  uint32_t partition_count = 8;
  // Largest record (key + payload), bytes. Default 1 MiB.
  size_t record_bytes_max = 1 << 20;
  // Most records in one Append. Default 10000.
  size_t batch_records_max = 10000;
  // Offset numbering. Default: gaps, as Kafka.
  OffsetGaps offset_gaps = OffsetGaps::kAfterEachBatch;
};

// The records themselves; opaque, shared between successive MemoryLogs.
struct MemoryLogStorage;

class MemoryLog final : public EventLog {
 public:
  // Opens a log over `storage` (a new empty one when null). Refuses with
  // FAILED_PRECONDITION when the storage was created with another count.
  static absl::StatusOr<std::unique_ptr<MemoryLog>> Open(MemoryLogOptions options,
                                                         std::shared_ptr<MemoryLogStorage> storage = nullptr);

  ~MemoryLog() override;

  // The storage, for opening another MemoryLog over the same records.
  std::shared_ptr<MemoryLogStorage> storage() const { return storage_; }

  uint32_t partition_count() const override { return options_.partition_count; }
  absl::StatusOr<std::vector<LogPosition>> Append(std::span<const LogRecord> records) override;
  absl::StatusOr<std::vector<StoredRecord>> Read(uint32_t partition, uint64_t from_offset,
                                                 size_t max_records) override;
  absl::StatusOr<NextOffsets> EndOffsets() override;
  std::unique_ptr<LogTail> Tail(NextOffsets start_offsets, TailOptions options) override;
  absl::Status Close() override;

 private:
  MemoryLog(MemoryLogOptions options, std::shared_ptr<MemoryLogStorage> storage);

  const MemoryLogOptions options_;
  const std::shared_ptr<MemoryLogStorage> storage_;
  AppendSignal signal_;
};

}  // namespace eventlog

#endif  // EVENTLOG_MEMORY_LOG_H_
