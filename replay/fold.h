// Replay: folds the event log again with the ledger core (ledger::Evolve into
// a ledger::State), checking every invariant after every event. It serves
// every inventoryctl command (audit, as-of, history, export).
//
// Contract:
//  * Reads only. The log may be a live writer's (RocksDbLog in kSecondary
//    mode, KafkaLog in kReadOnly role); the fold stops at bounds fixed when
//    Run starts, so appends during the run are not folded.
//  * Partitions are folded one after another, each in offset order; the
//    ledger core accepts any interleaving of partitions (ledger/evolve.h).
//  * Findings are values, not errors: a record that does not decode, an event
//    Evolve refuses (it breaks an invariant; the state is left unchanged), a
//    level that breaks an invariant after an event, an offset that does not
//    increase, or a stretch of the log that cannot be read (DATA_LOSS) is a
//    Violation naming its position (and the event id when known), and the
//    fold goes on. Only I/O trouble (UNAVAILABLE, ...) ends Run with an error.
//  * Nothing resolved is forgotten (ReplayLedgerOptions), so the state can be
//    compared with the read models in full.
//
// Pipeline: ledger_io::EventReader (ledger-io/event_reader.h) reads and
// decodes on its thread up to read_ahead_batches_max batches ahead of the
// folding (calling) thread, with ErrorPolicy::kRecordAndContinue for
// unreadable stretches and undecodable records.
//
// Thread-safety: a Folder is used by one thread at a time; callbacks run on
// the calling thread.
#ifndef REPLAY_FOLD_H_
#define REPLAY_FOLD_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ledger-io/event_reader.h"
#include "ledger/event.h"
#include "eventlog/event_log.h"
#include "ledger/state.h"

namespace replay {

// LedgerOptions for replay: resolved reservations and transfers are kept
// without bound (count or age); command ids are not remembered (a replay
// decides nothing).
ledger::LedgerOptions ReplayLedgerOptions();

enum class ViolationKind : uint8_t {
  kUndecodable,       // the record's payload is not a valid event
  kRefusedByFold,     // Evolve refused the event: it breaks an invariant
  kBrokenAfterEvent,  // a level breaks an invariant after an applied event
  kOffsetOrder,       // an offset did not strictly increase within its partition
  kUnreadable,        // the log returned DATA_LOSS for this stretch
};
std::string_view ToString(ViolationKind kind);

struct Violation {
  ViolationKind kind = ViolationKind::kUndecodable;
  eventlog::LogPosition position;
  std::string event_id;  // hex; empty when the record did not decode
  std::string what;
};

// Where to stop. Every bound is exclusive; unset bounds mean "the log's end
// offsets when Run starts".
struct FoldBounds {
  // Next offset not to fold, per partition (size = partition count), e.g. a
  // read-models snapshot's applied() or a position vector.
  std::optional<base::NextOffsets> until_offsets;
  // Fold each partition up to its first event with occurred_at_ms > this.
  // The writer stamps times that never go back, so this is "as of the time".
  std::optional<ledger::TimeMs> until_time_ms;
  // Only these partitions (e.g. the one holding a SKU); empty = all.
  std::vector<uint32_t> partitions;
};

struct FoldProgress {
  uint64_t records_done = 0;
  uint64_t records_total = 0;  // estimate: sum of (bound - 0); exact on the embedded log
};

// Called after each event is folded (applied == true) or refused.
using EventVisitor =
    std::function<void(const eventlog::LogPosition& position, const ledger::Event& event, const ledger::State& state,
                        bool applied)>;

struct FoldOptions {
  // Records per EventLog::Read. Default 8192; at least 1.
  size_t read_batch_records = 8192;
  // Decoded batches the reader thread may hold ahead of the fold. Default 4.
  size_t read_ahead_batches_max = 4;
  // Violations kept as examples (all are counted). Default 20.
  size_t violation_examples_max = 20;
  // Evolve the events into the state; false only decodes (export). Default true.
  bool apply = true;
  // Called every read batch on the folding thread. Optional.
  std::function<void(const FoldProgress&)> progress;
  // Called for every decoded event. Optional.
  EventVisitor on_event;
};

struct FoldResult {
  uint64_t records_read = 0;
  uint64_t events_applied = 0;
  uint64_t violations_total = 0;
  std::vector<Violation> violations;  // the first violation_examples_max
  // Next offset after the last record folded, per partition.
  base::NextOffsets folded_until;
  // The bounds Run used, per partition.
  base::NextOffsets bounds;
};

class Folder {
 public:
  explicit Folder(FoldOptions options = {});

  // Folds `log` within `bounds` into state(). Returns INVALID_ARGUMENT for
  // bounds that do not fit the log (wrong size, unknown partition), the log's
  // error for I/O trouble; every data problem is a Violation instead.
  absl::Status Run(eventlog::EventLog& log, const FoldBounds& bounds);

  const ledger::State& state() const { return state_; }
  const FoldResult& result() const { return result_; }

 private:
  void Fold(ledger_io::EventBatch& batch, base::NextOffsets& last_offset_plus_one, std::vector<bool>& stopped);
  void AddViolation(ViolationKind kind, const eventlog::LogPosition& position, std::string event_id,
                    std::string what);
  void CheckLevelsOf(const eventlog::LogPosition& position, const ledger::Event& event);

  FoldOptions options_;
  ledger::State state_;
  FoldResult result_;
  std::optional<ledger::TimeMs> until_time_ms_;
};

}  // namespace replay

#endif  // REPLAY_FOLD_H_
