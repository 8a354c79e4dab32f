// Checks every backend applies to a batch before any of it is appended, so
// the limits and their messages are the same whatever stores the log.
//
// Thread-safety: pure functions.
#ifndef EVENTLOG_LOG_LIMITS_H_
#define EVENTLOG_LOG_LIMITS_H_

#include <cstddef>
#include <span>

#include "absl/status/status.h"
#include "eventlog/event_log.h"

namespace eventlog {

// INVALID_ARGUMENT naming the limit (and the offending record) when the batch
// has more than batch_records_max records, or a record whose key plus payload
// exceeds record_bytes_max bytes, or a record with an empty key.
absl::Status ValidateBatch(std::span<const LogRecord> records, size_t record_bytes_max, size_t batch_records_max);

// INVALID_ARGUMENT unless 0 < partition_count <= kPartitionCountMax.
absl::Status ValidatePartitionCount(uint32_t partition_count);

}  // namespace eventlog

#endif  // EVENTLOG_LOG_LIMITS_H_
