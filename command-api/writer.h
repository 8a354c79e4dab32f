// The single writer: decides commands one after another against the
// in-memory ledger state and appends their events to the log in batches
// (group commit). BRIEF.md decisions 1 and 7.
//
// Flow: Submit() puts a command in a bounded queue (full: RESOURCE_EXHAUSTED).
// The writer thread takes every queued command (up to batch limits), stamps
// each with the clock's time, runs DecideAndApply on each in order, appends
// all their events in one Append (durable before it returns), and only then
// runs each command's completion. Rejected and duplicate commands ride in the
// same batch and are answered with it, so answers keep submission order.
//
// If an append fails, the batch's commands are answered UNAVAILABLE and the
// state is rebuilt from the newest snapshot and the log, since it had already
// folded events the log may not hold. (If the log did take them after all, a
// client's retry with the same command id is a duplicate: nothing is lost or
// doubled.)
//
// If the log refuses an append for good (eventlog::AppendRefusedForGood:
// on Kafka, a newer writer fenced this one), the writer is fenced: that
// batch, every queued command and every later Submit are answered
// FAILED_PRECONDITION naming the cause, without rebuilding the state or
// touching the log again, and options.on_fenced runs once. Its owner then
// gets the process out of the way (command-api/command_role.h).
//
// Start-up: load the newest valid snapshot (corrupt ones are skipped with a
// warning), replay the log after it, then accept commands. Snapshots are saved
// every N events or T seconds from a copy of the state, on a background thread.
//
// Reservation expiry: the writer publishes the earliest active expiry; the
// ExpiryScheduler (command-api/expiry.h) calls ExpireDue() when it passes.
//
// Thread-safety: Submit, SubmitMany, ExpireDue, NextExpiryMs and fenced may be called
// from any thread. Completions run on the writer thread: they may read the
// State they are given, must be quick and must not block or Submit.
#ifndef COMMAND_API_WRITER_H_
#define COMMAND_API_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "ledger/command.h"
#include "ledger/decide.h"
#include "eventlog/event_log.h"
#include "ledger/rejection.h"
#include "command-api/snapshot_store.h"
#include "ledger/state.h"
#include "metrics/service_metrics.h"

namespace command_api {

struct WriterOptions {
  // Most commands waiting for the writer; more are refused. Default 65536.
  std::size_t queue_commands_max = 65'536;
  // Most commands decided into one append. Default 8192.
  std::size_t batch_commands_max = 8'192;
  // Most events in one append; must not exceed the log's batch limit. Default 8000.
  std::size_t batch_events_max = 8'000;
  // Save a snapshot after this many events since the last one; 0 = never. Default 1,000,000.
  std::uint64_t snapshot_every_events = 1'000'000;
  // Save a snapshot after this long, if any event arrived since; 0 = never. Default 300 s.
  std::int64_t snapshot_every_ms = 300'000;
  // Most expiry commands issued per ExpireDue() call. Default 10000.
  std::size_t expire_batch_max = 10'000;
  // Records read per log Read during replay. Default 10000.
  std::size_t replay_read_records = 10'000;
  ledger::LedgerOptions ledger;
  // Commands, batches, append latency, queue depth, snapshots; null = off.
  metrics::ServiceMetrics* metrics = nullptr;
  // Runs once, on the writer thread, when the writer is fenced, with the
  // log's refusal. Quick; must not block or Submit. Default null: none.
  std::function<void(const absl::Status& cause)> on_fenced;
};

// The outcome of one command, once durable (or refused).
struct WriteResult {
  // OK, the rejection's status, UNAVAILABLE, or (once fenced) FAILED_PRECONDITION.
  absl::Status status;
  std::optional<ledger::Rejection> rejection;  // when decide refused it
  bool duplicate = false;                      // command id already applied
  // Where its events landed: the consistency token. For a duplicate, the
  // writer's current end of every partition (which covers the original).
  std::vector<eventlog::LogPosition> positions;
};

using Completion = std::function<void(const WriteResult& result, const ledger::State& state)>;

struct WriterStats {
  std::uint64_t commands = 0;
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t replayed_events = 0;  // at start-up
  bool loaded_snapshot = false;
};

class Writer {
 public:
  // REQUIRES: log, clock outlive the writer; snapshots may be null (none kept).
  static absl::StatusOr<std::unique_ptr<Writer>> Open(eventlog::EventLog* log, command_api::SnapshotStore* snapshots,
                                                      const base::Clock* clock, WriterOptions options);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues one command. The completion runs exactly once if this returns OK.
  // RESOURCE_EXHAUSTED when the queue is full; UNAVAILABLE once stopping;
  // FAILED_PRECONDITION once fenced.
  absl::Status Submit(ledger::Command command, Completion done);

  // Queues several commands together (all or none), so they tend to share a
  // batch. Same errors as Submit, for the whole group.
  absl::Status SubmitMany(std::vector<std::pair<ledger::Command, Completion>> commands);

  // Queues ExpireReservation for every active reservation due by now.
  void ExpireDue();

  // The earliest active reservation expiry, or nullopt.
  std::optional<std::int64_t> NextExpiryMs() const;

  // Stops taking commands, finishes the queued ones, writes a final snapshot
  // (if a store is configured) and joins the thread. Idempotent.
  void Stop();

  WriterStats stats() const;

  // OK while the writer can append; once fenced, for good, the
  // FAILED_PRECONDITION every command is answered with.
  absl::Status fenced() const;

 private:
  struct Pending {
    ledger::Command command;
    Completion done;
  };

  Writer(eventlog::EventLog* log, command_api::SnapshotStore* snapshots, const base::Clock* clock, WriterOptions options);
  absl::Status Recover();
  absl::Status Replay(base::NextOffsets from);
  void Run();
  std::vector<Pending> TakeBatch();
  // Consecutive commands of a batch decided into one append.
  struct Chunk {
    std::size_t begin = 0;  // the batch's commands [begin, end)
    std::size_t end = 0;
    std::vector<ledger::Decision> decisions;   // one per command
    std::vector<eventlog::LogRecord> records;  // their events, encoded, in order
    std::vector<std::size_t> first_record;     // per command: index of its first record
  };
  enum class SnapshotWhen {
    kIfDue,  // when snapshot_every_events / snapshot_every_ms say so, on the snapshot thread
    kNow,    // now, on this thread (at Stop)
  };

  void Process(std::vector<Pending>& batch);
  bool RecoverForBatch(std::vector<Pending>& batch, std::size_t from);
  Chunk Decide(std::vector<Pending>& batch, std::size_t from);
  absl::StatusOr<std::vector<eventlog::LogPosition>> Append(const Chunk& chunk);
  void Answer(std::vector<Pending>& batch, const Chunk& chunk, const std::vector<eventlog::LogPosition>& positions);
  void MaybeSnapshot(SnapshotWhen when);
  std::vector<eventlog::LogPosition> LastEventPositions() const;
  void PublishExpiry();
  void Complete(Pending& pending, const WriteResult& result);
  static WriteResult Unavailable(const absl::Status& cause);
  void Fence(const absl::Status& cause);

  eventlog::EventLog* const log_;
  command_api::SnapshotStore* const snapshots_;
  const base::Clock* const clock_;
  const WriterOptions options_;

  // Owned by the writer thread (and by Open before it starts).
  ledger::State state_;
  base::NextOffsets next_offsets_;
  // Per partition: 1 + the offset of the last event seen (0: none). Unlike
  // next_offsets_, never points past a Kafka transaction marker.
  base::NextOffsets last_event_offset_;
  base::NextOffsets last_event_offsets_seen_;  // during replay
  bool healthy_ = true;
  std::atomic<bool> snapshot_done_{true};
  std::uint64_t events_at_last_snapshot_ = 0;
  std::int64_t last_snapshot_ms_ = 0;
  std::thread snapshot_thread_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool expire_requested_ = false;
  absl::Status fenced_;  // OK until fenced; then the answer to every command
  WriterStats stats_;

  std::atomic<std::int64_t> next_expiry_ms_{-1};
  std::thread thread_;
};

}  // namespace command_api

#endif  // COMMAND_API_WRITER_H_
