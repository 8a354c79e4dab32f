#include "eventlog/event_log.h"

#include <string>

#include "base/check.h"
#include "base/status.h"
#include "log_limits.h"

namespace eventlog {

uint32_t PartitionFor(std::string_view key, uint32_t partition_count) {
  INV_CHECK(partition_count > 0) << "PartitionFor with zero partitions";
  // FNV-1a, 64 bit: offset basis 14695981039346656037, prime 1099511628211.
  uint64_t hash = 14695981039346656037ULL;
  for (char c : key) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<uint32_t>(hash % partition_count);
}

absl::Status ValidateBatch(std::span<const LogRecord> records, size_t record_bytes_max, size_t batch_records_max) {
  if (records.size() > batch_records_max) {
    return absl::InvalidArgumentError("batch of " + std::to_string(records.size()) +
                                      " records exceeds batch_records_max (" + std::to_string(batch_records_max) +
                                      "); nothing appended");
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const size_t bytes = records[i].key.size() + records[i].payload.size();
    if (records[i].key.empty() || bytes > record_bytes_max) [[unlikely]] {
      const std::string field = "records[" + std::to_string(i) + "]";
      if (records[i].key.empty()) return base::InvalidField(field + ".key", "must not be empty; nothing appended");
      return base::InvalidField(field, std::to_string(bytes) + " bytes (key + payload) exceeds record_bytes_max (" +
                                           std::to_string(record_bytes_max) + " bytes); nothing appended");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePartitionCount(uint32_t partition_count) {
  if (partition_count == 0 || partition_count > kPartitionCountMax) {
    return base::InvalidField("partition_count", "must be in [1, " + std::to_string(kPartitionCountMax) + "], got " +
                                                     std::to_string(partition_count));
  }
  return absl::OkStatus();
}

}  // namespace eventlog
