#include "replay/fold.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "ledger/evolve.h"
#include "ledger/stock_rules.h"

namespace replay {

ledger::LedgerOptions ReplayLedgerOptions() {
  ledger::LedgerOptions options;
  options.remembered_commands_max = 0;
  options.resolved_kept_max = std::numeric_limits<std::size_t>::max();
  options.resolved_kept_age_max_ms = ledger::DurationMs::max();
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

Folder::Folder(FoldOptions options) : options_(std::move(options)), state_(ReplayLedgerOptions()) {
  options_.read_batch_records = std::max<size_t>(options_.read_batch_records, 1);
}

absl::Status Folder::Run(eventlog::EventLog& log, const FoldBounds& bounds) {
  const uint32_t partition_count = log.partition_count();
  base::NextOffsets until;
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
  result_.folded_until = base::NextOffsets::Zero(partition_count);
  FoldProgress progress;
  for (uint32_t p : partitions) progress.records_total += until[p];

  // Every data problem is a violation: unreadable stretches and undecodable
  // records are reported in place and the read goes on.
  ledger_io::EventReaderOptions reader_options;
  reader_options.read = {.read_batch_records = options_.read_batch_records,
                         .read_ahead_batches_max = options_.read_ahead_batches_max,
                         .background = true,
                         .on_unreadable = ledger_io::ErrorPolicy::kRecordAndContinue};
  reader_options.on_undecodable = ledger_io::ErrorPolicy::kRecordAndContinue;
  ASSIGN_OR_RETURN(std::unique_ptr<ledger_io::EventReader> reader,
                   ledger_io::EventReader::Open(&log,
                                                {.start_offsets = base::NextOffsets::Zero(partition_count),
                                                 .end_offsets = until,
                                                 .partitions = partitions},
                                                reader_options));
  base::NextOffsets next_min = base::NextOffsets::Zero(partition_count);
  std::vector<bool> stopped(partition_count, false);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ledger_io::EventBatch> batch, reader->Next());
    if (!batch) break;
    Fold(*batch, next_min, stopped);
    for (uint32_t p : partitions) {
      if (stopped[p]) reader->StopPartition(p);
    }
    if (options_.progress) {
      progress.records_done = result_.records_read;
      options_.progress(progress);
    }
  }
  result_.folded_until = next_min;
  return absl::OkStatus();
}

void Folder::Fold(ledger_io::EventBatch& batch, base::NextOffsets& next_min, std::vector<bool>& stopped) {
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const eventlog::LogPosition& position = batch.positions[i];
    const uint32_t p = position.partition;
    if (stopped[p]) return;  // a bounded batch holds one partition
    ++result_.records_read;
    if (next_min.Covers(position)) {
      AddViolation(ViolationKind::kOffsetOrder, position, "",
                   absl::StrCat("offset ", position.offset, " follows offset ", next_min[p] - 1));
      continue;
    }
    next_min.Advance(position);
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
  if (batch.bad_kind == ledger_io::BadKind::kUnreadable && !stopped[batch.bad_at.partition]) {
    AddViolation(ViolationKind::kUnreadable, batch.bad_at, "",
                 std::string(batch.bad.message()) + " (the rest of the partition is skipped)");
    stopped[batch.bad_at.partition] = true;
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
    if (ledger::KeepsLevelInvariants(l)) continue;
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
