#include "command-api/writer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "ledger-io/event_reader.h"
#include "ledger/codec.h"
#include "ledger/evolve.h"
#include "ledger/derived_ids.h"
#include "spdlog/spdlog.h"

namespace command_api {

using ledger::Command;
using ledger::Decision;
using ledger::Event;
using eventlog::LogPosition;
using eventlog::LogRecord;

absl::StatusOr<std::unique_ptr<Writer>> Writer::Open(eventlog::EventLog* log, command_api::SnapshotStore* snapshots,
                                                     const base::Clock* clock, WriterOptions options) {
  INV_CHECK(log != nullptr && clock != nullptr);
  std::unique_ptr<Writer> writer(new Writer(log, snapshots, clock, options));
  RETURN_IF_ERROR(writer->Recover());
  writer->PublishExpiry();
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

Writer::Writer(eventlog::EventLog* log, command_api::SnapshotStore* snapshots, const base::Clock* clock,
               WriterOptions options)
    : log_(log), snapshots_(snapshots), clock_(clock), options_(options), state_(options.ledger) {}

Writer::~Writer() { Stop(); }

// Loads the newest valid snapshot, then replays the log after it.
absl::Status Writer::Recover() {
  state_ = ledger::State(options_.ledger);
  base::NextOffsets from = base::NextOffsets::Zero(log_->partition_count());
  last_event_offsets_seen_ = base::NextOffsets::Zero(from.size());
  bool loaded = false;
  if (snapshots_ != nullptr) {
    std::vector<std::string> skipped;
    absl::StatusOr<ledger::Snapshot> snapshot = snapshots_->LoadNewest(options_.ledger, &skipped);
    for (const std::string& why : skipped) spdlog::warn("skipping snapshot: {}", why);
    if (snapshot.ok() && snapshot->next_offsets.size() == from.size()) {
      state_ = std::move(snapshot->state);
      from = std::move(snapshot->next_offsets);
      last_event_offsets_seen_ = from;  // may point at a transaction marker: still covers the events
      loaded = true;
    } else if (snapshot.ok()) {
      spdlog::warn("snapshot covers {} partitions, the log has {}: replaying from zero",
                   snapshot->next_offsets.size(), from.size());
    } else if (snapshot.status().code() != absl::StatusCode::kNotFound) {
      spdlog::warn("no usable snapshot ({}): replaying from zero", snapshot.status().ToString());
    }
  }
  std::uint64_t before = state_.events_applied();
  RETURN_IF_ERROR(Replay(std::move(from)));
  std::lock_guard<std::mutex> lock(mu_);
  if (!thread_.joinable()) {  // start-up figures; a later rebuild keeps them
    stats_.loaded_snapshot = loaded;
    stats_.replayed_events = state_.events_applied() - before;
  }
  events_at_last_snapshot_ = loaded ? before : 0;
  last_snapshot_ms_ = clock_->NowMs();
  return absl::OkStatus();
}

// Every record after the snapshot must decode and fold: the writer decides
// from this state, so a bad record aborts the start (ErrorPolicy::kAbort).
absl::Status Writer::Replay(base::NextOffsets from) {
  ledger_io::EventReaderOptions reader_options;
  reader_options.read = {.read_batch_records = options_.replay_read_records,
                         .background = true,
                         .on_unreadable = ledger_io::ErrorPolicy::kAbort};
  reader_options.on_undecodable = ledger_io::ErrorPolicy::kAbort;
  ASSIGN_OR_RETURN(std::unique_ptr<ledger_io::EventReader> reader,
                   ledger_io::EventReader::Open(log_, {.start_offsets = from}, reader_options));
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ledger_io::EventBatch> batch, reader->Next());
    if (!batch) break;
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      const LogPosition& at = batch->positions[i];
      absl::Status applied = ledger::Evolve(state_, *batch->events[i]);
      if (!applied.ok()) {
        // Evolve refuses only events that break an invariant (ledger/evolve.h).
        if (options_.metrics != nullptr) options_.metrics->OnOversell(metrics::Check::kWriter);
        return absl::DataLossError(absl::StrCat("log record ", at.partition, ":", at.offset, ": ", applied.message()));
      }
      from.Advance(at);
      last_event_offsets_seen_.Advance(at);
    }
  }
  const base::NextOffsets& end = reader->end_offsets();
  for (std::uint32_t p = 0; p < end.size(); ++p) from[p] = std::max(from[p], end[p]);
  next_offsets_ = std::move(from);
  last_event_offset_ = last_event_offsets_seen_;
  return absl::OkStatus();
}

absl::Status Writer::Submit(Command command, Completion done) {
  std::vector<std::pair<Command, Completion>> one;
  one.emplace_back(std::move(command), std::move(done));
  return SubmitMany(std::move(one));
}

absl::Status Writer::SubmitMany(std::vector<std::pair<Command, Completion>> commands) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the command writer is shutting down");
    if (!fenced_.ok()) return fenced_;
    if (queue_.size() + commands.size() > options_.queue_commands_max) {
      return absl::ResourceExhaustedError(absl::StrCat("the command queue is full (", options_.queue_commands_max,
                                                       " commands waiting); retry with backoff"));
    }
    for (auto& [command, done] : commands) queue_.push_back({std::move(command), std::move(done)});
  }
  wake_.notify_one();
  return absl::OkStatus();
}

void Writer::ExpireDue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    expire_requested_ = true;
  }
  wake_.notify_one();
}

std::optional<std::int64_t> Writer::NextExpiryMs() const {
  std::int64_t next = next_expiry_ms_.load(std::memory_order_acquire);
  if (next < 0) return std::nullopt;
  return next;
}

void Writer::PublishExpiry() {
  std::optional<ledger::TimeMs> next = state_.NextExpiry();
  next_expiry_ms_.store(next ? ledger::EpochMs(*next) : -1, std::memory_order_release);
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
}

WriterStats Writer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status Writer::fenced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fenced_;
}

void Writer::Run() {
  for (;;) {
    std::vector<Pending> batch = TakeBatch();
    if (batch.empty()) break;  // stopping and drained
    Process(batch);
    PublishExpiry();
    MaybeSnapshot(SnapshotWhen::kIfDue);
  }
  MaybeSnapshot(SnapshotWhen::kNow);
}

// Waits for work; returns queued commands (plus due expiries), or nothing
// once stopping with an empty queue.
std::vector<Writer::Pending> Writer::TakeBatch() {
  std::vector<Pending> batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return !queue_.empty() || expire_requested_ || stopping_; });
    if (expire_requested_) {
      expire_requested_ = false;
      ledger::TimeMs now = std::max(ledger::AtEpochMs(clock_->NowMs()), state_.time_high_water_ms());
      for (const ledger::ReservationId& id : state_.ExpiredBy(now, options_.expire_batch_max)) {
        Command expire{{.command_id = ledger::ExpireCommandId(id), .actor = "expiry"}, ledger::ExpireReservation{id}};
        batch.push_back({std::move(expire), nullptr});
      }
    }
    while (!queue_.empty() && batch.size() < options_.batch_commands_max) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (options_.metrics != nullptr) options_.metrics->OnQueueDepth(queue_.size());
    if (!batch.empty() || stopping_) return batch;
  }
}

// Decides and appends the batch one chunk (at most batch_events_max events)
// at a time, answering each chunk's commands once its append is durable.
void Writer::Process(std::vector<Pending>& batch) {
  std::size_t i = 0;
  if (absl::Status fenced = this->fenced(); !fenced.ok()) {
    for (Pending& pending : batch) Complete(pending, {.status = fenced});
    return;
  }
  while (i < batch.size()) {
    if (!healthy_ && !RecoverForBatch(batch, i)) return;
    Chunk chunk = Decide(batch, i);
    i = chunk.end;
    auto append_started = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<LogPosition>> positions = Append(chunk);
    if (options_.metrics != nullptr) {
      options_.metrics->OnAppend(chunk.end - chunk.begin, chunk.records.size(),
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - append_started).count(),
                                 positions.ok());
    }
    if (!positions.ok()) {
      spdlog::error("append of {} events failed: {}", chunk.records.size(), positions.status().ToString());
      healthy_ = false;  // the state folded events the log may not hold
      if (eventlog::AppendRefusedForGood(positions.status())) {
        Fence(positions.status());
        const absl::Status fenced = this->fenced();
        for (std::size_t j = chunk.begin; j < batch.size(); ++j) Complete(batch[j], {.status = fenced});
        return;
      }
      for (std::size_t j = chunk.begin; j < chunk.end; ++j) {
        if (options_.metrics != nullptr) options_.metrics->OnCommandUnavailable(batch[j].command);
        Complete(batch[j], Unavailable(positions.status()));
      }
      continue;
    }
    PublishExpiry();  // before answering, so a caller's next step sees its reservation's expiry
    Answer(batch, chunk, *positions);
  }
}

// After a failed append the state may hold events the log does not: rebuild
// it from the newest snapshot and the log. If that fails too, answers
// batch[from, end) UNAVAILABLE and returns false.
bool Writer::RecoverForBatch(std::vector<Pending>& batch, std::size_t from) {
  if (snapshot_thread_.joinable()) snapshot_thread_.join();  // the store is single-user
  absl::Status recovered = Recover();
  if (!recovered.ok()) {
    spdlog::error("the command writer cannot rebuild its state: {}", recovered.ToString());
    for (std::size_t j = from; j < batch.size(); ++j) Complete(batch[j], Unavailable(recovered));
    return false;
  }
  healthy_ = true;
  return true;
}

// Decides batch[from, ...) into the state, stamping each command with the
// time, until the next command might pass batch_events_max.
Writer::Chunk Writer::Decide(std::vector<Pending>& batch, std::size_t from) {
  // Room for the largest single command, so a chunk never passes the limit.
  constexpr std::size_t kEventsPerCommandMax = ledger::kReservationAllocationsMax;
  INV_CHECK(options_.batch_events_max > kEventsPerCommandMax);
  Chunk chunk;
  chunk.begin = chunk.end = from;
  // Misses in the state's big hash tables overlap when the memory for a
  // command a few places ahead is requested while this one is decided.
  constexpr std::size_t kPrefetchAhead = 4;
  for (std::size_t i = from; i < std::min(batch.size(), from + kPrefetchAhead); ++i) state_.Prefetch(batch[i].command);
  while (chunk.end < batch.size() && chunk.records.size() + kEventsPerCommandMax <= options_.batch_events_max) {
    if (chunk.end + kPrefetchAhead < batch.size()) state_.Prefetch(batch[chunk.end + kPrefetchAhead].command);
    Command& command = batch[chunk.end].command;
    command.meta.now_ms = std::max(ledger::AtEpochMs(clock_->NowMs()), state_.time_high_water_ms());
    Decision d = ledger::DecideAndApply(state_, command);
    chunk.first_record.push_back(chunk.records.size());
    for (const Event& e : d.events) chunk.records.push_back({ledger::PartitionKey(e), ledger::Encode(e)});
    chunk.decisions.push_back(std::move(d));
    ++chunk.end;
  }
  INV_CHECK(chunk.end > chunk.begin);
  return chunk;
}

// Appends the chunk's records (durable once this returns) and advances the
// writer's offsets. INTERNAL when the log's answer does not match the request
// (not one position per record in its key's partition, or an offset below
// one already written): the writer then treats the append as failed.
absl::StatusOr<std::vector<LogPosition>> Writer::Append(const Chunk& chunk) {
  if (chunk.records.empty()) return std::vector<LogPosition>();
  ASSIGN_OR_RETURN(std::vector<LogPosition> positions, log_->Append(chunk.records));
  if (positions.size() != chunk.records.size()) {
    return absl::InternalError(absl::StrCat("the event log returned ", positions.size(), " positions for ",
                                            chunk.records.size(), " records"));
  }
  for (std::size_t k = 0; k < positions.size(); ++k) {
    const LogPosition& p = positions[k];
    const std::uint32_t expected = eventlog::PartitionFor(chunk.records[k].key, log_->partition_count());
    if (p.partition != expected || next_offsets_.Covers(p)) {
      return absl::InternalError(absl::StrCat("the event log put record ", k, " at ", p.partition, ":", p.offset,
                                              "; expected partition ", expected, " at or after offset ",
                                              next_offsets_[expected]));
    }
  }
  for (const LogPosition& p : positions) {
    next_offsets_.Advance(p);
    last_event_offset_.Advance(p);
  }
  return positions;
}

// Answers the chunk's commands in order: rejection, duplicate (with the
// current end of every partition) or the positions of its events.
void Writer::Answer(std::vector<Pending>& batch, const Chunk& chunk, const std::vector<LogPosition>& positions) {
  for (std::size_t j = chunk.begin; j < chunk.end; ++j) {
    const Decision& d = chunk.decisions[j - chunk.begin];
    WriteResult result;
    if (d.rejection) {
      result.status = d.rejection->ToStatus();
      result.rejection = d.rejection;
    } else if (d.duplicate) {
      result.duplicate = true;
      result.positions = LastEventPositions();
    } else {
      auto from = positions.begin() + static_cast<std::ptrdiff_t>(chunk.first_record[j - chunk.begin]);
      result.positions.assign(from, from + static_cast<std::ptrdiff_t>(d.events.size()));
    }
    if (options_.metrics != nullptr) {
      options_.metrics->OnCommand(batch[j].command, d.rejection ? &*d.rejection : nullptr, d.duplicate);
    }
    Complete(batch[j], result);
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.commands += chunk.end - chunk.begin;
  stats_.batches += 1;
  stats_.events += chunk.records.size();
}

WriteResult Writer::Unavailable(const absl::Status& cause) {
  WriteResult result;
  result.status = absl::UnavailableError(
      absl::StrCat("the event log did not take the write; retry with the same command_id: ", cause.message()));
  return result;
}

// Fenced for good: no retry against this process can succeed, so the answer
// says where to go instead.
void Writer::Fence(const absl::Status& cause) {
  absl::Status fenced = absl::FailedPreconditionError(absl::StrCat(
      "the command writer can never append again and is shutting down (", cause.message(),
      "); send the command to the current writer (the same command_id is safe)"));
  {
    std::lock_guard<std::mutex> lock(mu_);
    INV_CHECK(fenced_.ok());
    fenced_ = fenced;
  }
  spdlog::error("{}", fenced.ToString());
  if (options_.on_fenced) options_.on_fenced(fenced);
}

void Writer::Complete(Pending& pending, const WriteResult& result) {
  if (pending.done) pending.done(result, state_);
}

std::vector<LogPosition> Writer::LastEventPositions() const {
  std::vector<LogPosition> out;
  for (std::uint32_t p = 0; p < last_event_offset_.size(); ++p) {
    if (last_event_offset_[p] > 0) out.push_back({p, last_event_offset_[p] - 1});
  }
  return out;
}

void Writer::MaybeSnapshot(SnapshotWhen when) {
  const bool force = when == SnapshotWhen::kNow;
  if (snapshots_ == nullptr) return;
  std::uint64_t since = state_.events_applied() - events_at_last_snapshot_;
  if (since == 0) return;
  std::int64_t now = clock_->NowMs();
  bool due = (options_.snapshot_every_events > 0 && since >= options_.snapshot_every_events) ||
             (options_.snapshot_every_ms > 0 && now - last_snapshot_ms_ >= options_.snapshot_every_ms);
  if (!force && !due) return;
  if (snapshot_thread_.joinable()) {
    if (!force && !snapshot_done_.load(std::memory_order_acquire)) return;  // previous one still writing
    snapshot_thread_.join();
  }
  if (!healthy_) return;  // never snapshot a state the log may not back
  events_at_last_snapshot_ = state_.events_applied();
  last_snapshot_ms_ = now;
  auto copy = std::make_shared<ledger::State>(state_);
  auto offsets = std::make_shared<base::NextOffsets>(next_offsets_);
  snapshot_done_.store(false, std::memory_order_release);
  auto save = [this, copy, offsets] {
    auto started = std::chrono::steady_clock::now();
    absl::Status saved = snapshots_->Save(*copy, *offsets);
    if (!saved.ok()) spdlog::warn("snapshot not saved: {}", saved.ToString());
    if (options_.metrics != nullptr) {
      options_.metrics->OnSnapshot(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                                   saved.ok(),
                                   std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (saved.ok()) stats_.snapshots += 1;
    }
    snapshot_done_.store(true, std::memory_order_release);
  };
  if (force) {
    save();
  } else {
    snapshot_thread_ = std::thread(save);
  }
}

}  // namespace command_api
