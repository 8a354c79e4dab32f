#include "eventlog/log_tail.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace eventlog {

void AppendSignal::Notify() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

uint64_t AppendSignal::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void AppendSignal::WaitChange(uint64_t seen, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return generation_ != seen; });
}

PollingTail::PollingTail(EventLog* log, const AppendSignal* signal, NextOffsets start_offsets,
                         TailOptions options)
    : log_(log), signal_(signal), next_offsets_(std::move(start_offsets)), options_(options) {
  INV_CHECK(next_offsets_.size() == log_->partition_count())
      << "tail given " << next_offsets_.size() << " offsets for " << log_->partition_count() << " partitions";
  INV_CHECK(options_.buffer_records_max > 0) << "tail buffer_records_max must be > 0";
}

absl::StatusOr<std::vector<StoredRecord>> PollingTail::Next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Read the generation before looking, so an append between the look and
    // the wait still wakes us.
    const uint64_t seen = signal_->generation();
    absl::StatusOr<std::vector<StoredRecord>> records = ReadAvailable();
    if (!records.ok() || !records->empty()) return records;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return records;
    signal_->WaitChange(seen, std::min(deadline, now + options_.poll_interval_ms));
  }
}

absl::StatusOr<std::vector<StoredRecord>> PollingTail::ReadAvailable() {
  std::vector<StoredRecord> out;
  const uint32_t count = log_->partition_count();
  for (uint32_t i = 0; i < count && out.size() < options_.buffer_records_max; ++i) {
    const uint32_t partition = (first_partition_ + i) % count;
    absl::StatusOr<std::vector<StoredRecord>> records =
        log_->Read(partition, next_offsets_[partition], options_.buffer_records_max - out.size());
    if (!records.ok()) {
      // The partitions read before this one have moved on: hand over what
      // they gave rather than drop it. This partition has not moved, so the
      // next call reads it again (and reports the error if it persists).
      if (!out.empty()) break;
      return records.status();
    }
    for (StoredRecord& record : *records) {
      INV_CHECK(record.position.partition == partition && !next_offsets_.Covers(record.position))
          << "log went backwards: got " << record.position << ", expected partition " << partition
          << " offset >= " << next_offsets_[partition];
      next_offsets_.Advance(record.position);
      out.push_back(std::move(record));
    }
  }
  first_partition_ = (first_partition_ + 1) % count;
  return out;
}

}  // namespace eventlog
