// The one log reader every replay and catch-up uses: reads partitions from
// given start offsets up to given end offsets (kBounded), or follows the log's
// tail (kFollow), in batches, optionally on a background thread that reads at
// most read_ahead_batches_max batches ahead of the consumer.
//
// It knows records only (keyed byte strings). A per-batch Transform, run on the
// reading thread, turns a RecordBatch into the consumer's batch type: that is
// how ledger-io/event_reader.h decodes events on the background thread without
// this component knowing the ledger.
//
// Contract:
//  * Order. Within a partition, records come in offset order. kBounded reads
//    the partitions one after another (in ReadRange::partitions order);
//    kFollow interleaves them as LogTail does.
//  * Bounds. kBounded delivers exactly the records with start <= offset < end
//    (end: ReadRange::end_offsets, or EndOffsets() at Open) and then Next
//    returns nullopt. Appends during the read are not delivered past the end.
//  * Read errors (kBounded). I/O trouble (any code but DATA_LOSS) is returned
//    by Next after the batches read before it. DATA_LOSS follows the
//    ErrorPolicy ReaderOptions::on_unreadable; before applying it the reader
//    narrows down to the first unreadable record (reads of one record), so
//    every readable record before it is delivered and the position is exact:
//      kAbort             Next returns the DATA_LOSS error, naming the position.
//      kStop              the batch holding the records before it carries
//                         `unreadable` and `unreadable_at`; then Next ends.
//      kRecordAndContinue as kStop, but only that partition ends (its rest is
//                         skipped: nothing says where readable data resumes);
//                         the next partitions are read.
//  * Read errors (kFollow): every error is returned, whatever the policy (a
//    tail cannot skip a stretch); Next may be called again and retries.
//  * Limits. A batch holds at most read_batch_records records; a background
//    reader holds at most read_ahead_batches_max transformed batches (plus the
//    one it is transforming).
//
// Thread-safety: one consumer thread calls Next; StopPartition may be called
// from any thread. Transform runs on the background thread when there is one,
// else on the caller of Next. The log must outlive the reader.
#ifndef EVENTLOG_LOG_READER_H_
#define EVENTLOG_LOG_READER_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/event_log.h"

namespace eventlog {

// What a bad stretch or record does to a read (see the contract above; the
// decoding layer applies the same policy to records that do not decode).
enum class ErrorPolicy : uint8_t {
  kAbort,              // return the error
  kStop,               // stop at the bad record and report its position
  kRecordAndContinue,  // report the bad record with its position and go on
};
std::string_view ToString(ErrorPolicy policy);

enum class ReadMode : uint8_t {
  kBounded,  // from start offsets up to end offsets, then the end
  kFollow,   // from start offsets on, waiting for new records
};

struct ReaderOptions {
  // Records per EventLog::Read (kBounded) or LogTail::Next (kFollow). Default
  // 8192; at least 1.
  size_t read_batch_records = 8192;
  // Batches a background reader holds ahead of the consumer. Default 4; at
  // least 1.
  size_t read_ahead_batches_max = 4;
  // Read and transform on a thread of the reader's own (kBounded only).
  // Default false: on the caller of Next.
  bool background = false;
  // What a DATA_LOSS read does (kBounded). Default kAbort.
  ErrorPolicy on_unreadable = ErrorPolicy::kAbort;
  // kFollow: how often to look for records appended by other processes, ms.
  // Default 100.
  std::chrono::milliseconds poll_interval_ms{100};
};

struct ReadRange {
  ReadMode mode = ReadMode::kBounded;
  // First offset to read, per partition (size = the log's partition count).
  NextOffsets start_offsets;
  // kBounded: next offset not to read, per partition; unset = the log's
  // EndOffsets() at Open.
  std::optional<NextOffsets> end_offsets;
  // kBounded: only these partitions, in this order; empty = all.
  std::vector<uint32_t> partitions;
};

// One read of one partition (kBounded) or one tail read (kFollow).
struct RecordBatch {
  std::vector<StoredRecord> records;
  // Under kStop / kRecordAndContinue: the log's DATA_LOSS error for the
  // record at `unreadable_at`; `records` are the ones before it.
  absl::Status unreadable;
  LogPosition unreadable_at;
  // The next offset the reader reads, per partition, after this batch.
  NextOffsets next_offsets;
};

// The read step: one batch at a time, on whichever thread calls it.
class RecordSource {
 public:
  // INVALID_ARGUMENT for a range that does not fit the log (sizes, unknown
  // partitions); the log's error if EndOffsets() fails.
  static absl::StatusOr<std::unique_ptr<RecordSource>> Open(EventLog* log, ReadRange range, ReaderOptions options);

  // The next batch; nullopt at the end (kBounded). kFollow waits up to
  // `timeout` and returns a batch without records when nothing came.
  absl::StatusOr<std::optional<RecordBatch>> Next(std::chrono::milliseconds timeout);

  // Reads no more of partition p (kBounded). Thread-safe.
  void StopPartition(uint32_t p) { stopped_[p].store(true, std::memory_order_relaxed); }

  // kBounded: the end offsets in use, per partition.
  const NextOffsets& end_offsets() const { return end_; }

 private:
  RecordSource(EventLog* log, ReadRange range, ReaderOptions options);
  absl::StatusOr<std::optional<RecordBatch>> NextBounded();
  absl::StatusOr<std::optional<RecordBatch>> NextFollowed(std::chrono::milliseconds timeout);

  EventLog* const log_;
  const ReaderOptions options_;
  const ReadMode mode_;
  std::vector<uint32_t> partitions_;
  NextOffsets next_;
  NextOffsets end_;
  std::unique_ptr<std::atomic<bool>[]> stopped_;
  size_t current_ = 0;  // index into partitions_ (kBounded)
  size_t read_records_;       // records per Read; 1 while narrowing down a DATA_LOSS
  uint64_t narrow_until_ = 0;  // the end of the stretch being narrowed down
  bool ended_ = false;
  std::unique_ptr<LogTail> tail_;  // kFollow
};

namespace log_reader_internal {

// A bounded single-producer single-consumer queue.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

  // False when the consumer has gone away.
  bool Push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || cancelled_; });
    if (cancelled_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  // nullopt after Close and once drained.
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    not_full_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
  bool cancelled_ = false;
};

}  // namespace log_reader_internal

// A RecordSource with a Transform and, optionally, a background thread.
template <typename Batch>
class BasicLogReader {
 public:
  // Turns a read batch into the consumer's; runs on the reading thread.
  // Returns false to read nothing after this batch (which is still delivered).
  using Transform = std::function<bool(RecordBatch&& read, Batch& out)>;

  static absl::StatusOr<std::unique_ptr<BasicLogReader>> Open(EventLog* log, ReadRange range, ReaderOptions options,
                                                              Transform transform) {
    if (options.background && range.mode != ReadMode::kBounded) {
      return absl::InvalidArgumentError("log reader: a background reader needs a bounded range");
    }
    const ReadMode range_mode = range.mode;
    absl::StatusOr<std::unique_ptr<RecordSource>> source = RecordSource::Open(log, std::move(range), options);
    if (!source.ok()) return source.status();
    std::unique_ptr<BasicLogReader> reader(
        new BasicLogReader(std::move(*source), range_mode, options, std::move(transform)));
    if (options.background) reader->thread_ = std::thread([r = reader.get()] { r->ReadAhead(); });
    return reader;
  }

  ~BasicLogReader() {
    queue_.Cancel();
    if (thread_.joinable()) thread_.join();
  }

  // The next batch; nullopt at the end. kFollow: waits up to `timeout`, and
  // a batch may hold no records. After an error (kBounded), Next keeps
  // returning it.
  absl::StatusOr<std::optional<Batch>> Next(
      std::chrono::milliseconds timeout = std::chrono::milliseconds::max()) {
    if (!thread_.joinable()) return ReadOne(timeout);
    if (std::optional<Batch> batch = queue_.Pop()) return batch;
    if (!error_.ok()) return error_;  // written before Close: Pop ordered it
    return std::nullopt;
  }

  void StopPartition(uint32_t p) { source_->StopPartition(p); }
  const NextOffsets& end_offsets() const { return source_->end_offsets(); }

 private:
  BasicLogReader(std::unique_ptr<RecordSource> source, ReadMode mode, const ReaderOptions& options,
                 Transform transform)
      : source_(std::move(source)),
        mode_(mode),
        transform_(std::move(transform)),
        queue_(options.read_ahead_batches_max) {}

  absl::StatusOr<std::optional<Batch>> ReadOne(std::chrono::milliseconds timeout) {
    if (!error_.ok()) return error_;
    if (done_) return std::nullopt;
    absl::StatusOr<std::optional<RecordBatch>> read = source_->Next(timeout);
    if (!read.ok()) {
      if (mode_ == ReadMode::kBounded) error_ = read.status();  // kFollow: the next call retries
      return read.status();
    }
    if (!read->has_value()) {
      done_ = true;
      return std::nullopt;
    }
    Batch out;
    if (!transform_(std::move(**read), out)) done_ = true;
    return std::optional<Batch>(std::move(out));
  }

  void ReadAhead() {
    while (true) {
      absl::StatusOr<std::optional<Batch>> batch = ReadOne(std::chrono::milliseconds::max());
      if (!batch.ok() || !batch->has_value()) break;
      if (!queue_.Push(std::move(**batch))) return;
    }
    queue_.Close();
  }

  std::unique_ptr<RecordSource> source_;
  const ReadMode mode_;
  Transform transform_;
  log_reader_internal::BoundedQueue<Batch> queue_;
  absl::Status error_;  // the reading thread's, once set
  bool done_ = false;   // the reading thread's
  std::thread thread_;
};

// Records as read.
using LogReader = BasicLogReader<RecordBatch>;
inline bool KeepRecords(RecordBatch&& read, RecordBatch& out) {
  out = std::move(read);
  return true;
}

}  // namespace eventlog

#endif  // EVENTLOG_LOG_READER_H_
