// The projector: a worker that tails the event log from its stored applied
// offsets and folds every event into the read models (projector/read_models.h).
//
// Contract:
//  * Exactly once by position. Each applied batch is one RocksDB WriteBatch
//    holding the view updates and the new applied offsets together, so after
//    a crash (kill -9) the views resume exactly where the last batch left
//    them; an event whose offset is below the applied offset is skipped.
//  * Batches hold up to batch_events_max events or wait at most batch_ms.
//  * Rebuild: ProjectorOptions::rebuild, or a stored view schema version other
//    than kViewSchemaVersion, drops every view and folds again from zero.
//  * Pipeline: one thread reads and decodes records, another applies them.
//    Cross-partition views (reservations, reports) are folded by the single
//    applier, so partitions never race on a shared row; order within each
//    partition is the log's order.
//  * A listener is called for every applied batch (its stock updates may be
//    none), in apply order, after the batch is durable in the views and
//    applied() reports it. Listeners must be quick and must not block.
//  * Events the fold cannot apply as written (a level would go negative, an
//    unknown reservation resolves) are applied as far as they make sense,
//    counted in anomalies() and logged; `inventoryctl audit` names them.
//  * Hot levels: with hot_skus_max > 0 the rows availability reads need are
//    also kept in memory (projector/hot_levels.h), loaded on Start and fed
//    each batch's rows after its write and before applied() moves.
//  * Audit on start: before folding anything new, Start checks every level
//    the views hold against the level invariants; each broken one is logged
//    and counted (stats().audit_oversells, the `audit` oversell metric).
//
// Thread-safety: every public method may be called from any thread.
#ifndef PROJECTOR_PROJECTOR_H_
#define PROJECTOR_PROJECTOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "eventlog/event_log.h"
#include "metrics/service_metrics.h"
#include "projector/hot_levels.h"
#include "projector/read_models.h"
#include "proto/query_service.pb.h"

namespace projector {

struct ProjectorOptions {
  // Directory of the read models. No default.
  std::string path;
  // Most events folded into one WriteBatch. Default 10000.
  size_t batch_events_max = 10'000;
  // Longest a started batch waits for more events, ms. Default 5.
  std::chrono::milliseconds batch_ms{5};
  // Decoded batches queued between the reader and the applier. Default 4.
  size_t pipeline_batches_max = 4;
  // Drop the views and fold again from position zero on Start. Default false.
  bool rebuild = false;
  // Sync the views' WAL on each batch. The views are rebuildable from the
  // durable log, so the default (false) only risks re-applying after a power
  // loss, never a wrong view. Default false.
  bool sync = false;
  // Write with the WAL off while more than this many events are behind the
  // log end (catch-up and rebuild), flushing atomically afterwards. Default
  // 100000; 0 = always use the WAL.
  uint64_t catch_up_no_wal_events_min = 100'000;
  // Rows (items, levels, totals, reservations) cached between batches; the
  // cache is emptied when it grows past this. Default 1,000,000.
  size_t cache_entries_max = 1'000'000;
  // Most SKUs the hot levels (projector/hot_levels.h) hold in memory for
  // availability reads; past it they switch off and reads use RocksDB.
  // 0 = no hot levels. Default 2,000,000 (roughly 300 bytes per SKU).
  size_t hot_skus_max = 2'000'000;
  // Most listeners. Default 64.
  size_t listeners_max = 64;
  // Poll interval for records appended by other processes. Default 20 ms.
  std::chrono::milliseconds poll_ms{20};
  // Block cache and memtable sizes of the views, bytes.
  size_t block_cache_bytes = 64 << 20;
  size_t write_buffer_bytes = 64 << 20;
  // Fold batch durations and oversell checks; null = off.
  metrics::ServiceMetrics* metrics = nullptr;
};

// What listeners receive: the stock updates of one applied batch and the
// applied offsets after it.
struct AppliedBatch {
  std::vector<inventory::v1::InventoryUpdate> updates;
  base::NextOffsets applied;
};

struct Lag {
  uint64_t events = 0;  // records behind the log end, summed over partitions
  int64_t ms = 0;       // how long the projector has not been caught up; 0 when it is
};

struct ProjectorStats {
  uint64_t events_applied = 0;
  uint64_t batches_applied = 0;
  uint64_t anomalies = 0;
  uint64_t oversells = 0;  // of the anomalies: levels left negative or with reserved above on_hand
  // Levels breaking the invariants in the views as they were when the
  // projector started (the audit-on-start, before any new fold).
  uint64_t audit_oversells = 0;
};

class Projector {
 public:
  // Opens the read models (rebuilding when asked or when the schema differs)
  // and starts the worker. `log` (and `clock`; null = the system clock) must
  // outlive the projector.
  static absl::StatusOr<std::unique_ptr<Projector>> Start(eventlog::EventLog* log, ProjectorOptions options,
                                                          base::Clock* clock = nullptr);

  // Stops the worker after the batch in flight. Idempotent.
  void Stop();
  ~Projector();

  const ReadModels& read_models() const { return *models_; }
  std::unique_ptr<Snapshot> NewSnapshot() const { return models_->NewSnapshot(); }
  // A snapshot of the hot levels (projector/hot_levels.h: items, warehouses,
  // levels and totals only), or a RocksDB snapshot when they are off. Its
  // applied() never lags what applied() reported before the call.
  std::unique_ptr<Snapshot> NewLevelsSnapshot() const;

  // Next offset to apply, per partition.
  base::NextOffsets applied() const;

  // Waits until every position in `positions` is applied or `deadline` passes.
  // DEADLINE_EXCEEDED names how far behind the projector is; FAILED_PRECONDITION
  // if the worker stopped on an error.
  absl::Status WaitApplied(std::span<const eventlog::LogPosition> positions,
                           std::chrono::steady_clock::time_point deadline) const;

  // Waits until everything the log held when called is applied.
  absl::Status WaitCaughtUp(std::chrono::steady_clock::time_point deadline) const;

  Lag lag() const;
  ProjectorStats stats() const;
  // The error that stopped the worker, if any.
  absl::Status health() const;

  using Listener = std::function<void(const AppliedBatch&)>;
  // Registers a listener; RESOURCE_EXHAUSTED past listeners_max. The returned
  // id removes it.
  absl::StatusOr<uint64_t> AddListener(Listener listener);
  void RemoveListener(uint64_t id);

 private:
  class Impl;
  Projector(std::unique_ptr<ReadModels> models, std::unique_ptr<HotLevels> hot, std::unique_ptr<Impl> impl);

  std::unique_ptr<ReadModels> models_;
  std::unique_ptr<HotLevels> hot_;  // null: off
  std::unique_ptr<Impl> impl_;
};

}  // namespace projector

#endif  // PROJECTOR_PROJECTOR_H_
