#include "eventlog/log_reader.h"

#include <cstddef>

#include "absl/strings/str_cat.h"

namespace eventlog {

std::string_view ToString(ErrorPolicy policy) {
  switch (policy) {
    case ErrorPolicy::kAbort: return "abort";
    case ErrorPolicy::kStop: return "stop";
    case ErrorPolicy::kRecordAndContinue: return "record_and_continue";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<RecordSource>> RecordSource::Open(EventLog* log, ReadRange range,
                                                                 ReaderOptions options) {
  const uint32_t count = log->partition_count();
  if (range.start_offsets.size() != count) {
    return absl::InvalidArgumentError(absl::StrCat("log reader: ", range.start_offsets.size(),
                                                   " start offsets for a log of ", count, " partitions"));
  }
  if (range.mode == ReadMode::kFollow && (range.end_offsets || !range.partitions.empty())) {
    return absl::InvalidArgumentError("log reader: a followed range has no end offsets and reads every partition");
  }
  if (range.end_offsets && range.end_offsets->size() != count) {
    return absl::InvalidArgumentError(absl::StrCat("log reader: ", range.end_offsets->size(),
                                                   " end offsets for a log of ", count, " partitions"));
  }
  for (uint32_t p : range.partitions) {
    if (p >= count) return absl::InvalidArgumentError(absl::StrCat("log reader: no partition ", p, " in a log of ", count));
  }
  if (range.mode == ReadMode::kBounded && !range.end_offsets) {
    absl::StatusOr<NextOffsets> ends = log->EndOffsets();
    if (!ends.ok()) return ends.status();
    range.end_offsets = std::move(*ends);
  }
  return std::unique_ptr<RecordSource>(new RecordSource(log, std::move(range), options));
}

RecordSource::RecordSource(EventLog* log, ReadRange range, ReaderOptions options)
    : log_(log),
      options_([&] {
        options.read_batch_records = std::max<size_t>(options.read_batch_records, 1);
        return options;
      }()),
      mode_(range.mode),
      partitions_(std::move(range.partitions)),
      next_(std::move(range.start_offsets)),
      end_(range.end_offsets.value_or(NextOffsets())),
      stopped_(new std::atomic<bool>[next_.size()]),
      read_records_(options_.read_batch_records) {
  for (size_t p = 0; p < next_.size(); ++p) stopped_[p] = false;
  if (partitions_.empty()) {
    for (uint32_t p = 0; p < next_.size(); ++p) partitions_.push_back(p);
  }
  if (mode_ == ReadMode::kFollow) {
    tail_ = log_->Tail(next_, {.buffer_records_max = options_.read_batch_records,
                               .poll_interval_ms = options_.poll_interval_ms});
  }
}

absl::StatusOr<std::optional<RecordBatch>> RecordSource::Next(std::chrono::milliseconds timeout) {
  if (mode_ == ReadMode::kFollow) return NextFollowed(timeout);
  return NextBounded();
}

absl::StatusOr<std::optional<RecordBatch>> RecordSource::NextFollowed(std::chrono::milliseconds timeout) {
  absl::StatusOr<std::vector<StoredRecord>> records = tail_->Next(timeout);
  if (!records.ok()) return records.status();
  RecordBatch batch;
  batch.records = std::move(*records);
  batch.next_offsets = tail_->next_offsets();
  return batch;
}

absl::StatusOr<std::optional<RecordBatch>> RecordSource::NextBounded() {
  while (!ended_ && current_ < partitions_.size()) {
    const uint32_t p = partitions_[current_];
    uint64_t& next = next_[p];
    if (stopped_[p].load(std::memory_order_relaxed) || next >= end_[p]) {
      ++current_;
      continue;
    }
    const size_t asked = static_cast<size_t>(std::min<uint64_t>(read_records_, end_[p] - next));
    absl::StatusOr<std::vector<StoredRecord>> records = log_->Read(p, next, asked);
    if (!records.ok()) {
      if (records.status().code() != absl::StatusCode::kDataLoss) return records.status();
      if (read_records_ > 1) {  // narrow down to the first unreadable record
        read_records_ = 1;
        narrow_until_ = next + asked;
        continue;
      }
      read_records_ = options_.read_batch_records;
      if (options_.on_unreadable == ErrorPolicy::kAbort) {
        return absl::DataLossError(
            absl::StrCat("log record ", p, ":", next, " is unreadable: ", records.status().message()));
      }
      RecordBatch batch;
      batch.unreadable = std::move(records).status();
      batch.unreadable_at = {p, next};
      batch.next_offsets = next_;
      if (options_.on_unreadable == ErrorPolicy::kStop) {
        ended_ = true;
      } else {
        ++current_;  // the rest of the partition is skipped
      }
      return batch;
    }
    RecordBatch batch;
    const uint64_t before = next;
    bool partition_done = records->empty();
    size_t kept = 0;
    for (; kept < records->size(); ++kept) {
      const LogPosition& at = (*records)[kept].position;
      if (!end_.Covers(at)) {
        partition_done = true;
        break;
      }
      next_.Advance(at);
    }
    records->erase(records->begin() + static_cast<std::ptrdiff_t>(kept), records->end());
    batch.records = std::move(*records);
    if (next == before) partition_done = true;  // a log that does not move on: the consumer sees the records
    if (read_records_ == 1 && next >= narrow_until_) read_records_ = options_.read_batch_records;
    if (partition_done) ++current_;
    if (batch.records.empty()) continue;
    batch.next_offsets = next_;
    return batch;
  }
  return std::nullopt;
}

}  // namespace eventlog
