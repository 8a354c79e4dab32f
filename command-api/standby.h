// The warm standby of the command role (`inventoryd serve --standby-of`):
// while another process is the writer, follow the log it appends to, fold
// every event into a ledger::State exactly as the writer's start-up replay
// does (ledger::Evolve, command-api/writer.cc), and save that state as a
// snapshot into the snapshot directory the command role loads when it
// starts. When the standby takes over (tools/inventoryd.cc decides when),
// the command role starts as usual: it opens the log read-write, which on
// Kafka initialises the shared transactional id and so fences the old
// writer, loads the standby's newest snapshot and replays only what was
// appended after it. The standby itself never writes the log.
//
// What fences what is Kafka's to enforce: librdkafka's mock cluster (the
// development broker, the tests) accepts a second transactional producer
// without fencing the first (docs/event-log.md), so nothing here claims
// exactly-once; the ledger's command ids and the projector's positions keep
// a double append harmless to readers, not absent.
//
// Thread-safety: one thread at a time.
#ifndef COMMAND_API_STANDBY_H_
#define COMMAND_API_STANDBY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "base/log_position.h"
#include "command-api/snapshot_store.h"
#include "eventlog/event_log.h"
#include "ledger/state.h"

namespace command_api {

struct StandbyOptions {
  // A snapshot is saved when at least this many events were folded since the
  // last one (and by SaveSnapshot). Default 10000.
  std::uint64_t snapshot_every_events = 10'000;
  // Records per read. Default 4096.
  std::size_t read_records = 4096;
  // The writer's ledger options (the state must fold as the writer's does).
  ledger::LedgerOptions ledger;
};

class Standby {
 public:
  // REQUIRES: log and snapshots outlive the standby.
  Standby(eventlog::EventLog* log, SnapshotStore* snapshots, StandbyOptions options);

  // Loads the newest snapshot of the directory (none: from zero).
  absl::Status Start();
  // Folds the log from where the last call stopped to its current end; saves
  // a snapshot when snapshot_every_events were folded since the last.
  // DATA_LOSS for an event the fold refuses, as the writer's replay.
  absl::Status CatchUp();
  // Saves the state folded so far (nothing when nothing is new).
  absl::Status SaveSnapshot();

  std::uint64_t events_applied() const { return state_.events_applied(); }
  const base::NextOffsets& next_offsets() const { return next_offsets_; }

 private:
  eventlog::EventLog* const log_;
  SnapshotStore* const snapshots_;
  const StandbyOptions options_;
  ledger::State state_;
  base::NextOffsets next_offsets_;
  std::uint64_t saved_events_ = 0;  // events_applied() at the last snapshot
};

}  // namespace command_api

#endif  // COMMAND_API_STANDBY_H_
