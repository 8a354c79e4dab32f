#include "projector/projector.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "ledger-io/event_reader.h"
#include "ledger/stock_rules.h"
#include "projector/fold.h"
#include "projector/store.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace projector {
namespace {

// One tail read, decoded; `next_offsets` is the reader's position after it.
using DecodedBatch = ledger_io::EventBatch;

// Broken levels the audit-on-start names in the log, one line each.
constexpr uint64_t kAuditLoggedMax = 20;

}  // namespace

class Projector::Impl {
 public:
  Impl(eventlog::EventLog* log, Store* store, HotLevels* hot, ProjectorOptions options, base::Clock* clock,
       base::NextOffsets applied)
      : log_(log),
        store_(store),
        hot_(hot),
        options_(std::move(options)),
        clock_(clock),
        fold_(store),
        applied_(std::move(applied)),
        end_offsets_(applied_) {}

  absl::Status Start() {
    RETURN_IF_ERROR(fold_.Load());
    if (hot_ != nullptr) RETURN_IF_ERROR(hot_->Load(*store_));
    RETURN_IF_ERROR(AuditLevels());
    ASSIGN_OR_RETURN(end_offsets_, log_->EndOffsets());
    behind_since_ms_ = clock_->NowMs();
    reader_ = std::thread([this] { ReadLoop(); });
    applier_ = std::thread([this] { ApplyLoop(); });
    return absl::OkStatus();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    queue_cv_.notify_all();
    applied_cv_.notify_all();
    if (reader_.joinable()) reader_.join();
    if (applier_.joinable()) applier_.join();
    if (unflushed_) {
      absl::Status flushed = store_->Flush();
      if (!flushed.ok()) spdlog::error("projector: final flush: {}", std::string(flushed.message()));
    }
  }

  base::NextOffsets applied() const {
    std::lock_guard lock(mu_);
    return applied_;
  }

  absl::Status WaitApplied(std::span<const eventlog::LogPosition> positions,
                           std::chrono::steady_clock::time_point deadline) const {
    for (const eventlog::LogPosition& p : positions) {
      if (p.partition >= applied_.size()) {
        return absl::InvalidArgumentError(absl::StrCat("consistency token names partition ", p.partition, " of ",
                                                       applied_.size()));
      }
    }
    std::unique_lock lock(mu_);
    auto met = [&] {
      return std::all_of(positions.begin(), positions.end(),
                         [&](const eventlog::LogPosition& p) { return applied_.Covers(p); });
    };
    applied_cv_.wait_until(lock, deadline, [&] { return met() || !error_.ok() || stopping_; });
    if (met()) return absl::OkStatus();
    if (!error_.ok()) return absl::FailedPreconditionError(absl::StrCat("projector stopped: ", error_.message()));
    const uint64_t behind = applied_.EventsBehind(base::NextOffsets::Covering(applied_.size(), positions));
    return absl::DeadlineExceededError(absl::StrCat("read models are ", behind,
                                                    " events behind the consistency token (lag ", LagLocked().events,
                                                    " events, ", LagLocked().ms, " ms)"));
  }

  absl::Status WaitCaughtUp(std::chrono::steady_clock::time_point deadline) const {
    ASSIGN_OR_RETURN(base::NextOffsets ends, log_->EndOffsets());
    while (true) {
      base::NextOffsets now = applied();
      bool done = true;
      for (uint32_t p = 0; p < ends.size() && done; ++p) {
        if (now[p] >= ends[p]) continue;
        // Offsets may have gaps (Kafka's transaction markers): caught up when
        // no record lies between the applied offset and the end.
        ASSIGN_OR_RETURN(std::vector<eventlog::StoredRecord> next, log_->Read(p, now[p], 1));
        done = next.empty() || next.front().position.offset >= ends[p];
      }
      if (done) return absl::OkStatus();
      std::unique_lock lock(mu_);
      if (!error_.ok()) return absl::FailedPreconditionError(absl::StrCat("projector stopped: ", error_.message()));
      if (std::chrono::steady_clock::now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat("projector still ", LagLocked().events, " events behind"));
      }
      applied_cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
    }
  }

  Lag lag() const {
    std::lock_guard lock(mu_);
    return LagLocked();
  }

  ProjectorStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  // The audit-on-start: every level the views hold as recovered from disk,
  // checked against the level invariants (ledger::KeepsLevelInvariants)
  // before anything new is folded. A broken level can only come from a
  // forged or corrupt log the views were folded from (the fold applies such
  // events as written), so it is counted (inventory_oversell_events_total
  // {check="audit"}, stats().audit_oversells) and logged, and the projector
  // still starts: its views are what the log says. One scan of the levels.
  absl::Status AuditLevels() {
    uint64_t broken = 0;
    std::unique_ptr<Snapshot> views = store_->NewSnapshot();
    RETURN_IF_ERROR(views->ForEachLevel([&](const inventory::v1::StockLevel& l) {
      const ledger::StockLevel level{.on_hand = l.on_hand(), .reserved = l.reserved(), .incoming = l.incoming()};
      if (ledger::KeepsLevelInvariants(level)) return true;
      if (++broken <= kAuditLoggedMax) {
        spdlog::error("projector: audit on start: {} at {} has on_hand={} reserved={} incoming={}", l.sku(),
                      l.warehouse(), l.on_hand(), l.reserved(), l.incoming());
      }
      return true;
    }));
    if (broken > kAuditLoggedMax) {
      spdlog::error("projector: audit on start: {} levels break the invariants ({} logged)", broken, kAuditLoggedMax);
    }
    if (broken > 0 && options_.metrics != nullptr) options_.metrics->OnOversell(metrics::Check::kAudit, broken);
    std::lock_guard lock(mu_);
    stats_.audit_oversells = broken;
    return absl::OkStatus();
  }

  absl::Status health() const {
    std::lock_guard lock(mu_);
    return error_;
  }

  absl::StatusOr<uint64_t> AddListener(Listener listener) {
    std::lock_guard lock(listeners_mu_);
    if (listeners_.size() >= options_.listeners_max) {
      return absl::ResourceExhaustedError(absl::StrCat("projector: at most ", options_.listeners_max, " listeners"));
    }
    uint64_t id = next_listener_id_++;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  void RemoveListener(uint64_t id) {
    std::lock_guard lock(listeners_mu_);
    listeners_.erase(id);
  }

 private:
  Lag LagLocked() const {
    Lag lag;
    lag.events = applied_.EventsBehind(end_offsets_);
    if (lag.events > 0) lag.ms = std::max<int64_t>(0, clock_->NowMs() - behind_since_ms_);
    return lag;
  }

  void Fail(const absl::Status& status) {
    spdlog::error("projector stopped: {}", std::string(status.message()));
    {
      std::lock_guard lock(mu_);
      if (error_.ok()) error_ = status;
      stopping_ = true;
    }
    queue_cv_.notify_all();
    applied_cv_.notify_all();
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Follows the log; a record that does not decode is kept in its batch as
  // an error, counted and skipped by the applier (kRecordAndContinue); a read
  // error stops the projector.
  void ReadLoop() {
    ledger_io::EventReaderOptions reader_options;
    reader_options.read = {.read_batch_records = options_.batch_events_max, .poll_interval_ms = options_.poll_ms};
    reader_options.on_undecodable = ledger_io::ErrorPolicy::kRecordAndContinue;
    absl::StatusOr<std::unique_ptr<ledger_io::EventReader>> reader = ledger_io::EventReader::Open(
        log_, {.mode = eventlog::ReadMode::kFollow, .start_offsets = applied()}, reader_options);
    if (!reader.ok()) {
      Fail(reader.status());
      return;
    }
    auto last_end_check = std::chrono::steady_clock::now();
    while (!stopping()) {
      absl::StatusOr<std::optional<DecodedBatch>> read = (*reader)->Next(options_.poll_ms);
      if (!read.ok()) {
        Fail(read.status());
        return;
      }
      INV_CHECK(read->has_value()) << "a followed read without kStop never ends";
      DecodedBatch& batch = **read;
      auto now = std::chrono::steady_clock::now();
      if (now - last_end_check > std::chrono::milliseconds(100) || !batch.events.empty()) {
        RefreshEndOffsets();
        last_end_check = now;
      }
      if (batch.events.empty()) {
        // The tail found nothing more: its position is the effective end
        // (Kafka's end offset counts transaction markers no reader sees).
        std::lock_guard lock(mu_);
        end_offsets_ = batch.next_offsets;
        continue;
      }
      std::unique_lock lock(mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || queue_.size() < options_.pipeline_batches_max; });
      if (stopping_) return;
      queue_.push_back(std::move(batch));
      queue_cv_.notify_all();
    }
  }

  void RefreshEndOffsets() {
    absl::StatusOr<base::NextOffsets> ends = log_->EndOffsets();
    if (!ends.ok()) {
      spdlog::warn("projector: reading end offsets: {}", std::string(ends.status().message()));
      return;
    }
    std::lock_guard lock(mu_);
    end_offsets_ = std::move(*ends);
  }

  // Takes queued batches up to batch_events_max, waiting up to batch_ms for
  // more once one is in hand.
  std::optional<std::vector<DecodedBatch>> TakeBatches() {
    std::unique_lock lock(mu_);
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return std::nullopt;
    std::vector<DecodedBatch> taken;
    size_t events = 0;
    auto deadline = std::chrono::steady_clock::now() + options_.batch_ms;
    while (true) {
      while (!queue_.empty() && (taken.empty() || events + queue_.front().events.size() <= options_.batch_events_max)) {
        events += queue_.front().events.size();
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_cv_.notify_all();
      bool full = !queue_.empty() || events >= options_.batch_events_max;
      if (full || !queue_cv_.wait_until(lock, deadline, [&] { return stopping_ || !queue_.empty(); }) || stopping_) {
        break;
      }
    }
    return taken;
  }

  void ApplyLoop() {
    while (true) {
      std::optional<std::vector<DecodedBatch>> batches = TakeBatches();
      if (!batches) return;
      absl::Status applied = ApplyBatches(*batches);
      if (!applied.ok()) {
        Fail(applied);
        return;
      }
    }
  }

  absl::Status ApplyBatches(std::vector<DecodedBatch>& batches) {
    AppliedBatch out;
    uint64_t events = 0;
    const auto started = std::chrono::steady_clock::now();
    const uint64_t oversells_before = fold_.oversells();
    for (DecodedBatch& b : batches) {
      for (size_t i = 0; i < b.events.size(); ++i) {
        const eventlog::LogPosition& pos = b.positions[i];
        if (next_.Covers(pos)) continue;  // applied already
        if (!b.events[i].ok()) {
          ++undecodable_;
          spdlog::error("projector: record {}:{} is undecodable and skipped: {}", pos.partition, pos.offset,
                        std::string(b.events[i].status().message()));
          continue;
        }
        RETURN_IF_ERROR(fold_.Apply(pos, *b.events[i], &out.updates));
        ++events;
      }
      next_ = b.next_offsets;
    }
    out.applied = next_;
    rocksdb::WriteBatch write;
    RETURN_IF_ERROR(fold_.Flush(write, out.applied, hot_ != nullptr ? &changed_ : nullptr));
    uint64_t behind = 0;
    {
      std::lock_guard lock(mu_);
      for (size_t p = 0; p < end_offsets_.size(); ++p) {
        if (end_offsets_[p] > next_[p]) behind += end_offsets_[p] - next_[p];
      }
    }
    bool no_wal = options_.catch_up_no_wal_events_min > 0 && behind >= options_.catch_up_no_wal_events_min;
    if (!no_wal && unflushed_) {
      // Later WAL writes must not outlive earlier unlogged ones in a crash.
      RETURN_IF_ERROR(store_->Flush());
      unflushed_ = false;
    }
    RETURN_IF_ERROR(store_->Write(write, {.sync = options_.sync, .disable_wal = no_wal}));
    unflushed_ = unflushed_ || no_wal;
    // Before applied() moves: a read whose token is applied finds it here too.
    if (hot_ != nullptr) hot_->Apply(changed_, next_);
    fold_.Trim(options_.cache_entries_max);
    {
      std::lock_guard lock(mu_);
      applied_ = next_;
      stats_.events_applied += events;
      stats_.batches_applied += 1;
      stats_.anomalies = fold_.anomalies() + undecodable_;
      stats_.oversells = fold_.oversells();
      if (behind == 0) behind_since_ms_ = clock_->NowMs();
    }
    if (options_.metrics != nullptr) {
      options_.metrics->OnFoldBatch(events, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (fold_.oversells() > oversells_before) {
        options_.metrics->OnOversell(metrics::Check::kProjector, fold_.oversells() - oversells_before);
      }
    }
    applied_cv_.notify_all();
    // After applied() moved, and for every batch, updates or not: a listener
    // may use the call to re-check applied() (the query's token waiter does).
    Notify(out);
    return absl::OkStatus();
  }

  void Notify(const AppliedBatch& batch) {
    std::lock_guard lock(listeners_mu_);
    for (auto& [id, listener] : listeners_) listener(batch);
  }

  eventlog::EventLog* const log_;
  Store* const store_;
  HotLevels* const hot_;  // null: off
  const ProjectorOptions options_;
  base::Clock* const clock_;
  Fold fold_;  // applier thread only
  base::NextOffsets next_;  // applier thread only
  bool unflushed_ = false;      // applier thread only
  ChangedRows changed_;         // applier thread only: the hot levels' rows of a batch
  uint64_t undecodable_ = 0;    // applier thread only

  mutable std::mutex mu_;
  mutable std::condition_variable applied_cv_;
  std::condition_variable queue_cv_;
  std::deque<DecodedBatch> queue_;
  base::NextOffsets applied_;
  base::NextOffsets end_offsets_;
  int64_t behind_since_ms_ = 0;
  ProjectorStats stats_;
  absl::Status error_;
  bool stopping_ = false;

  std::mutex listeners_mu_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t next_listener_id_ = 1;

  std::thread reader_;
  std::thread applier_;

 public:
  void set_next(base::NextOffsets next) { next_ = std::move(next); }
};

absl::StatusOr<std::unique_ptr<Projector>> Projector::Start(eventlog::EventLog* log, ProjectorOptions options,
                                                            base::Clock* clock) {
  INV_CHECK(log != nullptr);
  static base::SystemClock system_clock;
  if (clock == nullptr) clock = &system_clock;
  if (options.batch_events_max == 0) return base::InvalidField("batch_events_max", "must be at least 1");
  if (options.pipeline_batches_max == 0) return base::InvalidField("pipeline_batches_max", "must be at least 1");
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                   Store::OpenStore({.path = options.path,
                                     .partition_count = log->partition_count(),
                                     .block_cache_bytes = options.block_cache_bytes,
                                     .write_buffer_bytes = options.write_buffer_bytes},
                                    OpenMode::kReadWrite));
  if (options.rebuild || store->needs_rebuild()) {
    spdlog::info("projector: dropping the views to rebuild from position zero ({})",
                 options.rebuild ? "asked to" : "view schema version changed");
    RETURN_IF_ERROR(store->DropViews());
  }
  ASSIGN_OR_RETURN(base::NextOffsets applied, store->LoadApplied());
  Store* raw = store.get();
  std::unique_ptr<HotLevels> hot;
  if (options.hot_skus_max > 0) hot = std::make_unique<HotLevels>(options.hot_skus_max);
  auto impl = std::make_unique<Impl>(log, raw, hot.get(), std::move(options), clock, applied);
  impl->set_next(applied);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Projector>(new Projector(std::move(store), std::move(hot), std::move(impl)));
}

Projector::Projector(std::unique_ptr<ReadModels> models, std::unique_ptr<HotLevels> hot, std::unique_ptr<Impl> impl)
    : models_(std::move(models)), hot_(std::move(hot)), impl_(std::move(impl)) {}

std::unique_ptr<Snapshot> Projector::NewLevelsSnapshot() const {
  if (hot_ != nullptr) {
    if (std::unique_ptr<Snapshot> hot = hot_->NewSnapshot()) return hot;
  }
  return models_->NewSnapshot();
}

Projector::~Projector() { Stop(); }

void Projector::Stop() { impl_->Stop(); }

base::NextOffsets Projector::applied() const { return impl_->applied(); }

absl::Status Projector::WaitApplied(std::span<const eventlog::LogPosition> positions,
                                    std::chrono::steady_clock::time_point deadline) const {
  return impl_->WaitApplied(positions, deadline);
}

absl::Status Projector::WaitCaughtUp(std::chrono::steady_clock::time_point deadline) const {
  return impl_->WaitCaughtUp(deadline);
}

Lag Projector::lag() const { return impl_->lag(); }
ProjectorStats Projector::stats() const { return impl_->stats(); }
absl::Status Projector::health() const { return impl_->health(); }

absl::StatusOr<uint64_t> Projector::AddListener(Listener listener) { return impl_->AddListener(std::move(listener)); }
void Projector::RemoveListener(uint64_t id) { impl_->RemoveListener(id); }

}  // namespace projector
