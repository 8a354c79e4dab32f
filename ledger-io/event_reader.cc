#include "ledger-io/event_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/codec.h"

namespace ledger_io {
namespace {

// The decode step, on the reading thread. Returns false to read no further.
bool DecodeBatch(ErrorPolicy policy, ledger::EventDecoder& decoder, eventlog::RecordBatch&& read, EventBatch& out) {
  if (!read.unreadable.ok()) out.bad_kind = BadKind::kUnreadable;
  out.bad = std::move(read.unreadable);
  out.bad_at = read.unreadable_at;
  out.next_offsets = std::move(read.next_offsets);
  out.positions.reserve(read.records.size());
  out.events.reserve(read.records.size());
  for (const eventlog::StoredRecord& record : read.records) {
    absl::StatusOr<ledger::Event> event = decoder.Decode(record.payload);
    if (!event.ok() && policy != ErrorPolicy::kRecordAndContinue) {
      const eventlog::LogPosition& at = record.position;
      out.bad = absl::Status(event.status().code(),
                             absl::StrCat("log record ", at.partition, ":", at.offset, ": ", event.status().message()));
      out.bad_at = at;
      out.bad_kind = BadKind::kUndecodable;
      if (at.partition < out.next_offsets.size()) out.next_offsets[at.partition] = at.offset;
      return false;
    }
    if (!event.ok()) ++out.undecodable;
    out.positions.push_back(record.position);
    out.events.push_back(std::move(event));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Open(eventlog::EventLog* log, eventlog::ReadRange range,
                                                               EventReaderOptions options) {
  auto decoder = std::make_shared<ledger::EventDecoder>();
  const ErrorPolicy policy = options.on_undecodable;
  absl::StatusOr<std::unique_ptr<eventlog::BasicLogReader<EventBatch>>> reader =
      eventlog::BasicLogReader<EventBatch>::Open(
          log, std::move(range), options.read,
          [policy, decoder](eventlog::RecordBatch&& read, EventBatch& out) {
            return DecodeBatch(policy, *decoder, std::move(read), out);
          });
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<EventReader>(new EventReader(std::move(*reader), policy));
}

absl::StatusOr<std::optional<EventBatch>> EventReader::Next(std::chrono::milliseconds timeout) {
  if (!error_.ok()) return error_;
  absl::StatusOr<std::optional<EventBatch>> batch = reader_->Next(timeout);
  if (!batch.ok() || !batch->has_value()) return batch;
  // An undecodable record under kAbort: the events before it are dropped with
  // the batch, as a caller that returns the error folds none of them anyway.
  if ((*batch)->bad_kind == BadKind::kUndecodable && on_undecodable_ == ErrorPolicy::kAbort) {
    error_ = (*batch)->bad;
    return error_;
  }
  return batch;
}

}  // namespace ledger_io
