#include "replay/fold.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"

namespace replay {

ledger::LedgerOptions ReplayLedgerOptions() {
  ledger::LedgerOptions options;
  options.remembered_commands_max = 0;
  options.resolved_kept_max = std::numeric_limits<std::size_t>::max();
  options.resolved_kept_age_max_ms = std::numeric_limits<ledger::TimeMs>::max();
  return options;
}

std::string_view ToString(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kUndecodable: return "undecodable";
    case ViolationKind::kRefusedByFold: return "invariant";
    case ViolationKind::kBrokenAfterEvent: return "invariant_after_event";
    case ViolationKind::kOffsetOrder: return "offset_order";
    case ViolationKind::kUnreadable: return "unreadable";
  }
  return "unknown";
}

// One read batch of one partition, decoded by the reader thread.
struct Folder::Batch {
  uint32_t partition = 0;
  uint64_t from_offset = 0;
  absl::Status read_status;  // DATA_LOSS: the stretch from from_offset is unreadable
  std::vector<eventlog::LogPosition> positions;
  std::vector<absl::StatusOr<ledger::Event>> events;
};

namespace {

// A bounded single-producer single-consumer queue of batches.
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

// ledger::Decode with one protobuf message reused across records, so its
// strings keep their capacity (the same checks: parse, then FromProto).
class Decoder {
 public:
  absl::StatusOr<ledger::Event> Decode(const std::string& bytes) {
    proto_.Clear();
    if (!proto_.ParseFromString(bytes)) {
      return absl::DataLossError(
          absl::StrCat("event record: does not parse as inventory.v1.Event (", bytes.size(), " bytes)"));
    }
    return ledger::FromProto(proto_);
  }

 private:
  inventory::v1::Event proto_;
};

}  // namespace

Folder::Folder(FoldOptions options) : options_(std::move(options)), state_(ReplayLedgerOptions()) {
  options_.read_batch_records = std::max<size_t>(options_.read_batch_records, 1);
}

absl::Status Folder::Run(eventlog::EventLog& log, const FoldBounds& bounds) {
  const uint32_t partition_count = log.partition_count();
  std::vector<uint64_t> until;
  if (bounds.until_offsets) {
    if (bounds.until_offsets->size() != partition_count) {
      return absl::InvalidArgumentError(absl::StrCat("positions name ", bounds.until_offsets->size(),
                                                     " partitions; the log has ", partition_count));
    }
    until = *bounds.until_offsets;
  } else {
    ASSIGN_OR_RETURN(until, log.EndOffsets());
  }
  std::vector<uint32_t> partitions = bounds.partitions;
  if (partitions.empty()) {
    for (uint32_t p = 0; p < partition_count; ++p) partitions.push_back(p);
  }
  for (uint32_t p : partitions) {
    if (p >= partition_count) {
      return absl::InvalidArgumentError(absl::StrCat("no partition ", p, " in a log of ", partition_count));
    }
  }
  until_time_ms_ = bounds.until_time_ms;
  result_.bounds = until;
  result_.folded_until.assign(partition_count, 0);
  FoldProgress progress;
  for (uint32_t p : partitions) progress.records_total += until[p];

  BoundedQueue<std::unique_ptr<Batch>> queue(options_.read_ahead_batches_max);
  std::unique_ptr<std::atomic<bool>[]> stop_partition(new std::atomic<bool>[partition_count]);
  for (uint32_t p = 0; p < partition_count; ++p) stop_partition[p] = false;
  absl::Status reader_status;
  std::thread reader([&] {
    Decoder decoder;
    for (uint32_t p : partitions) {
      uint64_t from = 0;
      while (from < until[p] && !stop_partition[p].load(std::memory_order_relaxed)) {
        auto batch = std::make_unique<Batch>();
        batch->partition = p;
        batch->from_offset = from;
        absl::StatusOr<std::vector<eventlog::StoredRecord>> records =
            log.Read(p, from, std::min<uint64_t>(options_.read_batch_records, until[p] - from));
        if (!records.ok() && records.status().code() != absl::StatusCode::kDataLoss) {
          reader_status = records.status();
          queue.Close();
          return;
        }
        bool partition_done = !records.ok() || records->empty();
        if (!records.ok()) {
          batch->read_status = records.status();
        } else {
          batch->positions.reserve(records->size());
          batch->events.reserve(records->size());
          for (const eventlog::StoredRecord& record : *records) {
            if (record.position.offset >= until[p]) {
              partition_done = true;
              break;
            }
            batch->positions.push_back(record.position);
            batch->events.push_back(decoder.Decode(record.payload));
          }
          if (!records->empty()) from = std::max(from, records->back().position.offset + 1);
        }
        if (!queue.Push(std::move(batch))) return;
        if (partition_done) break;
      }
    }
    queue.Close();
  });

  std::vector<uint64_t> next_min(partition_count, 0);
  std::vector<bool> stopped(partition_count, false);
  while (std::optional<std::unique_ptr<Batch>> batch = queue.Pop()) {
    Fold(**batch, next_min, stopped);
    if (stopped[(*batch)->partition]) stop_partition[(*batch)->partition] = true;
    if (options_.progress) {
      progress.records_done = result_.records_read;
      options_.progress(progress);
    }
  }
  queue.Cancel();
  reader.join();
  result_.folded_until = next_min;
  return reader_status;
}

void Folder::Fold(Batch& batch, std::vector<uint64_t>& next_min, std::vector<bool>& stopped) {
  const uint32_t p = batch.partition;
  if (stopped[p]) return;
  if (!batch.read_status.ok()) {
    AddViolation(ViolationKind::kUnreadable, {p, batch.from_offset}, "",
                 std::string(batch.read_status.message()) + " (the rest of the partition is skipped)");
    stopped[p] = true;
    return;
  }
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const eventlog::LogPosition& position = batch.positions[i];
    ++result_.records_read;
    if (position.offset < next_min[p]) {
      AddViolation(ViolationKind::kOffsetOrder, position, "",
                   absl::StrCat("offset ", position.offset, " follows offset ", next_min[p] - 1));
      continue;
    }
    next_min[p] = position.offset + 1;
    if (!batch.events[i].ok()) {
      AddViolation(ViolationKind::kUndecodable, position, "", std::string(batch.events[i].status().message()));
      continue;
    }
    ledger::Event& event = *batch.events[i];
    if (until_time_ms_ && event.envelope.occurred_at_ms > *until_time_ms_) {
      next_min[p] = position.offset;  // not folded
      stopped[p] = true;
      return;
    }
    bool applied = true;
    if (options_.apply) {
      // A replay decides nothing, so the command ids Evolve would remember
      // (and, with ReplayLedgerOptions, forget at once) are wasted work:
      // fold without the id, then put it back for the visitor.
      ledger::CommandId command_id = std::move(event.envelope.command_id);
      event.envelope.command_id = ledger::CommandId();
      absl::Status status = ledger::Evolve(state_, event);
      event.envelope.command_id = std::move(command_id);
      applied = status.ok();
      if (applied) {
        ++result_.events_applied;
        CheckLevelsOf(position, event);
      } else {
        AddViolation(ViolationKind::kRefusedByFold, position, event.envelope.event_id.ToHex(),
                     std::string(status.message()));
      }
    }
    if (options_.on_event) options_.on_event(position, event, state_, applied);
  }
}

// Evolve refuses invariant-breaking events; this checks the result as well,
// so that a fold bug cannot hide a broken level (STYLE.md: pair checks).
void Folder::CheckLevelsOf(const eventlog::LogPosition& position, const ledger::Event& event) {
  if (event.envelope.sku.empty()) return;
  const ledger::ItemState* item = state_.item(event.envelope.sku);
  if (item == nullptr) return;
  for (const ledger::LevelEntry& entry : item->levels) {
    const ledger::StockLevel& l = entry.level;
    if (l.on_hand >= 0 && l.reserved >= 0 && l.incoming >= 0 && l.reserved <= l.on_hand) continue;
    AddViolation(ViolationKind::kBrokenAfterEvent, position, event.envelope.event_id.ToHex(),
                 absl::StrCat(item->sku.value(), "@", state_.warehouse(entry.warehouse).code.value(),
                              " holds on_hand=", l.on_hand, " reserved=", l.reserved, " incoming=", l.incoming));
  }
}

void Folder::AddViolation(ViolationKind kind, const eventlog::LogPosition& position, std::string event_id,
                          std::string what) {
  ++result_.violations_total;
  if (result_.violations.size() >= options_.violation_examples_max) return;
  result_.violations.push_back({kind, position, std::move(event_id), std::move(what)});
}

}  // namespace replay
