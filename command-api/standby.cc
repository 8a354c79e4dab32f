#include "command-api/standby.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status.h"
#include "ledger-io/event_reader.h"
#include "ledger/evolve.h"
#include "spdlog/spdlog.h"

namespace command_api {

Standby::Standby(eventlog::EventLog* log, SnapshotStore* snapshots, StandbyOptions options)
    : log_(log), snapshots_(snapshots), options_(options), state_(options.ledger) {
  INV_CHECK(log_ != nullptr && snapshots_ != nullptr);
}

absl::Status Standby::Start() {
  state_ = ledger::State(options_.ledger);
  next_offsets_ = base::NextOffsets::Zero(log_->partition_count());
  std::vector<std::string> skipped;
  absl::StatusOr<ledger::Snapshot> snapshot = snapshots_->LoadNewest(options_.ledger, &skipped);
  for (const std::string& why : skipped) spdlog::warn("standby: skipping snapshot: {}", why);
  if (snapshot.ok() && snapshot->next_offsets.size() == next_offsets_.size()) {
    state_ = std::move(snapshot->state);
    next_offsets_ = std::move(snapshot->next_offsets);
  } else if (!snapshot.ok() && snapshot.status().code() != absl::StatusCode::kNotFound) {
    spdlog::warn("standby: no usable snapshot ({}): folding from zero", snapshot.status().ToString());
  }
  saved_events_ = state_.events_applied();
  return absl::OkStatus();
}

absl::Status Standby::CatchUp() {
  ledger_io::EventReaderOptions reader_options;
  reader_options.read = {.read_batch_records = options_.read_records, .on_unreadable = ledger_io::ErrorPolicy::kAbort};
  reader_options.on_undecodable = ledger_io::ErrorPolicy::kAbort;
  ASSIGN_OR_RETURN(std::unique_ptr<ledger_io::EventReader> reader,
                   ledger_io::EventReader::Open(log_, {.start_offsets = next_offsets_}, reader_options));
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ledger_io::EventBatch> batch, reader->Next());
    if (!batch) break;
    for (std::size_t i = 0; i < batch->events.size(); ++i) {
      const eventlog::LogPosition& at = batch->positions[i];
      absl::Status applied = ledger::Evolve(state_, *batch->events[i]);
      if (!applied.ok()) {
        return absl::DataLossError(absl::StrCat("log record ", at.partition, ":", at.offset, ": ", applied.message()));
      }
      next_offsets_.Advance(at);
    }
  }
  // Past transaction markers too, as the writer's replay does.
  const base::NextOffsets& end = reader->end_offsets();
  for (std::uint32_t p = 0; p < end.size(); ++p) next_offsets_[p] = std::max(next_offsets_[p], end[p]);
  if (state_.events_applied() - saved_events_ >= options_.snapshot_every_events) return SaveSnapshot();
  return absl::OkStatus();
}

absl::Status Standby::SaveSnapshot() {
  if (state_.events_applied() == saved_events_) return absl::OkStatus();
  RETURN_IF_ERROR(snapshots_->Save(state_, next_offsets_));
  saved_events_ = state_.events_applied();
  spdlog::info("standby: snapshot of {} events saved", saved_events_);
  return absl::OkStatus();
}

}  // namespace command_api
