// The event log read as ledger events: eventlog::BasicLogReader (bounded
// read-ahead, optional background thread, ErrorPolicy for unreadable
// stretches) with the decode step, ledger::EventDecoder, run on the reading
// thread. Every reader of events uses it: the writer's start-up replay
// (command-api/writer.cc), the publisher's catch-up and tail
// (orders/publisher.cc), replay/ (audit, as-of, history, export, verify-log)
// and the projector's reader (projector/projector.cc).
//
// Why a component of its own: eventlog/ must stay free of the domain (it
// stores keyed bytes) and ledger/ must stay pure (no log, no threads), so the
// join of the two cannot live in either. replay/ could hold it, but then the
// writer, the publisher and the projector would depend on inventoryctl's
// library. ledger-io is that join and nothing else: one header, one source.
//
// Records that do not decode follow EventReaderOptions::on_undecodable:
//   kAbort             Next returns the decode error (its code: DATA_LOSS, or
//                      FAILED_PRECONDITION for a newer schema) prefixed with
//                      "log record <partition>:<offset>: ".
//   kStop              the batch holds the events before the record, `bad`
//                      names it (`bad_at`); then Next returns nullopt.
//   kRecordAndContinue the record stays in the batch as its error status
//                      (counted in `undecodable`) and the read goes on.
// Unreadable stretches follow read.on_unreadable (eventlog/log_reader.h) and,
// when not kAbort, come out as `bad` / `bad_at` too.
//
// Thread-safety: as eventlog::BasicLogReader.
#ifndef LEDGER_IO_EVENT_READER_H_
#define LEDGER_IO_EVENT_READER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eventlog/event_log.h"
#include "eventlog/log_reader.h"
#include "ledger/event.h"

namespace ledger_io {

using eventlog::ErrorPolicy;

struct EventReaderOptions {
  // Batch size, read-ahead bound, background thread, unreadable policy.
  eventlog::ReaderOptions read;
  // What a record that does not decode does. Default kAbort.
  ErrorPolicy on_undecodable = ErrorPolicy::kAbort;
};

enum class BadKind : uint8_t {
  kNone,
  kUnreadable,   // the log returned DATA_LOSS for the record
  kUndecodable,  // the record's payload is not a valid event
};

struct EventBatch {
  // Parallel: the position and decoded event of each record, in read order.
  // Every event is ok unless on_undecodable is kRecordAndContinue.
  std::vector<eventlog::LogPosition> positions;
  std::vector<absl::StatusOr<ledger::Event>> events;
  // Events in `events` that are errors.
  uint64_t undecodable = 0;
  // The bad record at `bad_at` after the events above, when the policy
  // reported it instead of returning it: unreadable (DATA_LOSS) or, under
  // on_undecodable = kStop, undecodable.
  BadKind bad_kind = BadKind::kNone;
  absl::Status bad;
  eventlog::LogPosition bad_at;
  // The next offset to read per partition after this batch (at `bad_at` for
  // a record that stopped the read).
  base::NextOffsets next_offsets;
};

class EventReader {
 public:
  // As eventlog::RecordSource::Open.
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(eventlog::EventLog* log, eventlog::ReadRange range,
                                                           EventReaderOptions options);

  // The next batch; nullopt at the end. See eventlog::BasicLogReader::Next.
  absl::StatusOr<std::optional<EventBatch>> Next(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

  void StopPartition(uint32_t p) { reader_->StopPartition(p); }
  // kBounded: the end offsets in use, per partition.
  const base::NextOffsets& end_offsets() const { return reader_->end_offsets(); }

 private:
  EventReader(std::unique_ptr<eventlog::BasicLogReader<EventBatch>> reader, ErrorPolicy on_undecodable)
      : reader_(std::move(reader)), on_undecodable_(on_undecodable) {}

  std::unique_ptr<eventlog::BasicLogReader<EventBatch>> reader_;
  const ErrorPolicy on_undecodable_;
  absl::Status error_;  // a kAbort decode error, once returned
};

}  // namespace ledger_io

#endif  // LEDGER_IO_EVENT_READER_H_
