#include "eventlog/memory_log.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "base/check.h"
#include "base/status.h"
#include "log_limits.h"

namespace eventlog {

struct MemoryLogStorage {
  std::mutex mu;
  uint32_t partition_count = 0;           // 0 until first opened
  std::vector<std::vector<StoredRecord>> partitions;  // sorted by offset
  NextOffsets end_offsets;      // next offset per partition
  bool open = false;                      // one MemoryLog at a time
};

absl::StatusOr<std::unique_ptr<MemoryLog>> MemoryLog::Open(MemoryLogOptions options,
                                                           std::shared_ptr<MemoryLogStorage> storage) {
  RETURN_IF_ERROR(ValidatePartitionCount(options.partition_count));
  if (storage == nullptr) storage = std::make_shared<MemoryLogStorage>();
  {
    std::lock_guard lock(storage->mu);
    if (storage->open) return absl::FailedPreconditionError("memory log storage is already open in another MemoryLog");
    if (storage->partition_count == 0) {
      storage->partition_count = options.partition_count;
      storage->partitions.resize(options.partition_count);
      storage->end_offsets = NextOffsets::Zero(options.partition_count);
    } else if (storage->partition_count != options.partition_count) {
      return absl::FailedPreconditionError("memory log was created with " + std::to_string(storage->partition_count) +
                                           " partitions; refusing to open it with " +
                                           std::to_string(options.partition_count));
    }
    storage->open = true;
  }
  return std::unique_ptr<MemoryLog>(new MemoryLog(options, std::move(storage)));
}

MemoryLog::MemoryLog(MemoryLogOptions options, std::shared_ptr<MemoryLogStorage> storage)
    : options_(options), storage_(std::move(storage)) {}

MemoryLog::~MemoryLog() { Close().IgnoreError(); }

absl::Status MemoryLog::Close() {
  std::lock_guard lock(storage_->mu);
  storage_->open = false;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogPosition>> MemoryLog::Append(std::span<const LogRecord> records) {
  RETURN_IF_ERROR(ValidateBatch(records, options_.record_bytes_max, options_.batch_records_max));
  std::vector<LogPosition> positions;
  positions.reserve(records.size());
  {
    std::lock_guard lock(storage_->mu);
    if (!storage_->open) return absl::FailedPreconditionError("memory log is closed");
    std::vector<bool> touched(options_.partition_count, false);
    for (const LogRecord& record : records) {
      const uint32_t partition = PartitionFor(record.key, options_.partition_count);
      const LogPosition position{partition, storage_->end_offsets[partition]++};
      storage_->partitions[partition].push_back(StoredRecord{position, record.key, record.payload});
      positions.push_back(position);
      touched[partition] = true;
    }
    if (options_.offset_gaps == OffsetGaps::kAfterEachBatch) {
      for (uint32_t p = 0; p < options_.partition_count; ++p) {
        if (touched[p]) ++storage_->end_offsets[p];
      }
    }
  }
  if (!records.empty()) signal_.Notify();
  return positions;
}

absl::StatusOr<std::vector<StoredRecord>> MemoryLog::Read(uint32_t partition, uint64_t from_offset,
                                                          size_t max_records) {
  if (partition >= options_.partition_count) {
    return base::InvalidField("partition", "no partition " + std::to_string(partition) + " in a log of " +
                                               std::to_string(options_.partition_count));
  }
  std::lock_guard lock(storage_->mu);
  if (!storage_->open) return absl::FailedPreconditionError("memory log is closed");
  const std::vector<StoredRecord>& records = storage_->partitions[partition];
  auto it = std::lower_bound(records.begin(), records.end(), from_offset,
                             [](const StoredRecord& r, uint64_t offset) { return r.position.offset < offset; });
  const size_t available = static_cast<size_t>(records.end() - it);
  return std::vector<StoredRecord>(it, it + static_cast<std::ptrdiff_t>(std::min(available, max_records)));
}

absl::StatusOr<NextOffsets> MemoryLog::EndOffsets() {
  std::lock_guard lock(storage_->mu);
  if (!storage_->open) return absl::FailedPreconditionError("memory log is closed");
  return storage_->end_offsets;
}

std::unique_ptr<LogTail> MemoryLog::Tail(NextOffsets start_offsets, TailOptions options) {
  return std::make_unique<PollingTail>(this, &signal_, std::move(start_offsets), options);
}

}  // namespace eventlog
